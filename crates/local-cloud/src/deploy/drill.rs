//! The upgrade drill (`make upgrade-drill`): the previous release runs a chaos mix whose holds
//! span the deploys (held and scheduled orders, cancellations of held orders, courier
//! releases); mid-run the new release is deployed over it with its canary, then a
//! deliberately broken build of it, which its alarms must roll back. Every order is
//! reconciled as the chaos run reconciles it, and every execution's history must show it ran
//! on the release it started on: each Lambda task an execution of state machine version `v`
//! scheduled names function version `v` (each deploy publishes both together).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{DeployOptions, DeployReport, Release, deploy};
use crate::cloud::LocalCloud;

/// How a drill runs.
#[derive(Debug, Clone)]
pub struct DrillPlan {
    /// The new release (this checkout and its build).
    pub release: Release,
    /// The function (its binary's name) the broken build breaks.
    pub broken: String,
    /// Where the broken build is assembled.
    pub broken_dir: std::path::PathBuf,
    /// How long after the first order the new release is deployed.
    pub deploy_after: Duration,
    /// What the preferences' minutes are divided by.
    pub minutes_scale: f64,
}

/// What the deploys did.
#[derive(Debug, Clone)]
pub struct DrillDeploys {
    /// The new release's deploy.
    pub good: DeployReport,
    /// The broken build's.
    pub broken: DeployReport,
}

/// Deploys the new release after `plan.deploy_after`, then the broken build; `Err` if either
/// could not be deployed at all.
pub async fn deploys(cloud: Arc<LocalCloud>, plan: DrillPlan) -> Result<DrillDeploys, String> {
    tokio::time::sleep(plan.deploy_after).await;
    let opts = DeployOptions {
        minutes_scale: plan.minutes_scale,
        poll: Duration::from_millis(500),
    };
    let good = deploy(&cloud, &plan.release, &opts).await?;
    let broken_release = Release {
        root: plan.release.root.clone(),
        bin_dir: super::broken_build(&plan.release.bin_dir, &plan.broken, &plan.broken_dir)?,
    };
    let broken = deploy(&cloud, &broken_release, &opts).await?;
    Ok(DrillDeploys { good, broken })
}

/// What the executions' histories say of the versions they ran.
#[derive(Debug, Clone, Default)]
pub struct VersionsKept {
    /// Executions by the state machine version they started on.
    pub by_version: std::collections::BTreeMap<u32, usize>,
    /// Executions that started on an older version than the newest they could have, and
    /// were still running when it was published: the ones that ran across a deploy.
    pub across: usize,
    /// Each execution whose Lambda tasks named another function version than its own.
    pub broken: Vec<String>,
}

/// Reads every execution's history: the function versions its Lambda tasks named (the
/// `FunctionName` of each `TaskScheduled`) against the state machine version it ran.
pub async fn versions_kept(cloud: &LocalCloud, published_at: &[(u32, f64)]) -> VersionsKept {
    let mut out = VersionsKept::default();
    for e in cloud.sfn.executions().await {
        let Some(version) = e.machine.version else {
            continue;
        };
        *out.by_version.entry(version).or_default() += 1;
        let snapshot = e.snapshot().await;
        let started = e.start.timestamp_micros() as f64 / 1e6;
        let ended = snapshot
            .stop
            .map_or(f64::INFINITY, |t| t.timestamp_micros() as f64 / 1e6);
        if published_at
            .iter()
            .any(|&(v, at)| v > version && started < at && ended > at)
        {
            out.across += 1;
        }
        for h in e.history().await {
            if h.kind != "TaskScheduled" {
                continue;
            }
            let Some(named) = named_version(&h.details) else {
                continue;
            };
            if named != version {
                out.broken.push(format!(
                    "{} (state machine version {version}) called function version {named}",
                    e.name
                ));
                break;
            }
        }
    }
    out
}

/// The version a `TaskScheduled`'s Lambda `FunctionName` names (`…:function:<name>:<n>`).
fn named_version(details: &serde_json::Map<String, Value>) -> Option<u32> {
    let scheduled = details.get("taskScheduledEventDetails")?;
    if scheduled["resourceType"] != "lambda" {
        return None;
    }
    let params: Value = serde_json::from_str(scheduled["parameters"].as_str()?).ok()?;
    let arn = params["FunctionName"].as_str()?;
    arn.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lambda_task_names_the_version_its_function_arn_ends_with() {
        let details = |resource_type: &str, function: &str| {
            let mut m = serde_json::Map::new();
            m.insert(
                "taskScheduledEventDetails".to_owned(),
                serde_json::json!({
                    "resourceType": resource_type,
                    "parameters": serde_json::json!({ "FunctionName": function, "Payload": {} }).to_string(),
                }),
            );
            m
        };
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:orders-dev-pos";
        assert_eq!(
            named_version(&details("lambda", &format!("{arn}:2"))),
            Some(2)
        );
        assert_eq!(
            named_version(&details("lambda", &format!("{arn}:live"))),
            None
        );
        assert_eq!(named_version(&details("lambda", arn)), None);
        assert_eq!(named_version(&details("events", &format!("{arn}:2"))), None);
    }
}
