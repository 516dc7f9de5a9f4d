//! Reading every record the verdict needs from the cloud after a run: the orders table, the
//! POS's and partners' ledgers, the executions' histories, the dead letters, and the
//! injectors' logs.

use std::collections::{BTreeMap, HashMap};

use order_domain::Partner;
use serde_json::Value;

use super::faults::KillLog;
use super::reconcile::justify::{Injection, names_in};
use super::reconcile::{ExecutionFacts, HoldFacts, OrderFacts, Records};
use crate::cloud::LocalCloud;

fn hold_facts(history: &[crate::sfn::history::HistoryEvent]) -> Option<HoldFacts> {
    let entered = history
        .iter()
        .position(|h| h.entered_state() == Some("Hold"))?;
    let input: Value = serde_json::from_str(
        history[entered].details["stateEnteredEventDetails"]["input"].as_str()?,
    )
    .ok()?;
    let timeout_seconds = input["accepted"]["hold"]["timeoutSeconds"].as_f64()?;
    // The state's events up to the next state entered: its last attempt is what counts (a
    // killed hold-order fails an attempt, and the retry holds again).
    let rest = &history[entered + 1..];
    let rest = &rest[..rest
        .iter()
        .position(|h| h.entered_state().is_some())
        .unwrap_or(rest.len())];
    let scheduled = rest.iter().rfind(|h| h.kind == "TaskScheduled")?.timestamp;
    let ended = rest
        .iter()
        .rfind(|h| {
            matches!(
                h.kind.as_str(),
                "TaskTimedOut" | "TaskSucceeded" | "TaskFailed"
            )
        })
        .filter(|h| h.timestamp >= scheduled)
        .map(|h| (h.timestamp, h.kind.clone()));
    Some(HoldFacts {
        timeout_seconds,
        scheduled,
        ended,
    })
}

/// Invocations by function so far, from the Lambda service's own count.
pub(super) async fn invocations(cloud: &LocalCloud) -> BTreeMap<String, u64> {
    cloud
        .lambda
        .stats()
        .await
        .into_iter()
        .map(|(f, s)| (f, s.invocations))
        .collect()
}

/// The functions invoked since `before`.
pub(super) async fn invoked_during(
    cloud: &LocalCloud,
    before: &BTreeMap<String, u64>,
) -> std::collections::BTreeSet<String> {
    invocations(cloud)
        .await
        .into_iter()
        .filter(|(f, n)| *n > before.get(f).copied().unwrap_or(0))
        .map(|(f, _)| f)
        .collect()
}

/// Every fault the injectors recorded: the simulators' logs (a POS order id in a path also
/// names the order whose ticket made it), the killer's, and the DynamoDB injector's.
async fn injections(
    cloud: &LocalCloud,
    kills: &KillLog,
    restart: Option<(f64, f64)>,
) -> Vec<Injection> {
    let pos_orders: HashMap<String, String> = cloud
        .pos_book
        .orders()
        .await
        .into_iter()
        .filter_map(|o| Some((o.pos_order_id, o.ticket["externalId"].as_str()?.to_owned())))
        .collect();
    let mut out = Vec::new();
    for name in ["pos", "ubereats", "doordash", "grubhub", "app"] {
        let Some(sim) = cloud.sim(name) else { continue };
        let partner: Option<Partner> = name.parse().ok();
        for f in sim.injected_log().await {
            let mut names = names_in(&serde_json::json!([
                f.path_and_query,
                f.idempotency_key,
                f.body
            ]));
            let tickets: Vec<String> = names
                .iter()
                .filter_map(|n| pos_orders.get(n).cloned())
                .collect();
            names.extend(tickets);
            out.push(Injection::at(
                format!("{name} {} ({} {})", f.kind, f.method, f.path_and_query),
                f.at,
                partner,
                names,
            ));
        }
    }
    for (at, function, payloads) in &kills.kills {
        out.push(Injection::at(
            format!("kill {function}"),
            *at,
            None,
            names_in(&Value::Array(payloads.clone())),
        ));
    }
    for (at, request) in cloud.dynamo_throttle.refused_requests() {
        out.push(Injection::at(
            "DynamoDB refused",
            at,
            None,
            names_in(&request),
        ));
    }
    if let Some((at, took)) = restart {
        out.push(Injection {
            what: "DynamoDB Local killed and restarted".to_owned(),
            from: at,
            until: at + if took.is_finite() { took } else { 0.0 },
            partner: None,
            names: Default::default(),
        });
    }
    out
}

/// Reads every record the verdict needs.
pub(super) async fn collect(
    cloud: &LocalCloud,
    orders: Vec<OrderFacts>,
    kills: &KillLog,
    restart: Option<(f64, f64)>,
) -> Result<Records, String> {
    let arn_of = |binary: &str| {
        cloud
            .app
            .functions
            .iter()
            .find(|f| f.binary == binary)
            .map(|f| f.arn.clone())
            .ok_or_else(|| format!("the template has no {binary} function"))
    };
    let definitions: Vec<&Value> = cloud.app.state_machines.iter().map(|m| &m.json).collect();
    let work = super::reconcile::work::WorkStates::from_definitions(
        &definitions,
        &arn_of("dedup")?,
        &arn_of("adapt-order")?,
    )?;
    let table: HashMap<String, Value> = cloud
        .scan("OrdersTable")
        .await
        .into_iter()
        .filter_map(|i| Some((i["orderId"].as_str()?.to_owned(), i)))
        .collect();
    let pos = cloud
        .pos_book
        .orders()
        .await
        .into_iter()
        .map(|o| {
            (
                o.ticket["externalId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                o.status == "voided",
            )
        })
        .collect();
    let mut partners = Vec::new();
    let mut store_statuses = Vec::new();
    for (p, sim) in &cloud.partners {
        partners.extend(sim.ledger.entries().await.into_iter().map(|s| (*p, s)));
        store_statuses.extend(
            sim.ledger
                .store_statuses()
                .await
                .into_iter()
                .map(|s| (*p, s)),
        );
    }
    let mut executions = Vec::new();
    for run in cloud.runs().await {
        let history = run.history().await;
        executions.push(ExecutionFacts {
            name: run.name().to_owned(),
            partner_order_id: run
                .executions
                .first()
                .and_then(|e| crate::cloud::partner_order_of(&e.input))
                .unwrap_or_default()
                .to_owned(),
            status: run.status().await.0,
            path: history
                .iter()
                .filter_map(|h| h.entered_state().map(str::to_owned))
                .collect(),
            hold: hold_facts(&history),
        });
    }
    let dead_letters = cloud
        .queues
        .all()
        .await
        .into_iter()
        .flat_map(|(q, letters)| letters.into_iter().map(move |l| (q.clone(), l)))
        .collect();
    Ok(Records {
        injections: injections(cloud, kills, restart).await,
        work,
        orders,
        table,
        pos,
        partners,
        executions,
        dead_letters,
        time_scale: cloud.time_scale.factor(),
        store_statuses,
        // The run's plan says (`run`).
        pause_expected: false,
    })
}
