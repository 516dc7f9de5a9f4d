//! The sweeper: a scheduled backstop that ends orders nothing else will. Every open order
//! ([`OrderStatus::is_open`]) carries a deadline in its record, `open_until`: its creation
//! until it is accepted (an order is accepted or refused in seconds), then its
//! `order_domain::send_by` (when the kitchen must start). Every path of the workflows ends an
//! order well within a grace period past that deadline: the handover queue's hour, the
//! Standard workflow's partner retries, the POS retries that stop at `send_by`. An order still
//! open past deadline plus grace has lost its workflow (an execution that failed or timed out,
//! a handover left in the dead letters): the sweeper finds it through the orders table's
//! sparse index on (`sweepShard`, `openUntil`) and starts a Standard execution that ends it as
//! the workflow's own compensation does (deny, or void in the POS and cancel with the partner:
//! the partner told, an `Order Failed` event with `OrderStranded`), counted by the
//! `OrdersStranded` metric, which alarms.
//!
//! A found order is re-driven at most [`MAX_SWEEPS`] times, a grace period apart; one that
//! stays open after that is left to the alarm and an operator (docs/operations.md).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use order_domain::OrderId;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use crate::errors::names;
use crate::ports::{
    Clock, Metric, Metrics, OrderRecord, OrdersRepo, SWEEP_SHARDS, Started, WorkflowStarter,
};

/// Re-drives of one order before the sweeper leaves it to an operator.
pub const MAX_SWEEPS: u32 = 3;

/// Orders read from one shard per run: a run is bounded (its function's timeout), the next
/// run takes the rest.
pub const PER_SHARD: usize = 100;

/// The sweeper.
pub struct Sweeper {
    /// The orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// Starts the Standard workflow.
    pub starter: Arc<dyn WorkflowStarter>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
    /// How long past its deadline an open order is left to its workflow.
    pub grace: Duration,
    /// The POS watch, run after each sweep on the same schedule: stores whose POS stays down
    /// paused with their partners, resumed when it answers.
    pub watch: crate::usecases::pos_watch::PosWatch,
}

/// What one run did, by order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Stranded orders re-driven: an execution started to end each.
    pub redriven: Vec<OrderId>,
    /// Stranded orders left to an operator (re-driven [`MAX_SWEEPS`] times, or with nothing
    /// to resume from).
    pub left: Vec<OrderId>,
    /// Found in the index but ended or moved on when read (the index lags the table).
    pub skipped: usize,
    /// Shards or orders whose reads or starts failed, and stores the POS watch could not
    /// settle; the next run tries them again.
    pub errors: usize,
    /// What the POS watch did.
    pub pos: crate::usecases::pos_watch::WatchReport,
}

enum Swept {
    Redriven,
    Left,
    Skipped,
    Error,
}

impl Sweeper {
    /// One run: every shard's overdue orders, each read consistently, re-driven or left; then
    /// the POS watch.
    pub async fn sweep(&self) -> SweepReport {
        let now = self.clock.now();
        let before = now - self.grace;
        let mut report = SweepReport::default();
        for shard in 0..SWEEP_SHARDS {
            let ids = match self.orders.overdue(shard, before, PER_SHARD).await {
                Ok(ids) => ids,
                Err(e) => {
                    error!(shard, error = %e, "overdue orders not read");
                    report.errors += 1;
                    continue;
                }
            };
            for id in ids {
                match self.one(&id, now, before).await {
                    Swept::Redriven => report.redriven.push(id),
                    Swept::Left => report.left.push(id),
                    Swept::Skipped => report.skipped += 1,
                    Swept::Error => report.errors += 1,
                }
            }
        }
        if !report.redriven.is_empty() || !report.left.is_empty() {
            warn!(
                redriven = report.redriven.len(),
                left = report.left.len(),
                "stranded orders found"
            );
        }
        report.pos = self.watch.run().await;
        report.errors += report.pos.errors.len();
        report
    }

    async fn one(&self, id: &OrderId, now: DateTime<Utc>, before: DateTime<Utc>) -> Swept {
        let record = match self.orders.get(id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Swept::Skipped,
            Err(e) => {
                error!(order_id = %id, error = %e, "stranded order not read");
                return Swept::Error;
            }
        };
        if !record.status.is_open() || record.open_until.is_none_or(|until| until >= before) {
            return Swept::Skipped;
        }
        let stranded = |redriven| Metric::OrderStranded {
            status: record.status,
            redriven,
        };
        if record.sweeps >= MAX_SWEEPS {
            self.metrics.record(stranded(false));
            error!(order_id = %id, status = %record.status, sweeps = record.sweeps, "order still stranded after its re-drives: left for an operator");
            return Swept::Left;
        }
        let Some(input) = resume_input(&record, now) else {
            self.metrics.record(stranded(false));
            error!(order_id = %id, status = %record.status, "stranded order has no received event to resume from: left for an operator");
            return Swept::Left;
        };
        let name = execution_name(id, record.sweeps + 1);
        match self.starter.start(&name, &input).await {
            Ok(Started::New | Started::AlreadyExists) => {}
            Err(e) => {
                // Not marked: the next run finds it again.
                error!(order_id = %id, error = %e, "stranded order not re-driven");
                return Swept::Error;
            }
        }
        match self
            .orders
            // Its deadline becomes now: the next re-drive, if it is still open, a grace later.
            .mark_swept(id, record.sweeps, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => info!(order_id = %id, "order moved on while being re-driven"),
            // The execution started; a repeat next run finds it by name.
            Err(e) => warn!(order_id = %id, error = %e, "sweep not recorded"),
        }
        self.metrics.record(stranded(true));
        warn!(order_id = %id, status = %record.status, execution = %name, "stranded order re-driven");
        Swept::Redriven
    }
}

/// The Standard execution's name for the `n`th sweep of an order: Step Functions names are at
/// most 80 characters of `[A-Za-z0-9-_]` and an order id may hold other characters, so the id
/// is hashed (as the handover's names are).
pub fn execution_name(id: &OrderId, n: u32) -> String {
    let hash = hex::encode(Sha256::digest(id.as_str().as_bytes()));
    format!("sweep-{n}-{}", &hash[..40])
}

/// The Standard workflow's input that ends `record`'s order: the state the workflow would have
/// at the step that ends it, entered through its handover choice. An adapted order (it has a
/// handle) is voided in the POS, whatever it holds under the order's id, and cancelled with the
/// partner; one never adapted is denied. `None` without the received event (a record written
/// before it was kept).
pub fn resume_input(record: &OrderRecord, now: DateTime<Utc>) -> Option<Value> {
    let received = record.received.clone()?;
    let late_minutes = record
        .open_until
        .map_or(0, |until| (now - until).num_minutes());
    let message = format!(
        "the order was still {} {late_minutes} minutes past its deadline",
        record.status
    );
    let cause = json!({ "errorType": names::ORDER_STRANDED, "errorMessage": message });
    let at = if record.order.is_some() {
        "Void in POS"
    } else {
        "Deny"
    };
    let mut input = json!({
        "handover": { "at": at, "code": "sweep", "from": "sweeper" },
        "orderId": record.order_id,
        "owner": record.created_by.clone().unwrap_or_default(),
        "received": received,
        "error": { "Error": names::ORDER_STRANDED, "Cause": cause.to_string() },
    });
    if let Some(handle) = &record.order {
        input["adapted"] = json!({ "order": handle });
    }
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{FixedClock, InMemoryOrders, RecordingMetrics};
    use crate::ports::{NewOrder, RecordingStarter, StatusUpdate, sweep_shard};
    use order_domain::{OrderStatus, Partner, PartnerOrderId};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    struct World {
        sweeper: Sweeper,
        orders: Arc<InMemoryOrders>,
        starter: Arc<RecordingStarter>,
        metrics: Arc<RecordingMetrics>,
        clock: Arc<FixedClock>,
    }

    fn world() -> World {
        let orders = Arc::new(InMemoryOrders::default());
        let starter = Arc::new(RecordingStarter::default());
        let metrics = Arc::new(RecordingMetrics::default());
        let clock = Arc::new(FixedClock::at(t0()));
        World {
            sweeper: Sweeper {
                orders: orders.clone(),
                starter: starter.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
                grace: Duration::minutes(90),
                watch: crate::usecases::pos_watch::tests::quiet_watch(clock.clone()),
            },
            orders,
            starter,
            metrics,
            clock,
        }
    }

    async fn order(w: &World, n: &str) -> OrderId {
        let partner_order_id = PartnerOrderId::parse(n).unwrap_or_else(|e| panic!("{e}"));
        let id = OrderId::for_partner_order(Partner::DoorDash, &partner_order_id);
        w.orders
            .create(NewOrder {
                order_id: id.clone(),
                partner: Partner::DoorDash,
                partner_order_id,
                correlation_id: format!("c-{n}"),
                created_by: Some(format!("arn:aws:states:us-east-1:1:express:orders:{n}")),
                at: t0(),
                received: Some(json!({ "metadata": { "correlationId": format!("c-{n}") } })),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        id
    }

    #[tokio::test]
    async fn an_order_open_past_its_deadline_and_grace_is_ended_through_the_standard_workflow() {
        let w = world();
        let stranded = order(&w, "dd-stranded").await;
        // Not yet: 89 minutes past its creation.
        w.clock.set(t0() + Duration::minutes(89));
        assert_eq!(w.sweeper.sweep().await, SweepReport::default());
        w.clock.set(t0() + Duration::minutes(91));
        let report = w.sweeper.sweep().await;
        assert_eq!(report.redriven, std::slice::from_ref(&stranded));
        let started = w.starter.started();
        assert_eq!(started.len(), 1);
        let (name, input) = &started[0];
        assert_eq!(name, &execution_name(&stranded, 1));
        assert!(name.len() <= 80, "{name}");
        // Never adapted: denied, with the error the deny step reads and the owner the
        // failure record's condition checks.
        assert_eq!(input["handover"]["at"], "Deny");
        assert_eq!(input["error"]["Error"], names::ORDER_STRANDED);
        assert_eq!(
            input["owner"],
            "arn:aws:states:us-east-1:1:express:orders:dd-stranded"
        );
        assert_eq!(
            input["received"]["metadata"]["correlationId"],
            "c-dd-stranded"
        );
        assert_eq!(
            w.metrics.all(),
            [Metric::OrderStranded {
                status: OrderStatus::Received,
                redriven: true
            }]
        );
        // The sweep moved its deadline to now: the next run leaves it to the execution just
        // started, for a grace period.
        assert!(w.sweeper.sweep().await.redriven.is_empty());
        assert_eq!(w.starter.started().len(), 1);
    }

    #[tokio::test]
    async fn an_accepted_order_waits_for_its_send_by_and_is_voided_and_cancelled() {
        let w = world();
        let held = order(&w, "dd-held").await;
        let send_by = t0() + Duration::minutes(40);
        let handle: crate::ports::OrderHandle = serde_json::from_value(json!({
            "id": held, "partner": "doordash", "partnerOrderId": "dd-held",
            "partnerStoreId": "s-1", "storeId": "store-1", "lines": 1,
            "document": { "key": "orders/x", "sha256": "00", "bytes": 2 }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        w.orders
            .transition(
                &held,
                OrderStatus::Accepted,
                t0(),
                StatusUpdate {
                    order: Some(handle),
                    open_until: Some(send_by),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.orders
            .transition(&held, OrderStatus::Held, t0(), StatusUpdate::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Ninety minutes past its creation, but not past its send-by and grace.
        w.clock.set(t0() + Duration::minutes(95));
        assert!(w.sweeper.sweep().await.redriven.is_empty());
        w.clock.set(send_by + Duration::minutes(91));
        assert_eq!(
            w.sweeper.sweep().await.redriven,
            std::slice::from_ref(&held)
        );
        let (_, input) = &w.starter.started()[0];
        assert_eq!(input["handover"]["at"], "Void in POS");
        assert_eq!(input["adapted"]["order"]["storeId"], "store-1");
    }

    #[tokio::test]
    async fn ended_orders_are_not_swept_and_a_stubborn_one_is_left_to_an_operator() {
        let w = world();
        let ended = order(&w, "dd-ended").await;
        let stubborn = order(&w, "dd-stubborn").await;
        w.orders
            .transition(&ended, OrderStatus::Failed, t0(), StatusUpdate::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut redriven = 0;
        for round in 1..=6 {
            w.clock.set(t0() + Duration::minutes(91 * round));
            let report = w.sweeper.sweep().await;
            assert!(!report.redriven.contains(&ended) && !report.left.contains(&ended));
            redriven += report.redriven.len();
        }
        assert_eq!(
            redriven, MAX_SWEEPS as usize,
            "re-driven {MAX_SWEEPS} times"
        );
        let report = w.sweeper.sweep().await;
        assert_eq!(report.left, std::slice::from_ref(&stubborn));
        let names: Vec<String> = w.starter.started().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            (1..=MAX_SWEEPS)
                .map(|n| execution_name(&stubborn, n))
                .collect::<Vec<_>>()
        );
        assert!(sweep_shard(&stubborn) < SWEEP_SHARDS);
    }

    #[tokio::test]
    async fn a_refused_start_is_tried_again_next_run() {
        let w = world();
        let id = order(&w, "dd-throttled").await;
        w.clock.set(t0() + Duration::minutes(91));
        w.starter.throttle_next(1);
        let report = w.sweeper.sweep().await;
        assert_eq!((report.redriven.len(), report.errors), (0, 1));
        assert_eq!(w.sweeper.sweep().await.redriven, [id]);
    }
}
