//! The use cases chained as the workflow chains them, on the in-memory twins: the paths an
//! order can take, and the races between them (duplicates, courier vs timeout, cancellation vs
//! POS). The end-to-end suite runs the same paths through the real workflow and binaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use idempotency::{Config, Idempotency, IdempotencyStore, InMemoryStore};
use order_domain::{
    Catalog, HoldPolicy, OrderId, OrderStatus, Partner, PosOrderId, RejectionReason, StoreId,
};
use order_events::{Detail, OrderCancellationRequested, OutboundEvent};
use partners::{CancelReason, PartnerAction};
use pipeline::PipelineError;
use pipeline::errors::names;
use pipeline::io::*;
use pipeline::memory::*;
use pipeline::ports::*;
use pipeline::usecases::accept::PartnerConversation;
use pipeline::usecases::adapt::Adapt;
use pipeline::usecases::dedup::Dedup;
use pipeline::usecases::hold::HoldKeeper;
use pipeline::usecases::intake::{Intake, IntakeConfig, WebhookRequest, WebhookSecrets};
use pipeline::usecases::pos::PosSender;
use pipeline::usecases::release::Releaser;
use serde_json::{Value, json};

const SECRET: &str = "flow-secret-of-24-bytes";

fn t0() -> DateTime<Utc> {
    "2026-11-22T18:00:00Z".parse().unwrap()
}

fn raw(rel: &str) -> Vec<u8> {
    let path = format!("{}/../../events/partners/{rel}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    serde_json::to_vec(&v).unwrap()
}

struct World {
    clock: Arc<FixedClock>,
    orders: Arc<InMemoryOrders>,
    held: Arc<InMemoryHeld>,
    publisher: Arc<RecordingPublisher>,
    callbacks: Arc<RecordingCallbacks>,
    partners: Arc<InMemoryPartnerApi>,
    pos_api: Arc<dyn PosApi>,
    pos: Arc<InMemoryPos>,
    metrics: Arc<RecordingMetrics>,
    idempotency: Arc<InMemoryStore>,
    documents: Arc<InMemoryDocuments>,
    catalog: Arc<InMemoryCatalog>,
    pos_health: Arc<InMemoryPosHealth>,
}

impl World {
    fn new() -> Self {
        let pos = Arc::new(InMemoryPos::default());
        let partners = Arc::new(InMemoryPartnerApi::default());
        partners
            .load_fixtures(std::path::Path::new(&format!(
                "{}/../../events/partners",
                env!("CARGO_MANIFEST_DIR")
            )))
            .unwrap();
        Self {
            clock: Arc::new(FixedClock::at(t0())),
            orders: Arc::default(),
            held: Arc::default(),
            publisher: Arc::default(),
            callbacks: Arc::default(),
            partners,
            pos_api: pos.clone(),
            pos,
            metrics: Arc::default(),
            idempotency: Arc::default(),
            documents: Arc::default(),
            catalog: Arc::new(InMemoryCatalog::embedded().unwrap()),
            pos_health: Arc::default(),
        }
    }

    fn intake(&self) -> Intake {
        Intake {
            catalog: self.catalog.clone(),
            secrets: WebhookSecrets::new(
                Partner::ALL
                    .into_iter()
                    .map(|p| (p, SECRET.to_owned()))
                    .collect::<HashMap<_, _>>(),
            ),
            publisher: self.publisher.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            config: IntakeConfig::default(),
            documents: self.documents.clone(),
        }
    }

    fn dedup(&self) -> Dedup {
        Dedup {
            idempotency: Idempotency::new(self.idempotency.clone(), Config::default()),
            orders: self.orders.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        }
    }

    fn adapt(&self) -> Adapt {
        Adapt {
            catalog: self.catalog.clone(),
            partners: self.partners.clone(),
            clock: self.clock.clone(),
            documents: self.documents.clone(),
        }
    }

    fn conversation(&self) -> PartnerConversation {
        PartnerConversation {
            catalog: self.catalog.clone(),
            partners: self.partners.clone(),
            orders: self.orders.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            policy: HoldPolicy::default(),
            documents: self.documents.clone(),
        }
    }

    fn keeper(&self) -> HoldKeeper {
        HoldKeeper {
            held: self.held.clone(),
            orders: self.orders.clone(),
            publisher: self.publisher.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        }
    }

    fn sender(&self) -> PosSender {
        PosSender {
            pos: self.pos_api.clone(),
            orders: self.orders.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            documents: self.documents.clone(),
            health: self.pos_health.clone(),
        }
    }

    fn releaser(&self) -> Releaser {
        Releaser {
            catalog: self.catalog.clone(),
            held: self.held.clone(),
            orders: self.orders.clone(),
            callbacks: self.callbacks.clone(),
            publisher: self.publisher.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            pos: self.sender(),
            conversation: self.conversation(),
        }
    }

    /// Sends a signed webhook and returns the event intake published.
    async fn webhook(&self, partner: Partner, rel: &str) -> OutboundEvent {
        let body = raw(rel);
        let headers = partners::auth::sign(partner, &body, SECRET, self.clock.now(), "n-1");
        let before = self.publisher.events().len();
        let r = self
            .intake()
            .handle(WebhookRequest {
                partner: partner.as_str(),
                headers: &headers,
                body: &body,
            })
            .await;
        assert_eq!(
            r.status,
            partners::acknowledgement(partner).status,
            "{rel}: {}",
            r.body
        );
        self.publisher.events()[before..][0].clone()
    }

    async fn received(&self, partner: Partner, rel: &str) -> Value {
        json!({ "received": self.webhook(partner, rel).await.detail })
    }

    fn status(&self, id: &str) -> OrderStatus {
        self.orders
            .all()
            .into_iter()
            .find(|r| r.order_id.as_str() == id)
            .unwrap()
            .status
    }

    fn history(&self, id: &str) -> Vec<OrderStatus> {
        let r = self
            .orders
            .all()
            .into_iter()
            .find(|r| r.order_id.as_str() == id)
            .unwrap();
        r.history.into_iter().map(|c| c.status).collect()
    }

    /// dedup → adapt, as the workflow's first two steps: the order and its correlation id.
    async fn adapted(&self, partner: Partner, rel: &str) -> (OrderHandle, String) {
        let input = self.received(partner, rel).await;
        let d = self
            .dedup()
            .handle(&input, t0() + TimeDelta::seconds(30))
            .await
            .unwrap();
        assert_eq!(d.outcome, DedupOutcome::New);
        let order = self
            .adapt()
            .handle(serde_json::from_value(input).unwrap())
            .await
            .unwrap()
            .order;
        (order, d.correlation_id)
    }

    /// dedup → adapt → accept, as the workflow's first three steps.
    async fn accepted(
        &self,
        partner: Partner,
        rel: &str,
    ) -> (OrderHandle, Option<HoldPlan>, String) {
        let (order, cid) = self.adapted(partner, rel).await;
        let accepted = self.conversation().accept(&order, &cid).await.unwrap();
        (order, accepted.hold, cid)
    }
}

fn task(e: &PipelineError) -> TaskError {
    TaskError {
        error: e.name().to_owned(),
        cause: json!({ "errorType": e.name(), "errorMessage": e.message_with_causes() })
            .to_string(),
    }
}

#[tokio::test]
async fn an_immediate_order_reaches_the_pos_exactly_once() {
    let w = World::new();
    let (order, hold, cid) = w.accepted(Partner::ChainApp, "app/order.json").await;
    assert_eq!(hold, None);
    let sent = w.sender().send(&order, &cid).await.unwrap();
    // A retry of the same step (lost answer) finds the same POS order.
    let again = w.sender().send(&order, &cid).await.unwrap();
    assert_eq!(sent.pos_order_id, again.pos_order_id);
    assert_eq!(w.pos.orders().len(), 1);
    assert_eq!(sent.outcome.detail_type, "Order Sent To POS");
    assert_eq!(
        w.history(order.id.as_str()),
        vec![
            OrderStatus::Received,
            OrderStatus::Accepted,
            OrderStatus::SentToPos
        ]
    );
    assert_eq!(w.publisher.detail_types(), vec!["Order Received"]);
    let calls = w.partners.calls();
    assert_eq!(calls.len(), 1);
    // Sent now to S1001, which prepares in 12 minutes: told ready in 12.
    assert_eq!(
        calls[0].action,
        PartnerAction::Accept {
            ready_at: w.clock.now() + chrono::TimeDelta::minutes(12),
            wait_minutes: 12
        }
    );
}

/// The catalogue as it is now, with store `id` changed by `change`.
fn with_store(w: &World, id: &str, change: impl FnOnce(&mut order_domain::Store)) -> Catalog {
    let c = w.catalog.current();
    let mut stores = c.stores().to_vec();
    change(stores.iter_mut().find(|s| s.id.as_str() == id).unwrap());
    Catalog::new(stores, c.menus().cloned().collect()).unwrap()
}

#[tokio::test]
async fn a_pause_denies_the_next_order_leaves_an_accepted_one_alone_and_a_resume_lifts_it() {
    let w = World::new();
    let (accepted, _, cid) = w.accepted(Partner::ChainApp, "app/order.json").await;
    // The store pauses after the first order was accepted.
    w.catalog.replace(with_store(&w, "S1001", |s| {
        s.status = order_domain::StoreStatus::Paused;
        s.pause = Some(order_domain::Pause {
            reason: "fryer down".to_owned(),
            until: None,
        });
    }));
    // The accepted order still goes to the POS.
    w.sender().send(&accepted, &cid).await.unwrap();
    assert_eq!(w.pos.orders().len(), 1);
    // The next order for the store is refused at adapt, with the reason.
    let input = w.received(Partner::ChainApp, "app/order-new.json").await;
    w.dedup()
        .handle(&input, t0() + TimeDelta::seconds(30))
        .await
        .unwrap();
    let refused = w
        .adapt()
        .handle(serde_json::from_value(input.clone()).unwrap())
        .await
        .unwrap_err();
    let PipelineError::Rejected(r) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(r.reason, RejectionReason::StorePaused);
    assert!(r.detail.contains("fryer down"), "{}", r.detail);
    // Resumed: the same order goes through adapt and accept.
    w.catalog.replace(with_store(&w, "S1001", |s| {
        s.status = order_domain::StoreStatus::Open;
        s.pause = None;
    }));
    let order = w
        .adapt()
        .handle(serde_json::from_value(input).unwrap())
        .await
        .unwrap()
        .order;
    w.conversation().accept(&order, "cid-2").await.unwrap();
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Accepted);
}

#[tokio::test]
async fn a_pause_after_adapt_is_seen_by_accept() {
    let w = World::new();
    let (order, cid) = w.adapted(Partner::ChainApp, "app/order.json").await;
    w.catalog.replace(with_store(&w, "S1001", |s| {
        s.status = order_domain::StoreStatus::Paused;
        s.pause = Some(order_domain::Pause {
            reason: "too busy".to_owned(),
            until: Some(t0() + TimeDelta::minutes(20)),
        });
    }));
    let refused = w.conversation().accept(&order, &cid).await.unwrap_err();
    let PipelineError::Rejected(r) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(r.reason, RejectionReason::StorePaused);
    assert!(
        w.partners.calls().is_empty(),
        "accept told the partner nothing yet"
    );
}

/// The in-memory idempotency store, except that no claim completes until `expected` claims
/// have been tried: the winner's operation is still running when the others arrive, as when
/// three deliveries land on three Lambda containers at once.
struct OverlappingClaims {
    inner: InMemoryStore,
    tried: tokio::sync::watch::Sender<usize>,
    expected: usize,
}

#[async_trait]
impl idempotency::IdempotencyStore for OverlappingClaims {
    async fn put_in_progress(
        &self,
        record: &idempotency::Record,
        now: DateTime<Utc>,
    ) -> Result<idempotency::Claim, idempotency::StoreError> {
        let claim = self.inner.put_in_progress(record, now).await;
        self.tried.send_modify(|n| *n += 1);
        claim
    }

    async fn complete(
        &self,
        key: &idempotency::IdempotencyKey,
        result: &Value,
        expires_at: i64,
    ) -> Result<(), idempotency::StoreError> {
        let mut tried = self.tried.subscribe();
        tried.wait_for(|n| *n >= self.expected).await.unwrap();
        self.inner.complete(key, result, expires_at).await
    }

    async fn delete(
        &self,
        key: &idempotency::IdempotencyKey,
    ) -> Result<(), idempotency::StoreError> {
        self.inner.delete(key).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn the_same_order_delivered_three_times_concurrently_is_processed_once() {
    let w = Arc::new(World::new());
    let input = w.received(Partner::DoorDash, "doordash/order.json").await;
    let store = Arc::new(OverlappingClaims {
        inner: InMemoryStore::default(),
        tried: tokio::sync::watch::channel(0).0,
        expected: 3,
    });
    let dedup = |w: &World| Dedup {
        idempotency: Idempotency::new(store.clone(), Config::default()),
        ..w.dedup()
    };
    let runs = (0..3).map(|_| {
        let (dedup, input) = (dedup(&w), input.clone());
        tokio::spawn(async move { dedup.handle(&input, t0() + TimeDelta::seconds(30)).await })
    });
    // The winner waits for the others' claims: if they never try, fail instead of hanging.
    let results: Vec<_> = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        futures::future::join_all(runs),
    )
    .await
    .expect("three deliveries tried their claims within 10 s")
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let new = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.outcome == DedupOutcome::New))
        .count();
    assert_eq!(new, 1, "{results:?}");
    // The other two arrived while the winner's claim was in progress.
    let in_progress: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(in_progress.len(), 2, "{results:?}");
    for e in in_progress {
        assert_eq!(e.name(), names::ORDER_IN_PROGRESS, "{e}");
        // The workflow retries OrderInProgress; the retry finds the finished claim.
        let retry = dedup(&w)
            .handle(&input, t0() + TimeDelta::seconds(31))
            .await
            .unwrap();
        assert_eq!(retry.outcome, DedupOutcome::Duplicate);
    }
    assert_eq!(w.orders.all().len(), 1);
}

/// The held-orders table, with a partner's cancellation landing in the window between the
/// order becoming `Held` and its token being stored: release-order flags the order and finds
/// no token to fail, which is all it can do then.
struct CancelledWhileStoring {
    inner: Arc<InMemoryHeld>,
    orders: Arc<InMemoryOrders>,
}

#[async_trait]
impl HeldOrders for CancelledWhileStoring {
    async fn put(&self, held: &HeldOrder) -> Result<(), RepoError> {
        self.orders
            .request_cancellation(&held.order_id, Some("changed plans"), t0())
            .await?;
        self.inner.put(held).await
    }
    async fn take(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        self.inner.take(id).await
    }
    async fn get(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        self.inner.get(id).await
    }
    async fn releasable(
        &self,
        store: &StoreId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldOrder>, RepoError> {
        self.inner.releasable(store, now).await
    }
}

/// Found by review (issue 8): that cancellation waited for the end of the hold.
#[tokio::test]
async fn a_cancellation_while_the_hold_is_being_stored_fails_the_hold_at_once() {
    let w = World::new();
    let (order, hold, cid) = w
        .accepted(Partner::DoorDash, "doordash/order-scheduled.json")
        .await;
    let keeper = HoldKeeper {
        held: Arc::new(CancelledWhileStoring {
            inner: w.held.clone(),
            orders: w.orders.clone(),
        }),
        ..w.keeper()
    };
    let err = keeper
        .hold(
            &order.id,
            &order.store_id,
            &hold.unwrap(),
            "tok-window",
            &cid,
        )
        .await
        .unwrap_err();
    assert_eq!(err.name(), names::ORDER_CANCELLED);
    assert!(w.held.all().is_empty(), "the token row was taken back");
    assert!(
        !w.publisher
            .detail_types()
            .contains(&"Order Held".to_owned()),
        "nothing announced a hold that ended at once"
    );
}

/// Found by the chaos run: dedup was killed after its claim completed but before it answered;
/// the workflow's retry of the same step found the execution's own claim and ended the order
/// as a duplicate of itself, leaving it `Received` for good.
#[tokio::test]
async fn a_retry_of_the_same_execution_after_a_lost_answer_is_still_the_new_order() {
    let w = World::new();
    let mut input = w.received(Partner::ChainApp, "app/order.json").await;
    input["executionId"] = json!("arn:aws:states:us-east-1:1:execution:orders:e-1");
    let deadline = t0() + TimeDelta::seconds(30);
    let first = w.dedup().handle(&input, deadline).await.unwrap();
    assert_eq!(first.outcome, DedupOutcome::New);
    // The answer was lost; the same execution retries the step.
    let retry = w.dedup().handle(&input, deadline).await.unwrap();
    assert_eq!(retry.outcome, DedupOutcome::New);
    assert!(
        retry.event.is_none(),
        "no Order Duplicate Ignored for its own retry"
    );
    // A second execution for the same delivery (the bus delivered it twice) is a duplicate.
    input["executionId"] = json!("arn:aws:states:us-east-1:1:execution:orders:e-2");
    let other = w.dedup().handle(&input, deadline).await.unwrap();
    assert_eq!(other.outcome, DedupOutcome::Duplicate);
    assert_eq!(w.orders.all().len(), 1);
}

/// The same execution's retry when the killed attempt still held the claim in progress (and
/// may or may not have created the record): it takes over at once instead of waiting out the
/// dead invocation's deadline.
#[tokio::test]
async fn a_retry_of_the_same_execution_takes_over_its_crashed_claim() {
    let w = World::new();
    let mut input = w.received(Partner::ChainApp, "app/order.json").await;
    input["executionId"] = json!("arn:aws:states:us-east-1:1:execution:orders:e-1");
    let key = pipeline::usecases::dedup::key_spec().key(&input).unwrap();
    let deadline = t0() + TimeDelta::seconds(30);
    // The killed attempt claimed the key and created the record, then died.
    w.idempotency
        .put_in_progress(
            &idempotency::Record {
                key: key.clone(),
                status: idempotency::RecordStatus::InProgress,
                expires_at: (t0() + TimeDelta::hours(48)).timestamp(),
                in_progress_expires_at_ms: Some(deadline.timestamp_millis()),
                payload_hash: pipeline::usecases::dedup::key_spec().payload_hash(&input),
                result: None,
                claimant: Some("arn:aws:states:us-east-1:1:execution:orders:e-1".to_owned()),
            },
            t0(),
        )
        .await
        .unwrap();
    let dedup_input: DedupInput = serde_json::from_value(input.clone()).unwrap();
    let data = &dedup_input.received.data;
    w.orders
        .create(NewOrder {
            order_id: OrderId::for_partner_order(data.partner, &data.partner_order_id),
            partner: data.partner,
            partner_order_id: data.partner_order_id.clone(),
            correlation_id: dedup_input.received.metadata.correlation_id.clone(),
            created_by: Some("arn:aws:states:us-east-1:1:execution:orders:e-1".to_owned()),
            at: t0(),
            received: None,
        })
        .await
        .unwrap();
    let retry = w.dedup().handle(&input, deadline).await.unwrap();
    assert_eq!(retry.outcome, DedupOutcome::New);
    // Another execution still waits for that claim, or finds it done.
    input["executionId"] = json!("arn:aws:states:us-east-1:1:execution:orders:e-2");
    let other = w.dedup().handle(&input, deadline).await.unwrap();
    assert_eq!(other.outcome, DedupOutcome::Duplicate);
}

fn unclaimed(input: &Value, error: &str) -> AcceptInput {
    unclaimed_by(
        input,
        error,
        "arn:aws:states:us-east-1:1:execution:orders:e-unclaimed",
    )
}

fn unclaimed_by(input: &Value, error: &str, execution: &str) -> AcceptInput {
    AcceptInput::DenyUnclaimed {
        received: serde_json::from_value(input["received"].clone()).unwrap(),
        error: TaskError {
            error: error.to_owned(),
            cause: json!({ "errorType": error, "errorMessage": "retries spent" }).to_string(),
        },
        execution_id: execution.to_owned(),
    }
}

fn execution(input: &Value, name: &str) -> Value {
    let mut input = input.clone();
    input["executionId"] = json!(format!(
        "arn:aws:states:us-east-1:1:execution:orders:{name}"
    ));
    input
}

/// Found by review (issue 8): ownership went by correlation id, which deliveries share
/// (EventBridge delivers an event twice, a replay repeats it). Two executions of one event:
/// whichever makes the record owns the order, in either order, and the other tells no one.
#[tokio::test]
async fn two_executions_of_one_event_never_both_answer_the_partner() {
    // The owner claims first; its twin's dedup failed for good and settles unclaimed.
    let w = World::new();
    let event = w.received(Partner::DoorDash, "doordash/order.json").await;
    let first = w
        .dedup()
        .handle(&execution(&event, "e-1"), w.clock.now())
        .await
        .unwrap();
    assert_eq!(first.outcome, DedupOutcome::New);
    let twin = outcome(
        w.conversation()
            .handle(&unclaimed_by(
                &event,
                names::STORAGE_UNAVAILABLE,
                "arn:aws:states:us-east-1:1:execution:orders:e-2",
            ))
            .await
            .unwrap(),
    );
    assert_eq!(twin.detail_type, "Order Duplicate Ignored");
    assert!(w.partners.calls().is_empty(), "the twin told no one");

    // The other way round: the twin settles first (and tells the partner no), then the
    // execution holding the claim finds the twin's record and is the duplicate.
    let w = World::new();
    let event = w.received(Partner::DoorDash, "doordash/order.json").await;
    let twin = outcome(
        w.conversation()
            .handle(&unclaimed_by(
                &event,
                names::STORAGE_UNAVAILABLE,
                "arn:aws:states:us-east-1:1:execution:orders:e-2",
            ))
            .await
            .unwrap(),
    );
    assert_eq!(twin.detail_type, "Order Failed");
    let late = w
        .dedup()
        .handle(&execution(&event, "e-1"), w.clock.now())
        .await
        .unwrap();
    assert_eq!(late.outcome, DedupOutcome::Duplicate);
    let told: Vec<_> = w.partners.calls().into_iter().map(|c| c.action).collect();
    assert!(
        matches!(told.as_slice(), [PartnerAction::DenyFailure { .. }]),
        "{told:?}"
    );
}

/// Found by review (issue 9): a replay after the dedup record expired (48 h; the archive keeps
/// 30 days) carries the first delivery's correlation id; it must still be a duplicate.
#[tokio::test]
async fn a_replay_after_the_dedup_record_expired_is_a_duplicate_of_its_own_event() {
    let w = World::new();
    let event = w.received(Partner::ChainApp, "app/order.json").await;
    assert_eq!(
        w.dedup()
            .handle(&execution(&event, "e-1"), w.clock.now())
            .await
            .unwrap()
            .outcome,
        DedupOutcome::New
    );
    w.clock.advance(TimeDelta::days(3));
    let replay = w
        .dedup()
        .handle(&execution(&event, "e-replay"), w.clock.now())
        .await
        .unwrap();
    assert_eq!(replay.outcome, DedupOutcome::Duplicate);
    // The original execution retrying its step is still the owner.
    let again = w
        .dedup()
        .handle(&execution(&event, "e-1"), w.clock.now())
        .await
        .unwrap();
    assert_eq!(again.outcome, DedupOutcome::New);
}

fn outcome(o: AcceptOutput) -> OutboundEvent {
    match o {
        AcceptOutput::Outcome(o) => o.outcome,
        other => panic!("not an outcome: {other:?}"),
    }
}

/// Found by the chaos review (issue 8): a delivery whose dedup failed for good ended without
/// telling the partner. With no record of the order, the failing delivery makes it, so the
/// order is its own: the partner is told no, the record ends Failed, and a later delivery of
/// the same order is a duplicate rather than a second, contradicting answer.
#[tokio::test]
async fn a_delivery_whose_dedup_failed_for_good_tells_the_partner_when_the_order_is_its_own() {
    let w = World::new();
    let first = w.received(Partner::DoorDash, "doordash/order.json").await;
    let out = outcome(
        w.conversation()
            .handle(&unclaimed(&first, names::STORAGE_UNAVAILABLE))
            .await
            .unwrap(),
    );
    assert_eq!(out.detail_type, "Order Failed");
    assert_eq!(out.detail["data"]["partnerNotified"], true);
    let id = out.detail["data"]["orderId"].as_str().unwrap().to_owned();
    assert_eq!(w.history(&id), [OrderStatus::Received, OrderStatus::Failed]);
    let told: Vec<_> = w.partners.calls().into_iter().map(|c| c.action).collect();
    assert!(
        matches!(told.as_slice(), [PartnerAction::DenyFailure { .. }]),
        "{told:?}"
    );
    // The partner delivers the same order again: the record settles it as a duplicate.
    let again = w.received(Partner::DoorDash, "doordash/order.json").await;
    assert_ne!(
        again["received"]["metadata"]["correlationId"],
        first["received"]["metadata"]["correlationId"]
    );
    let d = w.dedup().handle(&again, w.clock.now()).await.unwrap();
    assert_eq!(d.outcome, DedupOutcome::Duplicate);
    assert_eq!(w.partners.calls().len(), 1, "no second answer");
    // The failing delivery's own step run again (its answer lost) tells the same thing again.
    let replay = outcome(
        w.conversation()
            .handle(&unclaimed(&first, names::STORAGE_UNAVAILABLE))
            .await
            .unwrap(),
    );
    assert_eq!(replay.detail_type, "Order Failed");
    assert!(
        w.partners
            .calls()
            .iter()
            .all(|c| matches!(c.action, PartnerAction::DenyFailure { .. }))
    );
    assert_eq!(w.status(&id), OrderStatus::Failed);
}

/// The other side of the same settlement: the order's record was made by another delivery,
/// which owns the order and tells the partner itself; the failing delivery is a duplicate and
/// tells no one, whatever its error.
#[tokio::test]
async fn a_delivery_whose_dedup_failed_for_good_leaves_another_deliverys_order_alone() {
    let w = World::new();
    let (order, _, _) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let calls = w.partners.calls().len();
    for error in [
        names::ORDER_IN_PROGRESS,
        names::STORAGE_UNAVAILABLE,
        "Lambda.Unknown",
    ] {
        let late = w.received(Partner::ChainApp, "app/order.json").await;
        let out = outcome(
            w.conversation()
                .handle(&unclaimed(&late, error))
                .await
                .unwrap(),
        );
        assert_eq!(out.detail_type, "Order Duplicate Ignored", "{error}");
        assert_eq!(out.detail["data"]["orderId"], order.id.as_str());
        assert_eq!(w.partners.calls().len(), calls, "{error}: nobody told");
        assert_eq!(
            w.status(order.id.as_str()),
            OrderStatus::Accepted,
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_repeat_after_the_dedup_record_expired_is_still_a_duplicate() {
    let w = World::new();
    let input = w.received(Partner::Grubhub, "grubhub/order.json").await;
    assert_eq!(
        w.dedup().handle(&input, t0()).await.unwrap().outcome,
        DedupOutcome::New
    );
    w.clock.advance(TimeDelta::days(3));
    let later = w.dedup().handle(&input, w.clock.now()).await.unwrap();
    assert_eq!(later.outcome, DedupOutcome::Duplicate);
}

#[tokio::test]
async fn a_scheduled_order_is_held_then_released_by_time() {
    let w = World::new();
    let (order, hold, cid) = w
        .accepted(Partner::DoorDash, "doordash/order-scheduled.json")
        .await;
    let plan = hold.expect("a scheduled order is held");
    assert_eq!(plan.release_at.to_rfc3339(), "2026-11-22T21:18:00+00:00");
    w.keeper()
        .hold(&order.id, &order.store_id, &plan, "tok-1", &cid)
        .await
        .unwrap();
    assert_eq!(w.held.all().len(), 1);
    // The workflow's TimeoutSecondsPath fires; it releases by time.
    w.clock.set(plan.release_at);
    let released = w
        .keeper()
        .expire(&order.id, &order.store_id, &cid)
        .await
        .unwrap();
    assert_eq!(released.released_by, order_domain::ReleasedBy::Time);
    assert!(w.held.all().is_empty());
    w.sender().send(&order, &cid).await.unwrap();
    assert_eq!(
        w.history(order.id.as_str()),
        vec![
            OrderStatus::Received,
            OrderStatus::Accepted,
            OrderStatus::Held,
            OrderStatus::Released,
            OrderStatus::SentToPos
        ]
    );
    assert!(
        w.publisher
            .detail_types()
            .ends_with(&["Order Held".to_owned(), "Order Released".to_owned()])
    );
}

/// The rule for a held order whose store pauses before it is released (docs/catalogue.md): it
/// was accepted and the partner expects it, so it is released and sent, by
/// time or by a courier, like any other.
#[tokio::test]
async fn a_held_order_whose_store_paused_is_still_released_and_sent() {
    let w = World::new();
    let pause = |w: &World| {
        w.catalog.replace(with_store(w, "S1001", |s| {
            s.status = order_domain::StoreStatus::Paused;
            s.pause = Some(order_domain::Pause {
                reason: "fryer down".to_owned(),
                until: None,
            });
        }))
    };
    // By time.
    let (order, hold, cid) = w
        .accepted(Partner::DoorDash, "doordash/order-scheduled.json")
        .await;
    let plan = hold.expect("held");
    w.keeper()
        .hold(&order.id, &order.store_id, &plan, "tok-p1", &cid)
        .await
        .unwrap();
    pause(&w);
    w.clock.set(plan.release_at);
    w.keeper()
        .expire(&order.id, &order.store_id, &cid)
        .await
        .unwrap();
    w.sender().send(&order, &cid).await.unwrap();
    assert_eq!(w.status(order.id.as_str()), OrderStatus::SentToPos);
    assert_eq!(w.pos.orders().len(), 1);

    // By a courier near the (paused) store.
    let w = World::new();
    let (order, hold, cid) = w.accepted(Partner::DoorDash, "doordash/order-2.json").await;
    w.keeper()
        .hold(
            &order.id,
            &order.store_id,
            &hold.expect("held"),
            "tok-p2",
            &cid,
        )
        .await
        .unwrap();
    pause(&w);
    let released = courier(&w, "doordash/courier.json").await;
    assert_eq!(released.released, vec![order.id.clone()]);
    w.sender().send(&order, &cid).await.unwrap();
    assert_eq!(w.status(order.id.as_str()), OrderStatus::SentToPos);
    assert_eq!(w.pos.orders().len(), 1);
}

/// A DoorDash Dasher webhook through intake, then release-order (a Dasher arriving: the
/// `Courier Arriving` event).
async fn courier(w: &World, rel: &str) -> ReleaseSummary {
    let event = w.webhook(Partner::DoorDash, rel).await;
    assert_eq!(event.detail_type, "Courier Arriving");
    w.releaser()
        .on_arrival(&serde_json::from_value(event.detail).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_courier_near_the_store_releases_its_order_early_and_only_once() {
    let w = World::new();
    let (order, hold, cid) = w.accepted(Partner::DoorDash, "doordash/order-2.json").await;
    let plan = hold.expect("an ASAP order with a far courier is held");
    w.keeper()
        .hold(&order.id, &order.store_id, &plan, "tok-d2", &cid)
        .await
        .unwrap();
    let first = courier(&w, "doordash/courier.json").await;
    assert_eq!(first.released, vec![order.id.clone()]);
    assert_eq!(
        w.callbacks.calls(),
        vec![CallbackCall::Succeed {
            token: "tok-d2".into(),
            output: json!({ "releasedBy": "courier" })
        }]
    );
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Released);
    // The same courier reports again: nothing left to release.
    let second = courier(&w, "doordash/courier.json").await;
    assert!(second.released.is_empty());
    assert_eq!(w.callbacks.calls().len(), 1);
    // A late timeout of the same hold announces nothing twice.
    let released_events = || {
        w.publisher
            .detail_types()
            .iter()
            .filter(|t| *t == "Order Released")
            .count()
    };
    assert_eq!(released_events(), 1);
    w.keeper()
        .expire(&order.id, &order.store_id, &cid)
        .await
        .unwrap();
    assert_eq!(released_events(), 1);
}

#[tokio::test]
async fn a_courier_after_the_hold_timed_out_is_harmless() {
    let w = World::new();
    let (order, hold, cid) = w.accepted(Partner::DoorDash, "doordash/order-2.json").await;
    w.keeper()
        .hold(&order.id, &order.store_id, &hold.unwrap(), "tok-late", &cid)
        .await
        .unwrap();
    w.callbacks.close("tok-late"); // the workflow's timeout fired first
    let summary = courier(&w, "doordash/courier.json").await;
    assert!(summary.released.is_empty());
    assert_eq!(
        w.status(order.id.as_str()),
        OrderStatus::Held,
        "the time path owns the release"
    );
}

async fn cancel(w: &World, order: &OrderHandle) -> ReleaseSummary {
    try_cancel(w, order).await.unwrap()
}

async fn try_cancel(w: &World, order: &OrderHandle) -> Result<ReleaseSummary, PipelineError> {
    let event = OutboundEvent::new(
        order_events::Metadata::new("c-cancel", "k", w.clock.now()),
        OrderCancellationRequested {
            partner: order.partner,
            partner_order_id: order.partner_order_id.clone(),
            order_id: order.id.clone(),
            partner_store_id: Some(order.partner_store_id.clone()),
            reason: Some("customer changed their mind".into()),
            requested_at: w.clock.now(),
        },
    )
    .unwrap();
    let detail: Detail<OrderCancellationRequested> = serde_json::from_value(event.detail).unwrap();
    w.releaser().on_cancellation(&detail).await
}

#[tokio::test]
async fn a_cancellation_while_held_fails_the_task_and_no_pos_order_is_made() {
    let w = World::new();
    let (order, hold, cid) = w
        .accepted(Partner::ChainApp, "app/order-scheduled.json")
        .await;
    w.keeper()
        .hold(&order.id, &order.store_id, &hold.unwrap(), "tok-as", &cid)
        .await
        .unwrap();
    let summary = cancel(&w, &order).await;
    assert_eq!(summary.cancelled, vec![order.id.clone()]);
    let CallbackCall::Fail { error, .. } = &w.callbacks.calls()[0] else {
        panic!("expected a task failure")
    };
    assert_eq!(error, names::ORDER_CANCELLED);
    // The workflow catches OrderCancelled and runs the cancel step.
    let error = TaskError {
        error: names::ORDER_CANCELLED.into(),
        cause: "customer changed their mind".into(),
    };
    let outcome = w
        .conversation()
        .cancel(&order, &cid, &error)
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome.detail_type, "Order Cancelled");
    assert_eq!(
        outcome.detail["data"]["reason"],
        "customer changed their mind"
    );
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Cancelled);
    assert!(w.pos.orders().is_empty());
    assert!(matches!(
        w.partners.calls().last().unwrap().action,
        PartnerAction::Cancel {
            reason: CancelReason::PartnerRequested,
            ..
        }
    ));
}

#[tokio::test]
async fn a_cancellation_before_the_pos_step_stops_it() {
    let w = World::new();
    let (order, _, cid) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let summary = cancel(&w, &order).await;
    assert!(summary.note.unwrap().contains("next step"));
    let err = w.sender().send(&order, &cid).await.unwrap_err();
    assert_eq!(err.name(), names::ORDER_CANCELLED);
    assert!(w.pos.orders().is_empty());
}

/// A POS whose order creation races a cancellation: the partner cancels while the POS call
/// is in flight.
struct CancelDuringCreate {
    inner: Arc<InMemoryPos>,
    orders: Arc<InMemoryOrders>,
    at: DateTime<Utc>,
}

#[async_trait]
impl PosApi for CancelDuringCreate {
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        key: &str,
    ) -> Result<PosOrderId, ApiError> {
        let id = self.inner.create(store, ticket, key).await?;
        self.orders
            .request_cancellation(&ticket.external_id, Some("raced"), self.at)
            .await
            .unwrap();
        Ok(id)
    }
    async fn find(&self, store: &StoreId, key: &str) -> Result<Option<PosOrderId>, ApiError> {
        self.inner.find(store, key).await
    }
    async fn void(&self, store: &StoreId, id: &PosOrderId) -> Result<(), ApiError> {
        self.inner.void(store, id).await
    }
    async fn status(&self, store: &StoreId, id: &PosOrderId) -> Result<String, ApiError> {
        self.inner.status(store, id).await
    }
}

#[tokio::test]
async fn a_cancellation_racing_the_pos_call_voids_the_pos_order() {
    let mut w = World::new();
    w.pos_api = Arc::new(CancelDuringCreate {
        inner: w.pos.clone(),
        orders: w.orders.clone(),
        at: t0(),
    });
    let (order, _, cid) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let err = w.sender().send(&order, &cid).await.unwrap_err();
    assert_eq!(err.name(), names::ORDER_CANCELLED);
    assert!(err.message_with_causes().contains("voided"));
    let pos = w.pos.orders();
    assert_eq!(pos.len(), 1);
    assert!(
        pos[0].voided,
        "the POS order made during the race is voided"
    );
    let record = w.orders.get(&order.id).await.unwrap().unwrap();
    assert!(record.pos_voided);
    let outcome = w
        .conversation()
        .cancel(&order, &cid, &task(&err))
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome.detail["data"]["posVoided"], true);
}

/// A POS that creates the order and then loses its answer (a timeout after the side effect).
struct AnswerLost {
    inner: Arc<InMemoryPos>,
}

#[async_trait]
impl PosApi for AnswerLost {
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        key: &str,
    ) -> Result<PosOrderId, ApiError> {
        self.inner.create(store, ticket, key).await?;
        Err(ApiError::new(
            ErrorKind::Transient,
            "pos",
            "create order",
            "timed out after 8 s",
        ))
    }
    async fn find(&self, store: &StoreId, key: &str) -> Result<Option<PosOrderId>, ApiError> {
        self.inner.find(store, key).await
    }
    async fn void(&self, store: &StoreId, id: &PosOrderId) -> Result<(), ApiError> {
        self.inner.void(store, id).await
    }
    async fn status(&self, store: &StoreId, id: &PosOrderId) -> Result<String, ApiError> {
        self.inner.status(store, id).await
    }
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_compensated_by_voiding_under_the_order_id() {
    let mut w = World::new();
    w.pos_api = Arc::new(AnswerLost {
        inner: w.pos.clone(),
    });
    let (order, _, cid) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let err = w.sender().send(&order, &cid).await.unwrap_err();
    assert_eq!(err.name(), names::POS_UNAVAILABLE);
    assert_eq!(w.pos.orders().len(), 1, "the POS made the order");
    assert!(!w.pos.orders()[0].voided);

    // What the workflow's Void in POS sends: the order, no POS id (the send never answered).
    let input: PosInput = serde_json::from_value(json!({
        "action": "void",
        "order": order,
        "correlationId": cid,
    }))
    .unwrap();
    let out = w.sender().handle(&input).await.unwrap();
    assert_eq!(out, PosOutput::Voided(Voided { voided: true }));
    let pos = w.pos.orders();
    assert_eq!(pos.len(), 1, "the void made no new POS order");
    assert!(
        pos[0].voided,
        "the POS order the lost answer left is voided"
    );
    assert!(w.orders.get(&order.id).await.unwrap().unwrap().pos_voided);
}

#[tokio::test]
async fn compensating_a_send_the_pos_never_received_voids_nothing() {
    let w = World::new();
    let (order, _, _) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let voided = w.sender().compensate(&order, None).await.unwrap();
    assert_eq!(voided, Voided { voided: false });
    assert!(w.pos.orders().is_empty());
}

#[tokio::test]
async fn a_cancellation_after_the_pos_has_the_order_voids_and_cancels_it() {
    let w = World::new();
    let (order, _, cid) = w.accepted(Partner::Grubhub, "grubhub/order.json").await;
    let sent = w.sender().send(&order, &cid).await.unwrap();
    let summary = cancel(&w, &order).await;
    assert_eq!(summary.voided, vec![order.id.clone()]);
    assert!(w.pos.orders()[0].voided);
    assert_eq!(w.pos.orders()[0].pos_order_id, sent.pos_order_id);
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Cancelled);
    let cancelled = w
        .publisher
        .events()
        .into_iter()
        .find(|e| e.detail_type == "Order Cancelled")
        .unwrap();
    assert_eq!(cancelled.detail["data"]["posVoided"], true);
}

/// Found by the 10,000-order chaos run (seed 610530665): a cancellation after the POS whose
/// every tell of the partner failed (answers lost) left the order SentToPos with its POS order
/// voided. The cancellation is recorded before the partner is told, and the event again (a
/// retry, a redrive) tells it again.
#[tokio::test]
async fn a_cancellation_after_the_pos_is_recorded_even_when_the_partner_cannot_be_told() {
    let w = World::new();
    let (order, _, cid) = w.accepted(Partner::Grubhub, "grubhub/order.json").await;
    w.sender().send(&order, &cid).await.unwrap();
    w.partners.fail_next([Fault {
        kind: ErrorKind::Transient,
        status: Some(502),
    }]);
    let e = try_cancel(&w, &order).await.unwrap_err();
    assert_eq!(e.name(), names::PARTNER_UNAVAILABLE);
    assert!(w.pos.orders()[0].voided);
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Cancelled);
    let told = |w: &World| {
        w.partners
            .calls()
            .iter()
            .filter(|c| matches!(c.action, PartnerAction::Cancel { .. }))
            .count()
    };
    assert_eq!(told(&w), 0);
    // The same event again: the partner is told now, and Order Cancelled announced.
    let summary = cancel(&w, &order).await;
    assert!(summary.note.unwrap().contains("told again"));
    assert_eq!(told(&w), 1);
    assert_eq!(
        w.publisher.detail_types().last().map(String::as_str),
        Some("Order Cancelled")
    );
}

#[tokio::test]
async fn a_pos_that_refuses_the_order_leads_to_a_cancel_with_the_partner_and_order_failed() {
    let w = World::new();
    let (order, _, cid) = w
        .accepted(Partner::UberEats, "ubereats/notification-scheduled.json")
        .await;
    w.pos.fail_next([Fault {
        kind: ErrorKind::Permanent,
        status: Some(422),
    }]);
    let err = w.sender().send(&order, &cid).await.unwrap_err();
    assert_eq!(err.name(), names::POS_REJECTED);
    let outcome = w
        .conversation()
        .cancel(&order, &cid, &task(&err))
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome.detail_type, "Order Failed");
    assert_eq!(outcome.detail["data"]["error"], names::POS_REJECTED);
    assert_eq!(outcome.detail["data"]["partnerNotified"], true);
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Failed);
    assert!(matches!(
        w.partners.calls().last().unwrap().action,
        PartnerAction::Cancel {
            reason: CancelReason::StoreUnavailable,
            ..
        }
    ));
}

/// Found by the IAM contract's e2e test: the partner took the accept, then the status write
/// failed for good and the workflow's catch-all denied. The partner refuses a denial of an
/// order it holds accepted; the pipeline then cancels it, so the partner's last word is that
/// the order will not be made.
#[tokio::test]
async fn a_denial_the_partner_refuses_after_its_accept_becomes_a_cancellation() {
    let w = World::new();
    let input = w.received(Partner::ChainApp, "app/order.json").await;
    let (order, _, _) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let received: Received = serde_json::from_value(input["received"].clone()).unwrap();
    w.partners.fail_next([Fault {
        kind: ErrorKind::Permanent,
        status: Some(409),
    }]);
    let storage = PipelineError::Storage(RepoError::new("update order", "access denied"));
    let outcome = w
        .conversation()
        .deny(&received, &task(&storage))
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome.detail_type, "Order Failed");
    assert_eq!(outcome.detail["data"]["partnerNotified"], true);
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Failed);
    let actions: Vec<PartnerAction> = w.partners.calls().into_iter().map(|c| c.action).collect();
    assert!(
        matches!(
            actions.as_slice(),
            // The refused denial is not among the calls the twin took.
            [
                PartnerAction::Accept { .. },
                PartnerAction::Cancel {
                    reason: CancelReason::Internal,
                    ..
                }
            ]
        ),
        "{actions:?}"
    );
    // A denial the partner takes is not followed by a cancellation.
    let w = World::new();
    let input = w.received(Partner::ChainApp, "app/order.json").await;
    let received: Received = serde_json::from_value(input["received"].clone()).unwrap();
    w.conversation()
        .deny(&received, &task(&storage))
        .await
        .unwrap();
    let actions: Vec<PartnerAction> = w.partners.calls().into_iter().map(|c| c.action).collect();
    assert!(
        matches!(actions.as_slice(), [PartnerAction::DenyFailure { .. }]),
        "{actions:?}"
    );
}

/// A POS outage is waited out while the order can still be made in time: before its send-by
/// an unavailable POS is `PosUnavailable` (the workflow waits and tries again), after it
/// `PosDeadlinePassed`, which the workflow voids and cancels with the partner (told the store
/// is unavailable).
#[tokio::test]
async fn a_pos_outage_is_waited_out_until_the_order_can_no_longer_be_made_in_time() {
    let w = World::new();
    let input = w.received(Partner::ChainApp, "app/order.json").await;
    let d = w.dedup().handle(&input, t0()).await.unwrap();
    let order = w
        .adapt()
        .handle(serde_json::from_value(input).unwrap())
        .await
        .unwrap()
        .order;
    let accepted = w
        .conversation()
        .accept(&order, &d.correlation_id)
        .await
        .unwrap();
    // The app's sample, placed at 17:58 with no ready time: 15 minutes of patience.
    let send_by = accepted.send_by.unwrap();
    assert_eq!(
        send_by,
        "2026-11-22T18:13:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let down = || Fault {
        kind: ErrorKind::Transient,
        status: Some(503),
    };
    let input = PosInput::Send {
        order: order.clone(),
        correlation_id: d.correlation_id.clone(),
        accepted: Some(accepted.clone()),
    };
    w.pos.fail_next([down()]);
    w.clock.set(send_by - TimeDelta::seconds(1));
    let e = w.sender().handle(&input).await.unwrap_err();
    assert_eq!(e.name(), names::POS_UNAVAILABLE);
    // The store's POS is recorded failing since that call, for the POS watch; a later
    // failure keeps the first time.
    let failing_since = w.clock.now();
    assert_eq!(
        w.pos_health.records().get(order.store_id.as_str()),
        Some(&(failing_since, false))
    );
    w.pos.fail_next([down()]);
    w.clock.set(send_by);
    let e = w.sender().handle(&input).await.unwrap_err();
    assert_eq!(e.name(), names::POS_DEADLINE_PASSED);
    assert!(w.pos.orders().is_empty());
    assert_eq!(
        w.pos_health.records().get(order.store_id.as_str()),
        Some(&(failing_since, false))
    );
    let outcome = w
        .conversation()
        .cancel(&order, &d.correlation_id, &task(&e))
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome.detail_type, "Order Failed");
    assert!(matches!(
        w.partners.calls().last().unwrap().action,
        PartnerAction::Cancel {
            reason: CancelReason::StoreUnavailable,
            ..
        }
    ));
    // Before the outage ends the order, a POS that answers takes it.
    let w2 = World::new();
    let (order2, _, cid2) = w2.accepted(Partner::ChainApp, "app/order.json").await;
    let sent = w2
        .sender()
        .handle(&PosInput::Send {
            order: order2,
            correlation_id: cid2,
            accepted: None,
        })
        .await;
    assert!(sent.is_ok(), "{sent:?}");
}

#[tokio::test]
async fn a_partner_that_is_down_gets_the_accept_on_a_retry() {
    let w = World::new();
    let input = w.received(Partner::ChainApp, "app/order.json").await;
    let d = w.dedup().handle(&input, t0()).await.unwrap();
    let order = w
        .adapt()
        .handle(serde_json::from_value(input).unwrap())
        .await
        .unwrap()
        .order;
    w.partners.fail_next([Fault {
        kind: ErrorKind::Transient,
        status: Some(429),
    }]);
    let err = w
        .conversation()
        .accept(&order, &d.correlation_id)
        .await
        .unwrap_err();
    assert_eq!(err.name(), names::PARTNER_UNAVAILABLE);
    assert_eq!(
        w.status(order.id.as_str()),
        OrderStatus::Received,
        "nothing recorded before the partner said yes"
    );
    w.conversation()
        .accept(&order, &d.correlation_id)
        .await
        .unwrap();
    assert_eq!(w.status(order.id.as_str()), OrderStatus::Accepted);
}

#[tokio::test]
async fn a_rejected_order_is_denied_with_the_partner_recorded_and_announced() {
    let w = World::new();
    let input = w
        .received(Partner::Grubhub, "grubhub/order-unknown-item.json")
        .await;
    w.dedup().handle(&input, t0()).await.unwrap();
    let err = w
        .adapt()
        .handle(serde_json::from_value(input.clone()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), names::ORDER_REJECTED);
    let received: Received = serde_json::from_value(input["received"].clone()).unwrap();
    let outcome = w
        .conversation()
        .deny(&received, &task(&err))
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome.detail_type, "Order Rejected");
    assert_eq!(outcome.detail["data"]["reason"], "UnknownItem");
    assert_eq!(w.status("grubhub.gh-3e7b9c1d-0002"), OrderStatus::Rejected);
    let PartnerAction::Deny(r) = &w.partners.calls()[0].action else {
        panic!("expected a deny")
    };
    assert_eq!(r.reason, order_domain::RejectionReason::UnknownItem);
    assert!(w.metrics.all().contains(&Metric::OrderRejected {
        reason: "UnknownItem".into()
    }));
}

#[tokio::test]
async fn a_late_writer_never_moves_an_order_backwards() {
    let w = World::new();
    let (order, _, cid) = w.accepted(Partner::ChainApp, "app/order.json").await;
    w.sender().send(&order, &cid).await.unwrap();
    let late = w
        .orders
        .transition(
            &order.id,
            OrderStatus::Accepted,
            w.clock.now(),
            StatusUpdate::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        late,
        Transition::Refused {
            current: OrderStatus::SentToPos
        }
    );
    let late_hold = w
        .keeper()
        .hold(
            &order.id,
            &order.store_id,
            &HoldPlan {
                schema_version: pipeline::io::StateSchema::CURRENT,
                release_at: t0(),
                early_release_from: t0(),
                timeout_seconds: 1,
            },
            "tok",
            &cid,
        )
        .await;
    assert_eq!(late_hold.unwrap_err().name(), names::STATUS_CONFLICT);
    assert_eq!(w.status(order.id.as_str()), OrderStatus::SentToPos);
}

#[tokio::test]
async fn a_cancellation_for_an_unknown_order_is_reported_not_dropped_silently() {
    let w = World::new();
    let (order, _, _) = w.accepted(Partner::ChainApp, "app/order.json").await;
    let mut other = order.clone();
    other.id = OrderId::parse("app.never-seen").unwrap();
    let summary = cancel(&w, &other).await;
    assert_eq!(
        summary.note.as_deref(),
        Some(
            "order app.never-seen has not arrived yet; the cancellation is kept and applies when it does"
        )
    );
    assert_eq!(
        w.orders
            .early_cancellation(&other.id)
            .await
            .unwrap()
            .as_deref(),
        Some("customer changed their mind")
    );
}

/// Found by the chaos run: the partner cancelled right after its order webhook was
/// acknowledged, before dedup had made the record; the cancellation was dropped and the order
/// went to the POS.
#[tokio::test]
async fn a_cancellation_that_arrives_before_the_order_cancels_it_when_it_arrives() {
    let w = World::new();
    let input = w.received(Partner::ChainApp, "app/order.json").await;
    // The order as it will be (adapted elsewhere), to address the cancellation.
    let (order, _, _) = World::new()
        .accepted(Partner::ChainApp, "app/order.json")
        .await;
    let id = order.id.clone();
    cancel(&w, &order).await;
    assert!(w.orders.all().is_empty(), "no record is made up for it");
    // Now the order arrives.
    assert_eq!(
        w.dedup().handle(&input, t0()).await.unwrap().outcome,
        DedupOutcome::New
    );
    let record = w.orders.get(&id).await.unwrap().unwrap();
    assert!(record.cancel_requested);
    // The accept step sees it and the order is cancelled, never accepted.
    let err = w.conversation().accept(&order, "c-1").await.unwrap_err();
    assert_eq!(err.name(), names::ORDER_CANCELLED);
    assert!(w.partners.calls().is_empty(), "no accept was sent");
}

/// Uber Eats sends every event type to the one URL and re-sends what is not answered 200: a
/// type the pipeline does not use is answered 200 with no body, counted, and not acted on;
/// the same from DoorDash (webhooks subscribed per type) is refused and announced.
#[tokio::test]
async fn an_uber_event_type_the_pipeline_does_not_use_is_acknowledged_counted_and_ignored() {
    let w = World::new();
    let send = |partner: Partner, body: &'static str| {
        let headers = partners::auth::sign(partner, body.as_bytes(), SECRET, w.clock.now(), "n-9");
        let intake = w.intake();
        async move {
            intake
                .handle(WebhookRequest {
                    partner: partner.as_str(),
                    headers: &headers,
                    body: body.as_bytes(),
                })
                .await
        }
    };
    let r = send(
        Partner::UberEats,
        r#"{"event_type":"store.provisioned","store_id":"s","partner_store_id":"S1001"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_null(), "{}", r.body);
    assert!(w.publisher.events().is_empty());
    assert_eq!(
        w.metrics.all(),
        [pipeline::ports::Metric::WebhookIgnored {
            partner: Partner::UberEats,
            event_type: "store.provisioned".to_owned()
        }]
    );
    // A menu refresh request, in its own shape, is taken the same way and announced for
    // store-status, under Uber's event id (a re-send carries the same idempotency key; telling
    // a status is idempotent, so store-status tells again rather than keeping a record).
    let refresh: &'static str = Box::leak(
        format!(
            r#"{{"event_type":"store.menu_refresh_request","event_id":"e-1","event_time":{},"store_id":"s","partner_store_id":"S1001"}}"#,
            w.clock.now().timestamp()
        )
        .into_boxed_str(),
    );
    let r = send(Partner::UberEats, refresh).await;
    assert_eq!(r.status, 200);
    let events = w.publisher.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "Menu Refresh Requested");
    let detail = &events[0].detail;
    assert_eq!(detail["data"]["partnerStoreId"], "s");
    assert_eq!(
        detail["metadata"]["idempotencyKey"],
        "ubereats/menu-refresh/s/e-1"
    );
    let r = send(
        Partner::DoorDash,
        r#"{"event":{"type":"MenuUpdate"},"order":{"id":"dd-x"}}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let published: Vec<String> = w
        .publisher
        .events()
        .iter()
        .skip(1)
        .map(|e| e.detail_type.clone())
        .collect();
    assert_eq!(published, ["Webhook Rejected"]);
}
