use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use order_domain::{StoreId, StoreStatus};

use super::*;
use crate::catalog_admin::CatalogAdministration;
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
    assert_eq!(
        w.health.records().get("S1001"),
        Some(&(since, true)),
        "the record remembers the pause, its first failure unchanged"
    );
    // Each failed probe keeps the record alive (its expiry moves; a paused store gets no
    // orders whose failures would).
    let writes = w.health.writes();

    // Down again at the next run: already paused; its pause announced again.
    down(&w.pos);
    let r = w.watch.run().await;
    assert_eq!(r.failing, std::slice::from_ref(&s1001));
    assert!(r.paused.is_empty());
    assert_eq!(w.bus.detail_types(), ["Store Paused", "Store Paused"]);
    assert_eq!(w.health.writes(), writes + 1);

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
    announces_only_its_own(&w);
}

/// What the watch published is among [`ANNOUNCES`] (the sweeper's role allows those only).
fn announces_only_its_own(w: &World) {
    for e in w.bus.events() {
        assert!(
            ANNOUNCES.contains(&(e.source.as_str(), e.detail_type.as_str())),
            "{} {}",
            e.source,
            e.detail_type
        );
    }
}

#[tokio::test]
async fn a_resume_whose_announcement_failed_is_announced_at_the_next_run() {
    let w = world();
    let s1001 = store("S1001");
    w.health
        .failed(&s1001, w.clock.now() - Duration::hours(1))
        .await
        .unwrap();
    down(&w.pos);
    assert_eq!(w.watch.run().await.paused, std::slice::from_ref(&s1001));
    // The POS answers; the resume is made but its announcement is not published.
    w.bus.fail_next(1);
    let r = w.watch.run().await;
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(status_of(&w, "S1001").0, StoreStatus::Open);
    assert!(
        w.health.records()["S1001"].1,
        "the record still owes the resume"
    );
    // The next run announces it, then lets the record go.
    let r = w.watch.run().await;
    assert_eq!(r.resumed, std::slice::from_ref(&s1001));
    assert_eq!(w.bus.detail_types(), ["Store Paused", "Store Resumed"]);
    assert!(w.health.records().is_empty());
    announces_only_its_own(&w);
}

#[tokio::test]
async fn a_probe_that_could_not_be_made_decides_nothing() {
    let w = world();
    let s1001 = store("S1001");
    w.health
        .failed(&s1001, w.clock.now() - Duration::hours(1))
        .await
        .unwrap();
    // The POS client could not be made (its secret unreadable): no call, no verdict.
    w.pos.fail_next([Fault {
        kind: ErrorKind::NotConfigured,
        status: None,
    }]);
    let r = w.watch.run().await;
    assert!(r.paused.is_empty() && r.recovered.is_empty(), "{r:?}");
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].contains("not probed"), "{:?}", r.errors);
    assert_eq!(status_of(&w, "S1001").0, StoreStatus::Open);
    assert!(w.bus.events().is_empty());
}

#[tokio::test]
async fn stores_the_watch_paused_are_probed_first_and_the_rest_in_turn() {
    let w = world();
    // Sixty stores failing for an hour (ids the catalogue does not hold: no pause is made),
    // and S1001, due a pause, among them.
    let since = w.clock.now() - Duration::hours(1);
    for n in 0..60 {
        w.health
            .failed(&store(&format!("S9{n:03}")), since)
            .await
            .unwrap();
    }
    let s1001 = store("S1001");
    w.health.failed(&s1001, since).await.unwrap();
    let probed = |r: &WatchReport| r.failing.len() + r.paused.len() + r.recovered.len();
    let mut seen = std::collections::BTreeSet::new();
    let mut paused_at = None;
    for run in 0..8 {
        for _ in 0..MAX_PROBES_PER_RUN {
            down(&w.pos);
        }
        let r = w.watch.run().await;
        assert_eq!(probed(&r), MAX_PROBES_PER_RUN, "run {run}");
        if r.paused.contains(&s1001) {
            paused_at = Some(run);
        }
        if paused_at.is_some_and(|p| p < run) {
            assert!(
                r.failing.contains(&s1001),
                "once paused, probed every run (run {run})"
            );
        }
        seen.extend(r.failing.iter().chain(&r.paused).cloned());
        w.clock.advance(Duration::minutes(5));
    }
    assert!(paused_at.is_some(), "the due store was paused in its turn");
    assert_eq!(seen.len(), 61, "every store was probed within a few runs");
}
