//! The ports' documented contracts as executable cases, run against every implementation: the
//! in-memory twins (this crate's tests) and the DynamoDB adapters (against DynamoDB Local,
//! `tests/dynamodb_local.rs`). A twin and an adapter that disagree fail the same case.
//!
//! Each case panics with what broke; `prefix` keeps the order ids of one run apart from
//! another's on a shared table.

#![allow(clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use order_domain::{Order, OrderId, OrderStatus, Partner, PartnerOrderId, PosOrderId};

use crate::ports::{
    Created, HeldOrder, HeldOrders, NewOrder, OrderHandle, OrdersRepo, StatusUpdate, Transition,
};

/// "Now" for the cases: the wall clock at the first call, to the second. Not a fixed date:
/// DynamoDB Local deletes items whose TTL attribute is past by the wall clock within about
/// 10 s, so a held order written with a fixed past time could vanish in the middle of a case.
fn at() -> DateTime<Utc> {
    static AT: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *AT.get_or_init(|| DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default())
}

fn id(prefix: &str, n: &str) -> OrderId {
    OrderId::parse(format!("app.{prefix}-{n}"))
        .unwrap_or_else(|e| panic!("contract order id {prefix}-{n}: {e}"))
}

fn new_order(id: &OrderId) -> NewOrder {
    let partner_order_id = id.as_str().trim_start_matches("app.");
    NewOrder {
        order_id: id.clone(),
        partner: Partner::ChainApp,
        partner_order_id: PartnerOrderId::parse(partner_order_id)
            .unwrap_or_else(|e| panic!("{partner_order_id}: {e}")),
        correlation_id: "c-1".to_owned(),
        created_by: Some("arn:aws:states:us-east-1:1:execution:orders:e-1".to_owned()),
        at: at(),
        received: None,
    }
}

async fn step(repo: &dyn OrdersRepo, id: &OrderId, to: OrderStatus) -> Transition {
    repo.transition(id, to, at(), StatusUpdate::default())
        .await
        .unwrap_or_else(|e| panic!("transition of {id} to {to:?}: {e}"))
}

/// Every [`OrdersRepo`] case; `order` is an adapted order whose id the cases replace.
pub async fn orders_repo(repo: Arc<dyn OrdersRepo>, prefix: &str, order: Order) {
    a_status_never_moves_backwards_and_refusals_name_where_the_order_is(repo.as_ref(), prefix)
        .await;
    a_missing_order_is_missing_whatever_the_target(repo.as_ref(), prefix).await;
    concurrent_writers_of_one_transition_apply_it_once(repo.clone(), prefix).await;
    creating_an_existing_order_returns_it(repo.as_ref(), prefix).await;
    the_adapted_order_and_the_cancellation_flag_round_trip(repo.as_ref(), prefix, order).await;
    a_cancellation_kept_before_its_order_is_found_and_makes_no_record(repo.as_ref(), prefix).await;
    open_orders_are_found_overdue_by_shard_until_they_end(repo.as_ref(), prefix).await;
}

/// An open order is found overdue in its sweep shard once its `open_until` is past, from its
/// creation until accepted and from its `send_by` after; a sweep moves it on once; an order
/// that ends (terminal, or at the POS) is found no more; the received event round-trips.
pub async fn open_orders_are_found_overdue_by_shard_until_they_end(
    repo: &dyn OrdersRepo,
    prefix: &str,
) {
    use crate::ports::{SWEEP_SHARDS, sweep_shard};
    use chrono::Duration;
    let fresh = id(prefix, "sweep-fresh");
    let accepted = id(prefix, "sweep-accepted");
    let overdue = |shard: u8, before: DateTime<Utc>| async move {
        assert!(shard < SWEEP_SHARDS);
        repo.overdue(shard, before, 1_000)
            .await
            .unwrap_or_else(|e| panic!("overdue orders of shard {shard}: {e}"))
    };
    let received = serde_json::json!({"detail-type": "Order Received", "detail": {"n": 1}});
    repo.create(NewOrder {
        received: Some(received.clone()),
        ..new_order(&fresh)
    })
    .await
    .unwrap_or_else(|e| panic!("create {fresh}: {e}"));
    repo.create(new_order(&accepted))
        .await
        .unwrap_or_else(|e| panic!("create {accepted}: {e}"));
    let send_by = at() + Duration::hours(1);
    repo.transition(
        &accepted,
        OrderStatus::Accepted,
        at(),
        StatusUpdate {
            open_until: Some(send_by),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("accept {accepted}: {e}"));

    let record = repo.get(&fresh).await.ok().flatten();
    let record = record.unwrap_or_else(|| panic!("{fresh} not read"));
    assert_eq!(record.received, Some(received), "the received event");
    assert_eq!((record.open_until, record.sweeps), (Some(at()), 0));
    let soon = at() + Duration::seconds(1);
    assert!(overdue(sweep_shard(&fresh), soon).await.contains(&fresh));
    assert!(
        !overdue(sweep_shard(&fresh), at()).await.contains(&fresh),
        "not before its time"
    );
    assert!(
        !overdue(sweep_shard(&accepted), soon)
            .await
            .contains(&accepted)
    );
    let later = send_by + Duration::seconds(1);
    assert!(
        overdue(sweep_shard(&accepted), later)
            .await
            .contains(&accepted)
    );
    let other = (sweep_shard(&accepted) + 1) % SWEEP_SHARDS;
    assert!(
        !overdue(other, later).await.contains(&accepted),
        "only in its own shard"
    );

    let next = at() + Duration::minutes(30);
    assert!(repo.mark_swept(&fresh, 0, next).await.unwrap_or_default());
    assert!(
        !repo.mark_swept(&fresh, 0, next).await.unwrap_or(true),
        "a second sweep of the same count"
    );
    assert!(!overdue(sweep_shard(&fresh), soon).await.contains(&fresh));
    let swept = repo.get(&fresh).await.ok().flatten();
    assert_eq!(
        swept.map(|r| (r.sweeps, r.open_until)),
        Some((1, Some(next)))
    );

    step(repo, &fresh, OrderStatus::Failed).await;
    step(repo, &accepted, OrderStatus::SentToPos).await;
    let far = at() + Duration::days(30);
    for ended in [&fresh, &accepted] {
        assert!(
            !overdue(sweep_shard(ended), far).await.contains(ended),
            "{ended} ended"
        );
        let r = repo.get(ended).await.ok().flatten();
        assert_eq!(
            r.and_then(|r| r.open_until),
            None,
            "{ended} keeps no deadline"
        );
    }
    assert!(
        !repo.mark_swept(&fresh, 1, next).await.unwrap_or(true),
        "an ended order is not swept"
    );
}

/// A cancellation kept for an order with no record is found by the order's id, makes no
/// record (the order's creation is still new), and a second one replaces the first.
pub async fn a_cancellation_kept_before_its_order_is_found_and_makes_no_record(
    repo: &dyn OrdersRepo,
    prefix: &str,
) {
    let early = id(prefix, "early");
    assert_eq!(repo.early_cancellation(&early).await.ok(), Some(None));
    repo.remember_cancellation(&early, "customer left", at())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        repo.early_cancellation(&early).await.ok(),
        Some(Some("customer left".to_owned()))
    );
    assert!(
        matches!(repo.get(&early).await, Ok(None)),
        "no record made up"
    );
    assert!(matches!(
        repo.create(new_order(&early)).await,
        Ok(Created::New)
    ));
    repo.remember_cancellation(&early, "changed plans", at())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        repo.early_cancellation(&early).await.ok(),
        Some(Some("changed plans".to_owned()))
    );
    assert_eq!(
        repo.early_cancellation(&id(prefix, "other")).await.ok(),
        Some(None),
        "kept per order"
    );
}

/// `transition` moves forward only; a refusal's `current` is where the order is (never the
/// status asked for), including for a status nothing may move to (`Received`).
pub async fn a_status_never_moves_backwards_and_refusals_name_where_the_order_is(
    repo: &dyn OrdersRepo,
    prefix: &str,
) {
    let id = id(prefix, "forward");
    assert_eq!(
        repo.create(new_order(&id)).await.ok(),
        Some(Created::New),
        "a new order is created"
    );
    // Asking for the status it is in is a retry, even for one with no predecessor.
    assert!(
        matches!(step(repo, &id, OrderStatus::Received).await, Transition::AlreadyThere(r) if r.status == OrderStatus::Received),
        "Received → Received is a retry"
    );
    assert!(matches!(
        step(repo, &id, OrderStatus::Accepted).await,
        Transition::Applied(r) if r.status == OrderStatus::Accepted
    ));
    let sent = repo
        .transition(
            &id,
            OrderStatus::SentToPos,
            at(),
            StatusUpdate {
                pos_order_id: Some(PosOrderId::parse("P-1").unwrap_or_else(|e| panic!("P-1: {e}"))),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Transition::Applied(record) = sent else {
        panic!("Accepted → SentToPos: {sent:?}")
    };
    assert_eq!(
        record.pos_order_id.map(|p| p.as_str().to_owned()),
        Some("P-1".to_owned())
    );
    for late in [
        OrderStatus::Held,
        OrderStatus::Accepted,
        OrderStatus::Received,
        OrderStatus::Rejected,
    ] {
        assert_eq!(
            step(repo, &id, late).await,
            Transition::Refused {
                current: OrderStatus::SentToPos
            },
            "SentToPos → {late:?} is refused, naming where the order is"
        );
    }
    assert!(matches!(
        step(repo, &id, OrderStatus::SentToPos).await,
        Transition::AlreadyThere(r) if r.status == OrderStatus::SentToPos
    ));
    let record = repo
        .get(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{id} exists"));
    assert_eq!(record.status, OrderStatus::SentToPos);
    let history: Vec<_> = record.history.iter().map(|c| c.status).collect();
    assert_eq!(
        history,
        [
            OrderStatus::Received,
            OrderStatus::Accepted,
            OrderStatus::SentToPos
        ],
        "only applied changes are in the history"
    );
}

/// Every transition of an order that does not exist is `Missing`.
pub async fn a_missing_order_is_missing_whatever_the_target(repo: &dyn OrdersRepo, prefix: &str) {
    let id = id(prefix, "ghost");
    for to in [
        OrderStatus::Received,
        OrderStatus::Accepted,
        OrderStatus::Cancelled,
    ] {
        assert_eq!(
            step(repo, &id, to).await,
            Transition::Missing,
            "a missing order → {to:?}"
        );
    }
    assert_eq!(
        repo.request_cancellation(&id, None, at())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        None
    );
    assert_eq!(repo.get(&id).await.unwrap_or_else(|e| panic!("{e}")), None);
}

/// Twenty writers of the same transition at once: one applies it, the others see it done.
pub async fn concurrent_writers_of_one_transition_apply_it_once(
    repo: Arc<dyn OrdersRepo>,
    prefix: &str,
) {
    let id = id(prefix, "race");
    repo.create(new_order(&id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tasks = (0..20).map(|_| {
        let repo = repo.clone();
        let id = id.clone();
        tokio::spawn(async move { step(repo.as_ref(), &id, OrderStatus::Accepted).await })
    });
    let results: Vec<Transition> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a writer panicked: {e}")))
        .collect();
    let applied = results
        .iter()
        .filter(|t| matches!(t, Transition::Applied(_)))
        .count();
    assert_eq!(applied, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|t| matches!(t, Transition::Applied(_) | Transition::AlreadyThere(_))),
        "{results:?}"
    );
    let record = repo
        .get(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{id} exists"));
    assert_eq!(record.history.len(), 2, "{:?}", record.history);
}

/// A second `create` returns the record as it is.
pub async fn creating_an_existing_order_returns_it(repo: &dyn OrdersRepo, prefix: &str) {
    let id = id(prefix, "twice");
    repo.create(new_order(&id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    step(repo, &id, OrderStatus::Accepted).await;
    let again = repo
        .create(new_order(&id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&again, Created::Existing(r) if r.status == OrderStatus::Accepted && r.order_id == id),
        "{again:?}"
    );
}

/// The adapted order and its store, written with a status change, the cancellation flag and
/// reason and the void mark are kept; a change to an order that does not exist says so.
pub async fn the_adapted_order_and_the_cancellation_flag_round_trip(
    repo: &dyn OrdersRepo,
    prefix: &str,
    order: Order,
) {
    let order = Order {
        id: id(prefix, "attach"),
        ..order
    };
    repo.create(new_order(&order.id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = OrderHandle::of(
        &order,
        order_events::DocumentRef {
            key: format!("order/{}/{}", order.id, "ab".repeat(32)),
            bytes: 1234,
            sha256: "ab".repeat(32),
            inline: None,
        },
    );
    let accepted = repo
        .transition(
            &order.id,
            OrderStatus::Accepted,
            at(),
            StatusUpdate {
                order: Some(handle.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&accepted, Transition::Applied(r) if r.order.as_ref() == Some(&handle) && r.store_id.as_ref() == Some(&order.store_id)),
        "{accepted:?}"
    );
    let flagged = repo
        .request_cancellation(&order.id, Some("changed plans"), at())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{} exists", order.id));
    assert!(flagged.cancel_requested);
    assert_eq!(flagged.reason.as_deref(), Some("changed plans"));
    assert_eq!(flagged.order.as_ref(), Some(&handle));
    assert_eq!(flagged.store_id.as_ref(), Some(&order.store_id));
    repo.mark_pos_voided(&order.id, at())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        repo.get(&order.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some_and(|r| r.pos_voided)
    );
    let unknown = OrderHandle {
        id: id(prefix, "never-created"),
        ..handle
    };
    let missing = repo
        .transition(
            &unknown.id,
            OrderStatus::Accepted,
            at(),
            StatusUpdate {
                order: Some(unknown.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing, Transition::Missing);
}

fn held_order(
    prefix: &str,
    n: &str,
    store: &str,
    release_in_min: i64,
    early_in_min: i64,
) -> HeldOrder {
    HeldOrder {
        order_id: id(prefix, n),
        store_id: order_domain::StoreId::parse(store)
            .unwrap_or_else(|e| panic!("contract store {store}: {e}")),
        task_token: format!("token-{prefix}-{n}"),
        hold: order_domain::Hold {
            release_at: at() + chrono::TimeDelta::minutes(release_in_min),
            early_release_from: at() + chrono::TimeDelta::minutes(early_in_min),
        },
        correlation_id: "c".to_owned(),
    }
}

/// Every [`HeldOrders`] case. Each run's orders use `prefix`; the stores are the catalogue's.
pub async fn held_orders(repo: Arc<dyn HeldOrders>, prefix: &str) {
    held_orders_are_found_by_store_when_due_and_taken_once(repo.as_ref(), prefix).await;
    concurrent_takers_of_a_held_order_get_it_once(repo, prefix).await;
}

/// `releasable` lists a store's held orders a courier may release at a time (early release
/// from at or before it), no other store's; `get` reads one; `take` hands it out once.
pub async fn held_orders_are_found_by_store_when_due_and_taken_once(
    repo: &dyn HeldOrders,
    prefix: &str,
) {
    let a = held_order(prefix, "a", "S1001", 30, 0);
    let b = held_order(prefix, "b", "S1001", 90, 60);
    let c = held_order(prefix, "c", "S1002", 30, 0);
    for h in [&a, &b, &c] {
        repo.put(h).await.unwrap_or_else(|e| panic!("put: {e}"));
    }
    let ids = |v: Vec<HeldOrder>| {
        let mut ids: Vec<String> = v
            .into_iter()
            .map(|h| h.order_id.to_string())
            .filter(|i| i.starts_with(&format!("app.{prefix}-")))
            .collect();
        ids.sort();
        ids
    };
    let s1001 = a.store_id.clone();
    let due = repo
        .releasable(&s1001, at())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ids(due),
        [a.order_id.to_string()],
        "at the start only a may go"
    );
    let later = repo
        .releasable(&s1001, at() + chrono::TimeDelta::minutes(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ids(later),
        [a.order_id.to_string(), b.order_id.to_string()],
        "from b's early-release time, both (not S1002's c)"
    );
    assert_eq!(repo.get(&a.order_id).await.ok(), Some(Some(a.clone())));
    assert_eq!(repo.take(&a.order_id).await.ok(), Some(Some(a.clone())));
    assert_eq!(
        repo.take(&a.order_id).await.ok(),
        Some(None),
        "a second taker gets nothing"
    );
    assert_eq!(repo.get(&a.order_id).await.ok(), Some(None));
}

/// Twenty concurrent takers of one held order: exactly one gets it.
pub async fn concurrent_takers_of_a_held_order_get_it_once(
    repo: Arc<dyn HeldOrders>,
    prefix: &str,
) {
    let race = held_order(prefix, "race", "S1001", 30, 0);
    repo.put(&race).await.unwrap_or_else(|e| panic!("put: {e}"));
    let tasks = (0..20).map(|_| {
        let (repo, id) = (repo.clone(), race.order_id.clone());
        tokio::spawn(async move { repo.take(&id).await })
    });
    let mut got = 0;
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(Ok(Some(_))) => got += 1,
            Ok(Ok(None)) => {}
            other => panic!("a taker failed: {other:?}"),
        }
    }
    assert_eq!(got, 1, "one taker of twenty gets the held order");
}
