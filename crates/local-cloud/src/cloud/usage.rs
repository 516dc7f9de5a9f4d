//! What the run has used, as AWS would bill it: the figures the services keep, priced by
//! [`crate::meter`].

use crate::meter::prices::{
    EVENTBRIDGE_EVENT, LAMBDA_GB_SECOND, LAMBDA_REQUEST, LOGS_GB, SFN_EXPRESS_GB_SECOND,
    SFN_EXPRESS_REQUEST, SFN_TRANSITION,
};
use crate::meter::{Usage, eventbridge_events, express_gb_seconds, lambda_gb_seconds};

use super::LocalCloud;

impl LocalCloud {
    /// Everything the run has used so far, as AWS would bill it ([`crate::meter`]): Step
    /// Functions from each execution's history, Lambda from its counts, EventBridge from
    /// the archive, and what the meter counted itself.
    pub async fn usage(&self) -> Usage {
        let (cloud, log_dir) = (self, &self.log_dir);
        let mut u = Usage::default();
        // Step Functions, from each execution's history.
        for e in cloud.sfn.executions().await {
            let machine = e.machine.name.as_str();
            match e.machine.workflow_type {
                crate::sfn::WorkflowType::Standard => {
                    let history = e.history().await;
                    let entered = history
                        .iter()
                        .filter(|h| h.entered_state().is_some())
                        .count();
                    let scheduled = history.iter().filter(|h| h.kind == "TaskScheduled").count();
                    let tasks_entered = history
                        .iter()
                        .filter(|h| h.kind == "TaskStateEntered")
                        .count();
                    let retries = scheduled.saturating_sub(tasks_entered);
                    u.add(SFN_TRANSITION, machine, (entered + retries) as f64);
                }
                crate::sfn::WorkflowType::Express => {
                    let s = e.snapshot().await;
                    // Wall time, less what its Lambda invocations waited here for a free process
                    // or a core (on AWS the function's own billed duration is what it waits for).
                    let duration = s
                        .stop
                        .and_then(|stop| (stop - e.start).to_std().ok())
                        .unwrap_or_else(|| e.elapsed())
                        .saturating_sub(e.not_billed());
                    u.add(SFN_EXPRESS_REQUEST, machine, 1.0);
                    u.add(SFN_EXPRESS_GB_SECOND, machine, express_gb_seconds(duration));
                }
            }
            // The workflows log at ERROR without execution data: their failure events.
            let failures: usize = e
                .history()
                .await
                .iter()
                .filter(|h| h.kind.ends_with("Failed") || h.kind.ends_with("TimedOut"))
                .map(|h| serde_json::to_string(h).map_or(0, |t| t.len()))
                .sum();
            u.add(LOGS_GB, machine, failures as f64 / 1e9);
        }
        // Lambda.
        for (name, stats) in cloud.lambda.stats().await {
            let memory_mb = cloud
                .app
                .functions
                .iter()
                .find(|f| f.name == name)
                .map_or(128.0, |f| f.memory_mb as f64);
            let init_ms: f64 = stats.init_times_ms.iter().map(|ms| ms.ceil()).sum();
            u.add(LAMBDA_REQUEST, &name, stats.invocations as f64);
            u.add(
                LAMBDA_GB_SECOND,
                &name,
                lambda_gb_seconds(
                    stats.billed_ms as f64 + init_ms,
                    stats.cpu_ms as f64,
                    memory_mb,
                ),
            );
            let log = std::fs::metadata(log_dir.join(format!("{name}.log"))).map_or(0, |m| m.len());
            u.add(LOGS_GB, &name, log as f64 / 1e9);
        }
        // EventBridge: what was put (replays are not billed as new events).
        for a in cloud.bus.archive().await {
            u.add(
                EVENTBRIDGE_EVENT,
                a["bus"].as_str().unwrap_or_default(),
                eventbridge_events(&a["event"]),
            );
        }
        cloud.meter.add_counted(&mut u);
        u
    }
}
