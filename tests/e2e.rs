//! End to end through the local cloud: signed webhooks into the HTTP API, the real function
//! binaries, the template's rules and the workflow definition, DynamoDB Local and the partner
//! and POS simulators. Every test starts its own cloud (its own stage, so its own tables, bus
//! and functions) and asserts on the tables, the bus archive, the simulators' records and the
//! execution histories.
//!
//! The function binaries must be built (`cargo build --workspace --bins`; `make test` does);
//! the tests refuse to run binaries older than the sources. DynamoDB Local must be installed
//! (`make setup`); `DYNAMODB_ENDPOINT` shares one instance between the tests.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use local_cloud::clock::TimeScale;
use local_cloud::cloud::{LocalCloud, OrderView, eventually};
use local_cloud::sim::Faults;
use local_cloud::webhooks::Payload;
use order_domain::Partner;
use serde_json::{Value, json};
use suites::repo_root;

const WITHIN: Duration = Duration::from_secs(60);

/// Fails, saying how to fix it, if a function binary is missing or older than a source it is
/// built from (cargo's dep-info file next to it lists them).
fn check_binaries(bin_dir: &Path) {
    let root = repo_root();
    let template = sam_template::Template::load(&root.join("infra/template.yaml")).unwrap();
    for f in template.of_kind("AWS::Serverless::Function") {
        let name = template.function_binary(&f).unwrap();
        let bin = bin_dir.join(&name);
        let built = std::fs::metadata(&bin)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| {
                panic!(
                    "{} is not built: run `cargo build --workspace --bins` (make test does)",
                    bin.display()
                )
            });
        let dep_info = bin_dir.join(format!("{name}.d"));
        let deps = std::fs::read_to_string(&dep_info).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; without it the binary's freshness cannot be checked: run \
                 `cargo build --workspace --bins` (make test does)",
                dep_info.display()
            )
        });
        let sources = deps
            .split_once(": ")
            .map(|(_, s)| s)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| panic!("{} lists no sources", dep_info.display()));
        for source in sources.split_whitespace() {
            let changed = std::fs::metadata(source)
                .and_then(|m| m.modified())
                .unwrap_or_else(|e| {
                    panic!(
                        "{} was built from {source}, which is gone ({e}): run \
                         `cargo build --workspace --bins` (make test does)",
                        bin.display()
                    )
                });
            assert!(
                changed <= built,
                "{} is older than {source}: run `cargo build --workspace --bins` (make test does)",
                bin.display()
            );
        }
    }
}

async fn cloud(stage: &str) -> Arc<LocalCloud> {
    cloud_from(stage, None).await
}

/// A cloud from another template (`None`: the repository's), with IAM enforced as always.
async fn cloud_from(stage: &str, template: Option<PathBuf>) -> Arc<LocalCloud> {
    try_cloud_from(stage, template)
        .await
        .unwrap_or_else(|e| panic!("the local cloud did not start: {e}"))
}

/// [`cloud_from`], with the reason when the cloud does not start.
async fn try_cloud_from(
    stage: &str,
    template: Option<PathBuf>,
) -> Result<Arc<LocalCloud>, local_cloud::cloud::CloudError> {
    local_cloud::install_crypto();
    let root = repo_root();
    let mut opts = local_cloud::Options::for_repo(&root);
    if let Some(t) = template {
        opts.template = t;
    }
    assert!(opts.iam, "IAM is enforced by default");
    check_binaries(&opts.bin_dir);
    opts.stage = format!("e2e-{stage}");
    opts.state_dir = root.join("target/local-cloud-e2e");
    opts.dynamodb_endpoint = std::env::var("DYNAMODB_ENDPOINT").ok();
    opts.time_scale = TimeScale::new(60.0);
    opts.concurrency = 2;
    LocalCloud::start(opts).await
}

/// A sample made into a fresh order: rebased to now, its id suffixed, times set.
struct Order {
    partner: Partner,
    id: String,
    payload: Payload,
}

fn order(partner: Partner, sample: &str, times: &[(&str, i64)]) -> Order {
    let root = repo_root();
    let now = Utc::now();
    let mut p = Payload::load(partner, &root.join(sample))
        .unwrap()
        .rebase(now);
    for (pointer, minutes) in times {
        p = p.at(pointer, now + TimeDelta::minutes(*minutes)).unwrap();
    }
    let sample_id = p.partner_order_id().unwrap();
    let id = format!("{}-{}", sample_id.as_str(), &uuid_suffix());
    Order {
        partner,
        payload: p.rename(sample_id.as_str(), &id),
        id,
    }
}

fn uuid_suffix() -> String {
    format!("{:08x}", fastrand::u32(..))
}

/// A follow-up webhook (courier, cancellation) about `order`.
fn about(order: &Order, sample: &str, id_pointer: &str) -> Vec<u8> {
    let p = Payload::load(order.partner, &repo_root().join(sample))
        .unwrap()
        .rebase(Utc::now());
    p.set(id_pointer, json!(order.id)).unwrap().body()
}

async fn send(c: &LocalCloud, o: &Order) -> u16 {
    c.send_signed(o.partner, o.payload.body()).await.unwrap().0
}

/// The status intake answers a webhook of `partner`'s it took with (Uber Eats: 200 and an
/// empty body, as its webhook guide asks; DoorDash 200, as its webhook pages ask; the others: 202).
fn ack(partner: Partner) -> u16 {
    partners::acknowledgement(partner).status
}

async fn view(c: &LocalCloud, o: &Order) -> OrderView {
    c.order_view(o.partner, &o.id).await
}

/// Waits until the order has a terminal status and every execution has ended.
async fn settled(c: &LocalCloud, o: &Order, executions: usize) -> OrderView {
    let r = eventually(WITHIN, "the order to settle", || async {
        let v = view(c, o).await;
        let terminal = matches!(
            v.status.as_deref(),
            Some("SentToPos" | "Rejected" | "Cancelled" | "Failed")
        );
        (terminal && v.settled() && v.executions.len() >= executions).then_some(v)
    })
    .await;
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}; the order is now {:#?}", view(c, o).await),
    }
}

async fn held(c: &LocalCloud, o: &Order) {
    let r = eventually(WITHIN, "the order to be held", || async {
        (view(c, o).await.status.as_deref() == Some("Held")).then_some(())
    })
    .await;
    if let Err(e) = r {
        panic!("{e}; the order is now {:#?}", view(c, o).await);
    }
}

/// What the order's partner was told about it, by its own records: (what, applied).
async fn statements_to(c: &LocalCloud, o: &Order) -> Vec<(local_cloud::sim::partner::Told, bool)> {
    c.partners[&o.partner]
        .ledger
        .entries()
        .await
        .into_iter()
        .filter(|s| s.order == o.id)
        .map(|s| (s.told, s.applied))
        .collect()
}

/// AWS SDK configuration for an operator's calls to the local bus and Step Functions (an
/// access key the cloud did not issue: not one of the stack's roles).
fn operator_sdk(c: &LocalCloud) -> aws_adapters::sdk::AwsConfig {
    aws_adapters::sdk::AwsConfig::from_env(|name| match name {
        "AWS_REGION" => Some("us-east-1".to_owned()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("operator".to_owned()),
        "AWS_ENDPOINT_URL_EVENTBRIDGE" => Some(c.endpoints.eventbridge.clone()),
        "AWS_ENDPOINT_URL_SFN" => Some(c.endpoints.sfn.clone()),
        _ => None,
    })
    .unwrap()
}

fn live_pos_orders(v: &OrderView) -> usize {
    v.pos_orders
        .iter()
        .filter(|p| p["status"] != "voided")
        .count()
}

async fn partner_calls(c: &LocalCloud, o: &Order) -> Vec<(String, String, u16)> {
    let sim = &c.partners[&o.partner].sim;
    sim.calls()
        .await
        .into_iter()
        .filter(|call| call.path.contains(&o.id))
        .map(|call| (call.method, call.path, call.status))
        .collect()
}

async fn history_types(c: &LocalCloud, o: &Order) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for e in c.executions_of(&o.id).await {
        for h in e.history().await {
            out.push((h.kind.clone(), serde_json::to_value(&h).unwrap()));
        }
    }
    out
}

async fn events(c: &LocalCloud, o: &Order) -> Vec<Value> {
    c.events_of(&format!("{}.{}", o.partner.as_str(), o.id), &o.id)
        .await
}

fn count(events: &[Value], detail_type: &str) -> usize {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_order_reaches_the_pos_exactly_once() {
    let c = cloud("immediate").await;
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"));
    assert_eq!(v.history, ["Received", "Accepted", "SentToPos"]);
    assert_eq!(live_pos_orders(&v), 1);
    let ev = events(&c, &o).await;
    assert_eq!(count(&ev, "Order Received"), 1);
    assert_eq!(count(&ev, "Order Sent To POS"), 1);
    // Nothing consumes an `Order Accepted` event: none is put (docs/performance.md, Cost).
    assert_eq!(ev.len(), 2, "{ev:?}");
    let ticket = &c
        .pos_book
        .orders()
        .await
        .into_iter()
        .find(|p| p.ticket["externalId"] == format!("app.{}", o.id))
        .unwrap()
        .ticket;
    assert_eq!(ticket["channel"], "app");
    // The partner was told it was accepted, once.
    let calls = partner_calls(&c, &o).await;
    assert_eq!(
        calls
            .iter()
            .filter(|(_, p, _)| p.ends_with("/accept"))
            .count(),
        1,
        "{calls:?}"
    );
    // The execution went the short way and ended well.
    let e = &v.executions[0];
    assert_eq!(e.status, "SUCCEEDED");
    assert!(
        e.path.ends_with(&[
            "Send to POS".into(),
            "Publish sent to POS".into(),
            "Sent to POS".into()
        ]),
        "{:?}",
        e.path
    );
    assert!(!e.path.contains(&"Hold".to_owned()));
    c.stop().await;
}

/// Uber Eats' token endpoint allows 100 requests an hour: however many functions and
/// execution environments call Uber at once, the fleet asks for one token per scope (the
/// tokens table's lease), by the Uber simulator's own record of its token requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uber_orders_across_functions_and_environments_fetch_one_token_between_them() {
    use local_cloud::demo;
    let c = cloud("one-token").await;
    let root = repo_root();
    let uber = demo::scenarios()
        .into_iter()
        .find(|s| s.partner == Partner::UberEats && s.fetched.is_some())
        .unwrap();
    let runs = (0..6).map(|i| {
        let (c, root, uber) = (&c, &root, &uber);
        async move {
            demo::run(
                c,
                root,
                uber,
                &format!("tok{i}-{}", uuid_suffix()),
                Duration::from_secs(60),
            )
            .await
            .unwrap()
        }
    });
    for outcome in futures::future::join_all(runs).await {
        assert_eq!(outcome.verdict, Ok(()), "{}", outcome.partner_order_id);
    }
    let calls = c.partners[&Partner::UberEats].sim.calls().await;
    let fetched = calls
        .iter()
        .filter(|call| call.path.starts_with("/v2/eats/order/"))
        .count();
    let accepted = calls
        .iter()
        .filter(|call| call.path.ends_with("/accept_pos_order"))
        .count();
    let tokens = calls
        .iter()
        .filter(|call| call.path == partners::outbound::UBER_TOKEN_PATH)
        .count();
    // Six orders fetched by adapt-order and accepted by accept-order (two functions, so at
    // least two processes, each cold), on one token.
    assert!(fetched >= 6 && accepted >= 6, "{fetched} {accepted}");
    assert_eq!(tokens, 1, "{calls:?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_delivered_three_times_at_once_makes_one_pos_order() {
    let c = cloud("duplicates").await;
    let o = order(
        Partner::Grubhub,
        "events/partners/grubhub/order.json",
        &[("/order/fulfillment_info/estimated_pickup_at", 5)],
    );
    let sends = (0..3).map(|_| send(&c, &o));
    let statuses = futures::future::join_all(sends).await;
    assert_eq!(statuses, [202, 202, 202]);
    let v = settled(&c, &o, 3).await;
    assert_eq!(v.executions.len(), 3);
    assert_eq!(live_pos_orders(&v), 1);
    assert_eq!(
        c.pos
            .calls()
            .await
            .iter()
            .filter(|call| call.method == "POST"
                && call.body["externalId"] == format!("grubhub.{}", o.id))
            .count(),
        1
    );
    let duplicates = v
        .executions
        .iter()
        .filter(|e| e.path.last().map(String::as_str) == Some("Duplicate"))
        .count();
    assert_eq!(duplicates, 2, "{:#?}", v.executions);
    let ev = events(&c, &o).await;
    assert_eq!(count(&ev, "Order Sent To POS"), 1);
    assert_eq!(count(&ev, "Order Duplicate Ignored"), 2);
    c.stop().await;
}

/// A known order delivered again with a different payload (an update after placement, which
/// no partner publishes a call for) is refused and announced, and its execution succeeds: the
/// first version stands, at the POS once, the partner told once (its own ledger), and the
/// bus archive holds `Order Duplicate Ignored` with `payloadMismatch`. It used to end as a
/// failed execution, paging for a partner's update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_redelivery_of_a_known_order_is_refused_and_announced_not_failed() {
    let c = cloud("order-update").await;
    let o = order(
        Partner::Grubhub,
        "events/partners/grubhub/order.json",
        &[("/order/fulfillment_info/estimated_pickup_at", 5)],
    );
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let first = settled(&c, &o, 1).await;
    assert_eq!(first.status.as_deref(), Some("SentToPos"), "{first:#?}");
    let changed = o
        .payload
        .clone()
        .set(
            "/order/special_instructions",
            json!("extra napkins, please"),
        )
        .unwrap();
    assert_eq!(
        c.send_signed(o.partner, changed.body()).await.unwrap().0,
        ack(o.partner)
    );
    let v = settled(&c, &o, 2).await;
    let update = v
        .executions
        .iter()
        .find(|e| e.path.last().map(String::as_str) == Some("Conflict"))
        .unwrap_or_else(|| panic!("{:#?}", v.executions));
    assert_eq!(update.status, "SUCCEEDED", "{update:#?}");
    assert_eq!(live_pos_orders(&v), 1);
    assert_eq!(
        statements_to(&c, &o).await,
        [(local_cloud::sim::partner::Told::Accept, true)]
    );
    let ev = events(&c, &o).await;
    let refused: Vec<&Value> = ev
        .iter()
        .filter(|e| e["detail-type"] == "Order Duplicate Ignored")
        .collect();
    assert_eq!(refused.len(), 1, "{ev:#?}");
    assert_eq!(refused[0]["detail"]["data"]["payloadMismatch"], true);
    c.stop().await;
}

/// Asynchronous Express workflows run at least once: AWS may run the same execution again.
/// Run twice here, the order still reaches the POS once, the partner is told once, and the
/// order's record moves to `SentToPos` once (the POS ledger, the partner's own records and
/// the orders table say so, not the pipeline).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_execution_run_twice_reaches_the_pos_and_the_partner_once() {
    let c = cloud("express-twice").await;
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let first = eventually(WITHIN, "the Express execution", || async {
        c.executions_of(&o.id).await.into_iter().next()
    })
    .await
    .unwrap();
    assert!(first.arn.contains(":express:"), "{}", first.arn);
    let again = c
        .sfn
        .start_execution(&first.machine.arn, Some(&first.name), first.input.clone())
        .await
        .unwrap();
    assert_ne!(again.arn, first.arn);
    let v = settled(&c, &o, 2).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
    assert_eq!(v.pos_orders.len(), 1, "{v:#?}");
    assert_eq!(
        v.history.iter().filter(|s| *s == "SentToPos").count(),
        1,
        "{v:#?}"
    );
    let told = statements_to(&c, &o).await;
    assert_eq!(told, [(local_cloud::sim::partner::Told::Accept, true)]);
    assert_eq!(
        v.events
            .iter()
            .filter(|e| *e == "Order Sent To POS")
            .count(),
        1,
        "{:?}",
        v.events
    );
    // Through the AWS SDK, as on AWS: an Express execution has no description or history to
    // ask for, and its state machine's executions cannot be listed.
    let sfn = operator_sdk(&c).sfn();
    let described = sfn
        .describe_execution()
        .execution_arn(&first.arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        described.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidArn"),
        "{described:?}"
    );
    let listed = sfn
        .list_executions()
        .state_machine_arn(&first.machine.arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        listed.as_service_error().and_then(|e| e.meta().code()),
        Some("StateMachineTypeNotSupported"),
        "{listed:?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_order_is_held_then_released_by_time_then_sent() {
    let c = cloud("scheduled").await;
    // Ready in 15 minutes, 12 of which the kitchen needs: held 3 minutes (3 s at 60×).
    let o = order(
        Partner::DoorDash,
        "events/partners/doordash/order-scheduled.json",
        &[("/order/estimated_pickup_time", 15)],
    );
    assert_eq!(send(&c, &o).await, ack(o.partner));
    held(&c, &o).await;
    // hold-order records the status, then stores the token: wait for the row too.
    let row = eventually(WITHIN, "a held-orders row", || async {
        c.scan("HeldOrdersTable")
            .await
            .into_iter()
            .find(|r| r["orderId"] == format!("doordash.{}", o.id))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        row["taskToken"].as_str().is_some_and(|t| !t.is_empty()),
        "{row}"
    );
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"));
    assert_eq!(
        v.history,
        ["Received", "Accepted", "Held", "Released", "SentToPos"]
    );
    assert!(
        v.executions[0].path.contains(&"Release by time".to_owned()),
        "{:?}",
        v.executions[0].path
    );
    assert_eq!(live_pos_orders(&v), 1);
    // Express until the hold, Standard for the hold only (released, it hands the order back),
    // Express again for the send: by the executions' own records.
    let run = &c.runs_of(&o.id).await[0];
    let kinds: Vec<_> = run
        .executions
        .iter()
        .map(|e| e.machine.name.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "orders-e2e-scheduled-workflow",
            "orders-e2e-scheduled-hold-workflow",
            "orders-e2e-scheduled-workflow"
        ],
        "{kinds:?}"
    );
    assert_eq!(
        run.executions[1].path().await,
        ["Start", "Hold", "Hand back"],
        "the Standard workflow only holds"
    );
    assert_eq!(
        run.executions[2].path().await,
        [
            "Released?",
            "Release by time",
            "Send to POS",
            "Publish sent to POS",
            "Sent to POS"
        ]
    );
    // How long it was held, from the execution history's own timestamps: the Hold task's
    // timeout is the 3 minutes to the kitchen's start (less the seconds the order took to
    // get there), and the task ran that long at the cloud's 60× time scale, not less.
    let history = c.runs_of(&o.id).await[0].history().await;
    let entered = history
        .iter()
        .position(|h| h.entered_state() == Some("Hold"))
        .expect("the Hold state was entered");
    let input: Value = serde_json::from_str(
        history[entered].details["stateEnteredEventDetails"]["input"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let timeout = input["accepted"]["hold"]["timeoutSeconds"]
        .as_f64()
        .unwrap();
    assert!((170.0..=180.0).contains(&timeout), "held for {timeout} s");
    let scheduled = history[entered..]
        .iter()
        .find(|h| h.kind == "TaskScheduled")
        .unwrap();
    let timed_out = history[entered..]
        .iter()
        .find(|h| h.kind == "TaskTimedOut")
        .expect("the hold ended by its timeout");
    let held_for = timed_out.timestamp - scheduled.timestamp;
    let scaled = timeout / 60.0;
    assert!(
        held_for >= scaled - 0.01 && held_for <= scaled + 3.0,
        "the Hold task ran {held_for:.2} s for a {timeout} s timeout ({scaled:.2} s at 60×)"
    );
    let ev = events(&c, &o).await;
    assert_eq!(count(&ev, "Order Held"), 1);
    let released = ev
        .iter()
        .find(|e| e["detail-type"] == "Order Released")
        .expect("Order Released");
    assert_eq!(released["detail"]["data"]["releasedBy"], "time");
    // The token is gone once released.
    assert!(
        !c.scan("HeldOrdersTable")
            .await
            .iter()
            .any(|r| r["orderId"] == format!("doordash.{}", o.id))
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_order_is_released_by_a_courier_before_its_time() {
    let c = cloud("courier").await;
    // Picked up in 45 minutes: held for 33, unless a courier arrives first.
    let o = order(
        Partner::DoorDash,
        "events/partners/doordash/order.json",
        &[("/order/estimated_pickup_time", 45)],
    );
    let sent_at = Utc::now();
    assert_eq!(send(&c, &o).await, ack(o.partner));
    held(&c, &o).await;
    let courier = about(
        &o,
        "events/partners/doordash/courier.json",
        "/external_order_id",
    );
    assert_eq!(
        c.send_signed(o.partner, courier).await.unwrap().0,
        ack(o.partner)
    );
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"));
    let path = &v.executions[0].path;
    assert!(
        path.contains(&"Hold".to_owned()) && !path.contains(&"Release by time".to_owned()),
        "{path:?}"
    );
    let ev = events(&c, &o).await;
    let released = ev
        .iter()
        .find(|e| e["detail-type"] == "Order Released")
        .expect("Order Released");
    assert_eq!(released["detail"]["data"]["releasedBy"], "courier");
    assert_eq!(count(&ev, "Courier Arriving"), 1);
    assert_eq!(live_pos_orders(&v), 1);
    // DoorDash's own records: confirmed once, with the prep time its confirmation takes (a
    // UTC time): ready when the Dasher was due, 45 minutes after the order was sent.
    let entries: Vec<_> = c.partners[&o.partner]
        .ledger
        .entries()
        .await
        .into_iter()
        .filter(|s| s.order == o.id)
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let ready = entries[0].ready_at.expect("a prep_time");
    let due = sent_at + TimeDelta::minutes(45);
    assert!(
        (ready - due).num_seconds().abs() <= 90,
        "ready {ready}, due {due}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_while_held_tells_the_partner_and_sends_nothing_to_the_pos() {
    let c = cloud("cancel").await;
    let o = order(
        Partner::ChainApp,
        "events/partners/app/order-scheduled.json",
        &[("/order/pickupAt", 45)],
    );
    assert_eq!(send(&c, &o).await, ack(o.partner));
    held(&c, &o).await;
    let cancel = about(&o, "events/partners/app/cancel.json", "/orderId");
    assert_eq!(
        c.send_signed(o.partner, cancel).await.unwrap().0,
        ack(o.partner)
    );
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("Cancelled"));
    assert_eq!(live_pos_orders(&v), 0);
    assert!(
        !c.pos
            .calls()
            .await
            .iter()
            .any(|call| call.body["externalId"] == format!("app.{}", o.id))
    );
    let calls = partner_calls(&c, &o).await;
    assert!(
        calls
            .iter()
            .any(|(m, p, s)| m == "POST" && p.ends_with("/cancel") && *s == 200),
        "{calls:?}"
    );
    let ev = events(&c, &o).await;
    assert_eq!(count(&ev, "Order Cancellation Requested"), 1);
    let cancelled = ev
        .iter()
        .find(|e| e["detail-type"] == "Order Cancelled")
        .expect("Order Cancelled");
    assert_eq!(cancelled["detail"]["data"]["posVoided"], false);
    assert!(
        v.executions[0]
            .path
            .contains(&"Cancel with partner".to_owned())
    );
    // The hold's task failed with the cancellation, as release-order reported it.
    let h = history_types(&c, &o).await;
    assert!(
        h.iter()
            .any(|(k, d)| k == "TaskFailed"
                && d["taskFailedEventDetails"]["error"] == "OrderCancelled"),
        "{h:#?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pos_that_refuses_the_order_gets_it_cancelled_with_the_partner_and_failed() {
    let c = cloud("pos-refuses").await;
    c.set_faults(
        "pos",
        Faults {
            refuse_next: 1000,
            refuse_status: 422,
            ..Faults::default()
        },
    )
    .await;
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("Failed"));
    // Ended by the pipeline, visibly (Order Failed, the partner told): the execution succeeds;
    // ExecutionsFailed is kept for executions that could not end their order.
    assert_eq!(v.executions[0].status, "SUCCEEDED");
    assert_eq!(
        v.executions[0].path.last().map(String::as_str),
        Some("Failed")
    );
    assert!(
        v.executions[0]
            .path
            .contains(&"Cancel with partner".to_owned()),
        "{:?}",
        v.executions[0].path
    );
    assert_eq!(live_pos_orders(&v), 0);
    let calls = partner_calls(&c, &o).await;
    assert!(
        calls
            .iter()
            .any(|(_, p, s)| p.ends_with("/cancel") && *s == 200),
        "{calls:?}"
    );
    let ev = events(&c, &o).await;
    let failed = ev
        .iter()
        .find(|e| e["detail-type"] == "Order Failed")
        .expect("Order Failed");
    assert_eq!(failed["detail"]["data"]["partnerNotified"], true);
    // A permanent refusal is not retried: one create call.
    let creates = c
        .pos
        .calls()
        .await
        .iter()
        .filter(|call| call.method == "POST" && call.path.ends_with("/orders"))
        .count();
    assert_eq!(creates, 1);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_answering_429_then_200_is_retried_and_the_order_accepted() {
    let c = cloud("throttled").await;
    c.set_faults(
        "app",
        Faults {
            throttle_next: 1,
            retry_after_seconds: 1,
            ..Faults::default()
        },
    )
    .await;
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"));
    let accepts: Vec<u16> = partner_calls(&c, &o)
        .await
        .into_iter()
        .filter(|(_, p, _)| p.ends_with("/accept"))
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(accepts, [429, 200]);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_forged_webhooks_are_refused_and_start_nothing() {
    let c = cloud("refused").await;
    let o = order(Partner::Grubhub, "events/partners/grubhub/order.json", &[]);
    // Forged: signed with another secret.
    let body = o.payload.body();
    let headers = local_cloud::webhooks::sign(o.partner, &body, "not-the-partners-secret");
    let (status, answer) = c
        .post_webhook(o.partner, body.clone(), &headers)
        .await
        .unwrap();
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "Unauthorized", "{answer}");
    // Unsigned.
    assert_eq!(
        c.post_webhook(o.partner, body.clone(), &[])
            .await
            .unwrap()
            .0,
        401
    );
    // Malformed: correctly signed, but not JSON.
    let (status, answer) = c
        .send_signed(o.partner, body[..body.len() / 2].to_vec())
        .await
        .unwrap();
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("JSON"),
        "the error names the problem: {answer}"
    );
    // A genuine order sent after them: once its execution has ended, anything the refused
    // ones had started would have started too (one bus, delivered in order).
    let later = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &later).await, ack(later.partner));
    ended(&c, &later).await;
    assert!(c.executions_of(&o.id).await.is_empty());
    assert_eq!(
        c.sfn.executions().await.len(),
        c.executions_of(&later.id).await.len(),
        "only the genuine order started executions"
    );
    let archive = c.bus.archive().await;
    assert_eq!(
        archive
            .iter()
            .filter(|e| e["event"]["detail-type"] == "Order Received")
            .count(),
        1,
        "only the genuine order was received"
    );
    // The authenticated but malformed one is announced, not dropped.
    assert_eq!(
        archive
            .iter()
            .filter(|e| e["event"]["detail-type"] == "Webhook Rejected")
            .count(),
        1,
        "{archive:#?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_killed_mid_invocation_still_ends_the_order() {
    let c = cloud("killed").await;
    // The POS answers slowly, so the pos function is mid-invocation when it is killed.
    c.set_faults(
        "pos",
        Faults {
            latency_ms: 3000,
            ..Faults::default()
        },
    )
    .await;
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let pos_fn = c.app.function_by_binary("pos").unwrap().name.clone();
    eventually(WITHIN, "the pos function to be busy", || async {
        c.lambda.busy(&pos_fn).await.then_some(())
    })
    .await
    .unwrap();
    c.set_faults("pos", Faults::default()).await;
    assert!(c.lambda.kill(&pos_fn).await >= 1);
    let v = settled(&c, &o, 1).await;
    // Retried on a restarted process (Lambda.Unknown), and the POS idempotency key kept it to
    // one POS order.
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
    assert_eq!(live_pos_orders(&v), 1);
    let h = history_types(&c, &o).await;
    let failure = h
        .iter()
        .find(|(k, _)| k == "TaskFailed")
        .expect("the killed invocation failed the task");
    assert_eq!(
        failure.1["taskFailedEventDetails"]["error"],
        "Lambda.Unknown"
    );
    assert!(
        failure.1["taskFailedEventDetails"]["cause"]
            .as_str()
            .unwrap()
            .contains("Runtime.ExitError")
    );
    let stats = c.lambda.stats().await;
    assert!(stats[&pos_fn].restarts >= 1);
    c.stop().await;
}

// ---------------------------------------------------------------- IAM, enforced

/// Waits until the order's executions (at least one) have all ended.
async fn ended(c: &LocalCloud, o: &Order) -> OrderView {
    let r = eventually(WITHIN, "the order's executions to end", || async {
        let v = view(c, o).await;
        v.settled().then_some(v)
    })
    .await;
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}; the order is now {:#?}", view(c, o).await),
    }
}

/// The local bus answers `TestEventPattern` and checks `PutRule`'s pattern at its endpoint,
/// to the AWS SDK, as EventBridge does (issue 9's inputs: AWS's answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_bus_answers_test_event_pattern_and_put_rule_to_the_aws_sdk() {
    let c = cloud("test-event-pattern").await;
    let events = operator_sdk(&c).eventbridge();
    let event = |detail: Value| {
        json!({ "id": "e-1", "account": "123456789012", "source": "chain.orders",
                "time": "2026-12-01T00:00:00Z", "region": "us-east-1", "resources": [],
                "detail-type": "Order Received", "detail": detail })
        .to_string()
    };
    let test = |pattern: Value, e: String| {
        events
            .test_event_pattern()
            .event_pattern(pattern.to_string())
            .event(e)
            .send()
    };
    for (pattern, detail, expected) in [
        (
            json!({"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}),
            json!({"state": null}),
            true,
        ),
        (
            json!({"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}),
            json!({"state": 12}),
            true,
        ),
        (
            json!({"detail":{"FilePath":[{"anything-but":{"wildcard":"*/dir/*"}}]}}),
            json!({"FilePath": 123}),
            true,
        ),
        (
            json!({"detail":{"FileName":[{"anything-but":{"suffix":[".txt",".jpg"]}}]}}),
            json!({"FileName": "file.txt.bak"}),
            true,
        ),
        (
            json!({"detail":{"c":[{"exists":false}]}}),
            json!({"c": {"a": 1}}),
            true,
        ),
        (
            json!({"detail":{"state.status":["running"]}}),
            json!({"state": {"status": "running"}}),
            true,
        ),
        (
            json!({"detail":{"state":{"status":["running"]}}}),
            json!({"state.status": "running"}),
            true,
        ),
        (
            json!({"detail":{"state":["running"]}}),
            json!({"state": "stopped"}),
            false,
        ),
    ] {
        let out = test(pattern.clone(), event(detail.clone())).await.unwrap();
        assert_eq!(out.result(), expected, "{pattern} on {detail}");
    }
    for pattern in [
        json!({"detail":{"FileName":[{"anything-but":{"prefix":""}}]}}),
        json!({"EventBusArn":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}),
    ] {
        let e = test(pattern.clone(), event(json!({}))).await.unwrap_err();
        let e = e.into_service_error();
        assert!(e.is_invalid_event_pattern_exception(), "{pattern}: {e:?}");
        let refused = events
            .put_rule()
            .name("checked")
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            refused.is_invalid_event_pattern_exception(),
            "{pattern}: {refused:?}"
        );
    }
    c.stop().await;
}

/// The largest order a partner may send (the 1 MiB body limit) goes end to end, by reference:
/// the body and the canonical order are documents, and every workflow state, task parameter
/// and bus event stays under its AWS limit (asserted on the records: the execution history
/// and the bus archive). One byte over the limit is refused with 413 naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_at_the_body_limit_goes_through_by_reference_and_one_byte_over_is_refused() {
    let limit = pipeline::usecases::intake::MAX_WEBHOOK_BODY_BYTES;
    let c = cloud("large-order").await;
    let mut o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    // Soft tacos (199 cents each, as on the menu), each with a note, until the body is a
    // little under the limit; then the order note fills it to the byte.
    let line = |i: usize| {
        json!({ "sku": "sku-taco-soft", "name": "Soft Taco", "qty": 1, "unitPriceCents": 199,
                "modifiers": [], "note": format!("line {i}: no onions, extra sauce, cut in half") })
    };
    let mut items = Vec::new();
    let sized = |items: &Vec<Value>, note: &str| {
        let mut j = o.payload.json.clone();
        let n = items.len() as i64;
        j["order"]["items"] = Value::from(items.clone());
        j["order"]["totals"] = json!({ "subtotalCents": n * 199, "taxCents": 0, "totalCents": n * 199, "currency": "USD" });
        j["order"]["note"] = Value::from(note);
        j
    };
    // Lines are all about the same size: count them from one, rather than re-measuring.
    let per_line = line(10_000).to_string().len() + 1;
    let lines = (limit - 1000 - sized(&items, "").to_string().len()) / per_line;
    items.extend((0..lines).map(line));
    let fill = limit - sized(&items, "").to_string().len();
    let body_json = sized(&items, &"x".repeat(fill));
    assert_eq!(body_json.to_string().len(), limit, "exactly at the limit");
    o.payload.json = body_json.clone();

    // One byte over: 413, naming the limit.
    let mut over = body_json.clone();
    over["order"]["note"] = Value::from("x".repeat(fill + 1));
    let (status, answer) = c
        .send_signed(o.partner, over.to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer
            .to_string()
            .contains(&format!("at most {limit} are accepted")),
        "{answer}"
    );

    assert_eq!(send(&c, &o).await, ack(o.partner));
    let v = ended(&c, &o).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
    // The POS got every line.
    let created: Vec<Value> = c
        .pos
        .calls()
        .await
        .into_iter()
        .filter(|call| {
            call.method == "POST"
                && call.body["externalId"]
                    .as_str()
                    .is_some_and(|id| id.ends_with(&o.id))
        })
        .map(|call| call.body)
        .collect();
    assert!(!created.is_empty(), "the POS was asked to create the order");
    assert_eq!(created[0]["lines"].as_array().unwrap().len(), items.len());

    // Every state's input and output, every task's parameters and result: under 256 KiB.
    let mut largest = (0, String::new());
    for (kind, h) in history_types(&c, &o).await {
        for key in ["input", "output", "parameters"] {
            for details in h.as_object().into_iter().flat_map(|m| m.values()) {
                if let Some(text) = details.get(key).and_then(Value::as_str)
                    && text.len() > largest.0
                {
                    largest = (text.len(), format!("{kind} {key}"));
                }
            }
        }
    }
    println!("largest state payload: {} bytes ({})", largest.0, largest.1);
    assert!(largest.0 > 0);
    assert!(
        largest.0 < 16 * 1024,
        "{largest:?}: the order travels by reference"
    );
    // Every event about it on the bus: under EventBridge's 256 KB entry.
    let biggest_event = events(&c, &o)
        .await
        .iter()
        .map(|e| e.to_string().len())
        .max()
        .unwrap();
    println!("largest event: {biggest_event} bytes");
    assert!(biggest_event < 8 * 1024, "{biggest_event}");
    c.stop().await;
}

/// What the partners were told, by order, from their own ledgers.
async fn told(c: &LocalCloud, orders: &[&Order]) -> Vec<(String, local_cloud::sim::partner::Told)> {
    let mut out = Vec::new();
    for o in orders {
        out.extend(
            c.partners[&o.partner]
                .ledger
                .entries()
                .await
                .into_iter()
                .filter(|s| s.order == o.id && s.applied)
                .map(|s| (s.order, s.told)),
        );
    }
    out
}

/// A replay of the whole archive (through the AWS SDK's `StartReplay`, as an operator would
/// after a bad deploy) runs every Order Received again, each now carrying `replay-name`; the
/// pipeline's idempotency makes them duplicates: no new POS order, no second partner answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_whole_run_makes_no_new_pos_order_and_no_second_partner_answer() {
    let c = cloud("replay").await;
    let orders = [
        order(Partner::ChainApp, "events/partners/app/order.json", &[]),
        order(
            Partner::DoorDash,
            "events/partners/doordash/order.json",
            &[("/order/estimated_pickup_time", 5)],
        ),
        order(Partner::Grubhub, "events/partners/grubhub/order.json", &[]),
    ];
    let start = Utc::now() - TimeDelta::seconds(5);
    for o in &orders {
        assert_eq!(send(&c, o).await, ack(o.partner));
    }
    for o in &orders {
        let v = ended(&c, o).await;
        assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
    }
    let refs: Vec<&Order> = orders.iter().collect();
    let pos_before = c.pos.calls().await.len();
    let told_before = told(&c, &refs).await;
    assert_eq!(told_before.len(), 3, "{told_before:?}");
    let executions_before: usize = {
        let mut n = 0;
        for o in &orders {
            n += c.executions_of(&o.id).await.len();
        }
        n
    };

    let config = operator_sdk(&c);
    let (archive, bus) = c.app.archives[0].clone();
    let replay = config
        .eventbridge()
        .start_replay()
        .replay_name("after-a-bad-deploy")
        .event_source_arn(format!(
            "arn:aws:events:us-east-1:000000000000:archive/{archive}"
        ))
        .event_start_time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
            start.timestamp(),
        ))
        .event_end_time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
            Utc::now().timestamp() + 1,
        ))
        .destination(
            aws_sdk_eventbridge::types::ReplayDestination::builder()
                .arn(format!(
                    "arn:aws:events:us-east-1:000000000000:event-bus/{bus}"
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        replay
            .replay_arn()
            .unwrap()
            .ends_with("replay/after-a-bad-deploy")
    );
    // Every order's replayed Order Received starts another execution, which ends.
    let all = eventually(WITHIN, "the replayed executions to end", || async {
        let mut views = Vec::new();
        for o in &orders {
            let v = view(&c, o).await;
            if v.executions.len() < 2 || !v.settled() {
                return None;
            }
            views.push(v);
        }
        Some(views)
    })
    .await
    .unwrap();
    let executions_after: usize = all.iter().map(|v| v.executions.len()).sum();
    assert!(executions_after > executions_before);
    for v in &all {
        // The original delivery did the work; the replay is a duplicate of it.
        assert_eq!(v.status.as_deref(), Some("SentToPos"));
        assert!(
            v.executions
                .iter()
                .filter(|e| e.path.iter().any(|s| s == "Adapt"))
                .count()
                == 1,
            "{v:#?}"
        );
        assert_eq!(live_pos_orders(v), 1, "{v:#?}");
    }
    // The records the pipeline does not write: no POS call, no partner statement more.
    assert_eq!(
        c.pos.calls().await.len(),
        pos_before,
        "the POS was not called again"
    );
    assert_eq!(
        told(&c, &refs).await,
        told_before,
        "no partner heard anything again"
    );
    // The replayed events carried replay-name into the workflow's input.
    let mut replayed_inputs = 0;
    for o in &orders {
        for (kind, h) in history_types(&c, o).await {
            if kind == "ExecutionStarted" && h.to_string().contains("after-a-bad-deploy") {
                replayed_inputs += 1;
            }
        }
    }
    assert_eq!(replayed_inputs, orders.len());
    c.stop().await;
}

/// An outage of the workflow's rule target: deliveries fail through the rule's retries and
/// land in its dead-letter queue; once it is over, a redrive ends every order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redriving_dead_letters_after_an_outage_ends_their_orders() {
    let c = cloud("redrive").await;
    let orders = [
        order(Partner::ChainApp, "events/partners/app/order.json", &[]),
        order(Partner::Grubhub, "events/partners/grubhub/order.json", &[]),
    ];
    // Every delivery attempt fails for now (more than the rules' retries of both orders).
    c.bus.fail_next_deliveries(1_000).await;
    for o in &orders {
        assert_eq!(send(&c, o).await, ack(o.partner));
    }
    let letters = eventually(WITHIN, "both orders dead-lettered", || async {
        let all = c.queues.all().await;
        let n: usize = all
            .iter()
            .filter(|(q, _)| q.contains("dead-letter") || q.contains("dlq"))
            .map(|(_, m)| m.len())
            .sum();
        (n >= orders.len()).then_some(all)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for o in &orders {
        assert!(
            letters
                .values()
                .flatten()
                .any(|m| m.to_string().contains(&o.id)),
            "{} is dead-lettered",
            o.id
        );
        assert!(c.executions_of(&o.id).await.is_empty(), "no execution ran");
    }
    // The outage ends; the operator redrives.
    c.bus.fail_next_deliveries(0).await;
    assert!(c.redrive().await >= orders.len());
    for o in &orders {
        let v = ended(&c, o).await;
        assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
        assert_eq!(live_pos_orders(&v), 1);
    }
    c.stop().await;
}

/// The template's IAM enforced: each function and workflow without one permission it needs.
#[path = "e2e/iam.rs"]
mod iam;

/// A release deployed over a running cloud, its PreTraffic hook first.
#[path = "e2e/deploy.rs"]
mod deploy;

/// The store catalogue changed at runtime: pauses, sold-out items, menu versions.
#[path = "e2e/catalogue.rs"]
mod catalogue;

/// Customer data on the order's path: only the documents table, the POS ticket and the
/// partner calls hold it.
#[path = "e2e/privacy.rs"]
mod privacy;

/// The calls a newcomer types first (`aws stepfunctions list-state-machines`, `aws events
/// list-rules`, …) answer through the AWS SDK as the services answer them, from what the
/// template declared (issue 29).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_discovery_calls_answer_through_the_aws_sdk() {
    let c = cloud("discovery").await;
    let sdk = operator_sdk(&c);

    let sfn = sdk.sfn();
    let listed = sfn.list_state_machines().send().await.unwrap();
    let mut names: Vec<&str> = listed.state_machines().iter().map(|m| m.name()).collect();
    names.sort_unstable();
    let mut declared: Vec<&str> = c
        .app
        .state_machines
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    declared.sort_unstable();
    assert_eq!(names, declared);
    for m in listed.state_machines() {
        let described = sfn
            .describe_state_machine()
            .state_machine_arn(m.state_machine_arn())
            .send()
            .await
            .unwrap();
        assert_eq!(described.name(), m.name());
        assert_eq!(described.r#type(), m.r#type());
        assert!(described.definition().contains("\"States\""));
    }

    let events = sdk.eventbridge();
    let buses = events.list_event_buses().send().await.unwrap();
    let bus_names: Vec<&str> = buses
        .event_buses()
        .iter()
        .filter_map(|b| b.name())
        .collect();
    assert!(bus_names.contains(&"default"), "{bus_names:?}");
    for bus in &c.app.buses {
        assert!(bus_names.contains(&bus.as_str()), "{bus} in {bus_names:?}");
        let described = events.describe_event_bus().name(bus).send().await.unwrap();
        assert!(
            described
                .arn()
                .unwrap()
                .ends_with(&format!(":event-bus/{bus}"))
        );
        let rules = events
            .list_rules()
            .event_bus_name(bus)
            .send()
            .await
            .unwrap();
        let on_bus: Vec<_> = c.app.rules.iter().filter(|r| &r.bus == bus).collect();
        assert_eq!(rules.rules().len(), on_bus.len());
        for rule in on_bus {
            let d = events
                .describe_rule()
                .name(&rule.name)
                .event_bus_name(bus)
                .send()
                .await
                .unwrap();
            assert_eq!(d.arn(), Some(rule.arn.as_str()));
            let pattern: Value = serde_json::from_str(d.event_pattern().unwrap()).unwrap();
            assert_eq!(&pattern, rule.pattern.source());
            let targets = events
                .list_targets_by_rule()
                .rule(&rule.name)
                .event_bus_name(bus)
                .send()
                .await
                .unwrap();
            assert_eq!(targets.targets().len(), 1);
            let arn = targets.targets()[0].arn();
            assert!(
                arn.contains(":states:") || arn.contains(":lambda:"),
                "{} targets {arn}",
                rule.name
            );
        }
    }
    let missing = events
        .describe_rule()
        .name("no-such-rule")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{missing:?}"
    );

    let archives = events.list_archives().send().await.unwrap();
    assert_eq!(archives.archives().len(), c.app.archives.len());
    for (name, bus) in &c.app.archives {
        let d = events
            .describe_archive()
            .archive_name(name)
            .send()
            .await
            .unwrap();
        assert!(
            d.event_source_arn()
                .unwrap()
                .ends_with(&format!(":event-bus/{bus}"))
        );
        assert_eq!(d.state().map(|s| s.as_str()), Some("ENABLED"));
    }
    assert!(
        events
            .list_replays()
            .send()
            .await
            .unwrap()
            .replays()
            .is_empty()
    );

    // Lambda: the functions, one function's configuration, and an invocation by version.
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(sdk.sdk())
            .endpoint_url(&c.endpoints.lambda)
            .build(),
    );
    let listed = lambda.list_functions().send().await.unwrap();
    let mut names: Vec<&str> = listed
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    names.sort_unstable();
    let mut declared: Vec<&str> = c.app.functions.iter().map(|f| f.name.as_str()).collect();
    declared.sort_unstable();
    assert_eq!(names, declared);
    let pos = c.app.functions.iter().find(|f| f.binary == "pos").unwrap();
    let got = lambda
        .get_function()
        .function_name(&pos.name)
        .qualifier("1")
        .send()
        .await
        .unwrap();
    let config = got.configuration().unwrap();
    assert_eq!(config.version(), Some("1"));
    assert_eq!(config.timeout(), Some(pos.timeout_seconds as i32));
    let answered = lambda
        .invoke()
        .function_name(format!("{}:1", pos.name))
        .payload(aws_sdk_lambda::primitives::Blob::new(
            json!({"preTrafficCheck": {"sample": {"action": "void"}}}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    // The sample does not read as pos's input (no order): refused by its reader, named.
    assert_eq!(answered.function_error(), Some("Unhandled"));
    let body: Value = serde_json::from_slice(answered.payload().unwrap().as_ref()).unwrap();
    assert_eq!(body["errorType"], "InvalidInput", "{body}");
    let missing = lambda
        .get_function()
        .function_name("no-such-function")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{missing:?}"
    );
}
