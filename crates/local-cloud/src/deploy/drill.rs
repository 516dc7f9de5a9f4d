//! The upgrade drill (`make upgrade-drill`): the previous release runs a chaos mix whose holds
//! span the deploys (held and scheduled orders, cancellations of held orders, courier
//! releases); mid-run the new release is deployed over it with its canary, then a
//! deliberately broken build of it, which its alarms must roll back. Every order is
//! reconciled as the chaos run reconciles it, and every execution's history must show its
//! Lambda tasks named the functions' `live` aliases (so a rollback reaches the executions
//! already running, a held order's included), with some executions running across a deploy.

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

/// What the running release's readers made of the new release's shapes.
#[derive(Debug, Clone, Default)]
pub struct ReadersReport {
    /// Samples read.
    pub read: usize,
    /// Each sample a reader refused or could not answer: function, file, why.
    pub refused: Vec<String>,
}

/// The running (previous) release's readers given what the new release writes: every
/// sample of the new checkout's `events/manifest.json` that its function must read (the
/// inputs this release's workflow steps, rules and handover build, and the state values its
/// functions write), sent to the function's `live` alias in the pre-traffic envelope, which
/// reads it with the handler's reader and acts on nothing (`lambda_support::pretraffic`;
/// releases from v0.2 answer it). While a canary runs the two releases read each other's
/// writes: this is the direction the compat contract test (old writes, today's readers)
/// does not cover.
pub async fn previous_readers(
    cloud: &LocalCloud,
    new_root: &std::path::Path,
) -> Result<ReadersReport, String> {
    use lambda_support::pretraffic::{ENVELOPE_KEY, PASSED};
    let manifest = new_root.join("events/manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut report = ReadersReport::default();
    for s in doc["samples"].as_array().into_iter().flatten() {
        let (Some(function), Some(file)) = (s["function"].as_str(), s["file"].as_str()) else {
            continue;
        };
        // The hook reads CodeDeploy's event, which no release writes for another; it does
        // not answer the envelope (it sends it).
        if s["expect"].get("errorType").is_some() || function == "pre-traffic-check" {
            continue;
        }
        let Some(f) = cloud.app.function_by_binary(function) else {
            // A function the previous release does not have reads nothing of it.
            continue;
        };
        let Some(alias) = &f.alias else { continue };
        let path = new_root.join("events").join(file);
        let sample: Value = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let envelope = serde_json::json!({ ENVELOPE_KEY: { "sample": sample } });
        match cloud
            .lambda
            .invoke(&format!("{}:{alias}", f.name), envelope)
            .await
        {
            crate::lambda::Outcome::Ok(v) if v[ENVELOPE_KEY] == PASSED => report.read += 1,
            crate::lambda::Outcome::Ok(_) => report.refused.push(format!(
                "{function} {file}: the running release does not answer the pre-traffic envelope"
            )),
            crate::lambda::Outcome::Err {
                error_type,
                error_message,
            } => report
                .refused
                .push(format!("{function} {file}: {error_type}: {error_message}")),
        }
    }
    Ok(report)
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

/// What the executions' histories say of the deploys they met.
#[derive(Debug, Clone, Default)]
pub struct Crossings {
    /// Executions by the state machine version they started on.
    pub by_version: std::collections::BTreeMap<u32, usize>,
    /// Executions that were running when a newer version was published: the ones that ran
    /// across a deploy.
    pub across: usize,
    /// Each execution of a version a deploy published whose Lambda tasks named a function
    /// otherwise than by its alias.
    pub pinned: Vec<String>,
}

/// Reads every execution's history: the qualifier of each Lambda task's `FunctionName` (the
/// `TaskScheduled` events), and whether it was running when a deploy in `published_at`
/// (version, epoch seconds) published a newer version than its own.
pub async fn crossings(cloud: &LocalCloud, published_at: &[(u32, f64)]) -> Crossings {
    let mut out = Crossings::default();
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
            // The releases deployed here call through the alias; the one the drill starts
            // from may be older than that.
            if published_at.iter().all(|&(v, _)| version < v) {
                break;
            }
            match qualifier(&h.details) {
                Some(q) if q != "live" => {
                    out.pinned
                        .push(format!("{} called a function as :{q}", e.name));
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// The qualifier a `TaskScheduled`'s Lambda `FunctionName` names (`…:function:<name>:<q>`),
/// if it is a Lambda task; `Some("")` for an unqualified name.
fn qualifier(details: &serde_json::Map<String, Value>) -> Option<String> {
    let scheduled = details.get("taskScheduledEventDetails")?;
    if scheduled["resourceType"] != "lambda" {
        return None;
    }
    let params: Value = serde_json::from_str(scheduled["parameters"].as_str()?).ok()?;
    let arn = params["FunctionName"].as_str()?;
    let after = arn.split_once(":function:")?.1;
    Some(after.split_once(':').map_or("", |(_, q)| q).to_owned())
}

/// What the simulators hold: the POS orders made and the partners' distinct applied answers
/// (an order and what it was told: a cancellation told again, as a redelivered one is, is
/// the same answer).
async fn simulators(cloud: &LocalCloud) -> (usize, usize) {
    let pos = cloud.pos_book.orders().await.len();
    let mut answers = std::collections::BTreeSet::new();
    for (partner, sim) in &cloud.partners {
        for e in sim.ledger.entries().await.iter().filter(|e| e.applied) {
            answers.insert((partner.as_str(), e.order.clone(), format!("{:?}", e.told)));
        }
    }
    (pos, answers.len())
}

/// Replays the whole archive, events of both releases, into the release now live (as an
/// operator would after a bad deploy), waits for it to settle, and answers what changed in
/// the simulators' records: `(replayed events, new POS orders, new partner answers)`, the last
/// two zero when every order ended once.
pub async fn replay_archive(
    cloud: &LocalCloud,
    within: Duration,
) -> Result<(usize, i64, i64), String> {
    let (pos, answers) = simulators(cloud).await;
    let mut replayed = 0;
    for (_, bus) in cloud.app.archives.clone() {
        replayed += cloud
            .bus
            .replay("upgrade-drill", &bus, 0, i64::MAX, &[])
            .await;
    }
    cloud.quiesce(within).await?;
    let (pos_after, answers_after) = simulators(cloud).await;
    Ok((
        replayed,
        pos_after as i64 - pos as i64,
        answers_after as i64 - answers as i64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lambda_task_names_the_qualifier_its_function_arn_ends_with() {
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
        let q = |t: &str, f: &str| qualifier(&details(t, f));
        assert_eq!(q("lambda", &format!("{arn}:live")).as_deref(), Some("live"));
        assert_eq!(q("lambda", &format!("{arn}:2")).as_deref(), Some("2"));
        assert_eq!(q("lambda", arn).as_deref(), Some(""));
        assert_eq!(q("events", &format!("{arn}:2")), None);
    }
}
