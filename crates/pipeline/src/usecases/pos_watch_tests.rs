use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use order_domain::{StoreId, StoreStatus};

use super::*;
use crate::catalog_admin::{CatalogAdministration, Change, PauseChange};
use crate::memory::{
    FixedClock, InMemoryCatalogAdmin, InMemoryPos, InMemoryPosHealth, RecordingPublisher,
};
use crate::ports::{ErrorKind, Fault, PosHealth};

struct World {
    watch: PosWatch,
    health: Arc<InMemoryPosHealth>,
    pos: Arc<InMemoryPos>,
    admin: Arc<InMemoryCatalogAdmin>,
    bus: Arc<RecordingPublisher>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let health = Arc::new(InMemoryPosHealth::default());
    let pos = Arc::new(InMemoryPos::default());
    let admin = Arc::new(InMemoryCatalogAdmin::embedded().unwrap());
    let bus = Arc::new(RecordingPublisher::default());
    let clock = Arc::new(FixedClock::at(
        Utc.with_ymd_and_hms(2026, 12, 7, 18, 0, 0).unwrap(),
    ));
    let watch = PosWatch {
        health: health.clone(),
        pos: pos.clone(),
        catalog: admin.catalog(),
        administration: CatalogAdministration {
            admin: admin.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
        },
        clock: clock.clone(),
        pause_after: Duration::minutes(10),
    };
    World {
        watch,
        health,
        pos,
        admin,
        bus,
        clock,
    }
}

/// A watch over in-memory twins with no store failing (for the sweeper's own tests).
pub(crate) fn quiet_watch(clock: Arc<FixedClock>) -> PosWatch {
    let admin = Arc::new(InMemoryCatalogAdmin::embedded().unwrap());
    PosWatch {
        health: Arc::new(InMemoryPosHealth::default()),
        pos: Arc::new(InMemoryPos::default()),
        catalog: admin.catalog(),
        administration: CatalogAdministration {
            admin,
            bus: Arc::new(RecordingPublisher::default()),
            clock: clock.clone(),
        },
        clock,
        pause_after: Duration::minutes(10),
    }
}

fn store(id: &str) -> StoreId {
    StoreId::parse(id).unwrap()
}

fn down(pos: &InMemoryPos) {
    pos.fail_next([Fault {
        kind: ErrorKind::Transient,
        status: Some(503),
    }]);
}

fn status_of(w: &World, id: &str) -> (StoreStatus, Option<String>) {
    let c = w.admin.catalog().current();
    let s = c.store(&store(id)).unwrap();
    (s.status, s.pause.as_ref().map(|p| p.reason.clone()))
}

#[tokio::test]
async fn a_store_whose_pos_stays_down_is_paused_then_resumed_when_it_answers() {
    let w = world();
    let s1001 = store("S1001");
    let since = w.clock.now();
    w.health.failed(&s1001, since).await.unwrap();

    // Failing for 9 minutes: not yet.
    w.clock.advance(Duration::minutes(9));
    down(&w.pos);
    let r = w.watch.run().await;
    assert_eq!(r.failing, std::slice::from_ref(&s1001));
    assert!(r.paused.is_empty() && w.bus.events().is_empty());
    assert_eq!(status_of(&w, "S1001").0, StoreStatus::Open);

    // Ten: paused, announced (store-status tells the partners), still recorded failing.
    w.clock.advance(Duration::minutes(1));
    down(&w.pos);
    let r = w.watch.run().await;
    assert_eq!(r.paused, std::slice::from_ref(&s1001));
    assert_eq!(
        status_of(&w, "S1001"),
        (StoreStatus::Paused, Some(POS_UNREACHABLE.to_owned()))
    );
    assert_eq!(w.bus.detail_types(), ["Store Paused"]);
    assert_eq!(w.health.records().len(), 1);

    // Down again at the next run: already paused; its pause announced again.
    down(&w.pos);
    let r = w.watch.run().await;
    assert_eq!(r.failing, std::slice::from_ref(&s1001));
    assert!(r.paused.is_empty());
    assert_eq!(w.bus.detail_types(), ["Store Paused", "Store Paused"]);

    // The POS answers the probe (no order under the probe's key): resumed, record gone.
    let r = w.watch.run().await;
    assert_eq!(r.resumed, std::slice::from_ref(&s1001));
    assert_eq!(r.recovered, std::slice::from_ref(&s1001));
    assert_eq!(status_of(&w, "S1001"), (StoreStatus::Open, None));
    assert_eq!(
        w.bus.detail_types(),
        ["Store Paused", "Store Paused", "Store Resumed"]
    );
    assert!(w.health.records().is_empty());
    assert!(w.pos.orders().is_empty(), "the probe creates nothing");
}

#[tokio::test]
async fn a_managers_pause_is_never_lifted_by_the_watch_and_a_refusing_pos_counts_as_answering() {
    let w = world();
    let s1002 = store("S1002");
    w.watch
        .administration
        .apply(Change::Pause {
            store: s1002.clone(),
            pause: PauseChange {
                reason: "fryer down".to_owned(),
                until: None,
            },
        })
        .await
        .unwrap();
    w.health.failed(&s1002, w.clock.now()).await.unwrap();
    w.clock.advance(Duration::hours(1));
    // The POS answers with a refusal (a 403): it is reachable.
    w.pos.fail_next([Fault {
        kind: ErrorKind::Permanent,
        status: Some(403),
    }]);
    let r = w.watch.run().await;
    assert_eq!(r.recovered, std::slice::from_ref(&s1002));
    assert!(r.resumed.is_empty());
    assert_eq!(
        status_of(&w, "S1002"),
        (StoreStatus::Paused, Some("fryer down".to_owned()))
    );
    assert_eq!(w.bus.detail_types(), ["Store Paused"], "only the manager's");
}

#[tokio::test]
async fn a_store_paused_or_closed_otherwise_is_not_paused_and_a_failed_read_is_reported() {
    let w = world();
    // S1003 is paused in the catalogue file.
    let s1003 = store("S1003");
    w.health
        .failed(&s1003, w.clock.now() - Duration::hours(2))
        .await
        .unwrap();
    down(&w.pos);
    let r = w.watch.run().await;
    assert_eq!(r.failing, std::slice::from_ref(&s1003));
    assert!(r.paused.is_empty() && w.bus.events().is_empty());

    w.health.fail_with("throttled");
    let r = w.watch.run().await;
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].contains("throttled"), "{:?}", r.errors);
    w.health.heal();
    // A failed pause keeps the record for the next run.
    let s1001 = store("S1001");
    w.health
        .failed(&s1001, w.clock.now() - Duration::hours(1))
        .await
        .unwrap();
    w.bus.fail_next(1);
    down(&w.pos);
    down(&w.pos);
    let r = w.watch.run().await;
    assert!(
        r.errors.iter().any(|e| e.contains("S1001")),
        "{:?}",
        r.errors
    );
    assert!(w.health.records().contains_key("S1001"));
    // The pause was made but not announced: the next run announces it.
    down(&w.pos);
    down(&w.pos);
    let r = w.watch.run().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(w.bus.detail_types(), ["Store Paused"]);
    assert_eq!(status_of(&w, "S1001").0, StoreStatus::Paused);
}
