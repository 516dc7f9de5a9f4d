//! The POS watch: a store whose POS stays down is paused with its partners, and resumed when
//! its POS answers again.
//!
//! While a store's POS is down its orders wait (the Standard workflow tries every minute until
//! each order's `send_by`), then are voided and cancelled one by one, each partner told: the
//! customers of every order placed meanwhile are disappointed late. Past
//! [`PosWatch::pause_after`] of failures the store is paused instead, through the catalogue
//! (`Store Paused` on the bus, and store-status tells every partner), so partners stop
//! offering it; orders already accepted go on waiting for the POS as before.
//!
//! `pos` records a store's POS as failing on each call that fails for want of it
//! ([`PosHealth::failed`]); this watch, run by the sweeper on its schedule, probes each store
//! recorded failing with a POS lookup of an order that cannot exist ([`PROBE_KEY`]): any
//! answer but a transient failure (an answer of none is the usual one) means the POS is back.
//! A paused store gets no orders whose success could say so, hence the probe.
//!
//! The pause carries [`POS_UNREACHABLE`] as its reason, and only a pause with that reason is
//! lifted here: a store paused by its manager stays paused whatever its POS does.

use std::sync::Arc;

use chrono::Duration;
use order_domain::{StoreId, StoreStatus};
use order_events::BusEvent as _;
use tracing::{info, warn};

use crate::catalog_admin::{CatalogAdministration, Change, PauseChange};
use sha2::Digest as _;

use crate::ports::{CatalogSource, Clock, ErrorKind, FailingPos, PosApi, PosHealth};

/// The reason a store paused by the watch carries (shown to operators, and in the detail of
/// the refusals of orders sent meanwhile).
pub const POS_UNREACHABLE: &str = "POS unreachable: paused by the order pipeline until it answers";

/// The events the watch publishes (source, detail-type), through the catalogue's
/// administration: the sweeper's role may put exactly these (the IAM contract reads this;
/// the watch's tests show each published).
pub const ANNOUNCES: [(&str, &str); 2] = [
    (
        order_events::StorePaused::SOURCE,
        order_events::StorePaused::DETAIL_TYPE,
    ),
    (
        order_events::StoreResumed::SOURCE,
        order_events::StoreResumed::DETAIL_TYPE,
    ),
];

/// The idempotency key the probe looks up: no order is ever created under it.
pub const PROBE_KEY: &str = "pos-watch-probe";

/// What one run of the watch did, by store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchReport {
    /// Paused with their partners: POS failing for longer than `pause_after`.
    pub paused: Vec<StoreId>,
    /// Resumed: paused by the watch, and the POS answered the probe.
    pub resumed: Vec<StoreId>,
    /// POS answered the probe: no longer recorded failing.
    pub recovered: Vec<StoreId>,
    /// Still failing: not yet long enough to pause, paused otherwise (closed, or by its
    /// manager), or paused by an earlier run (its pause announced again).
    pub failing: Vec<StoreId>,
    /// Reads or changes that failed (the next run tries again), as messages.
    pub errors: Vec<String>,
}

/// The watch.
pub struct PosWatch {
    /// Which stores' POS are failing.
    pub health: Arc<dyn PosHealth>,
    /// The stores' POS, probed.
    pub pos: Arc<dyn PosApi>,
    /// The runtime catalogue: each store's status and pause, read as the truth.
    pub catalog: Arc<dyn CatalogSource>,
    /// Pauses and resumes, announced on the bus.
    pub administration: CatalogAdministration,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// How long a store's POS may fail before the store is paused.
    pub pause_after: Duration,
}

/// Stores probed at once.
pub const PROBE_CONCURRENCY: usize = 25;

/// Stores probed in one run: a probe of a POS that is down takes up to the POS client's
/// whole retry budget (three attempts of 8 s, and a `Retry-After` or two: about 34 s), and a
/// run is bounded by its function's timeout (180 s, with the sweep before it); the next run
/// takes the rest. Stores the watch paused go first (a resume is what their customers wait
/// for), the others in an order that changes every run, so that in a wide outage every store
/// is probed, paused and cleared in turn.
pub const MAX_PROBES_PER_RUN: usize = 50;

/// What became of one store.
enum Settled {
    Paused,
    Resumed,
    Recovered,
    Failing,
}

impl PosWatch {
    /// Probes the stores recorded failing ([`MAX_PROBES_PER_RUN`] of them,
    /// [`PROBE_CONCURRENCY`] at a time) and pauses or resumes each as its POS says.
    pub async fn run(&self) -> WatchReport {
        use futures::StreamExt as _;
        let mut report = WatchReport::default();
        let mut failing = match self.health.failing().await {
            Ok(f) => f,
            Err(e) => {
                report.errors.push(e.to_string());
                return report;
            }
        };
        let now = self.clock.now();
        // This run's turn: a hash of the store and the run's five-minute window.
        let window = now.timestamp() / 300;
        failing.sort_by_cached_key(|f| {
            let turn: [u8; 32] =
                sha2::Sha256::digest(format!("{}/{window}", f.store).as_bytes()).into();
            (!f.paused, turn)
        });
        failing.truncate(MAX_PROBES_PER_RUN);
        let settled: Vec<(StoreId, Result<Settled, String>)> = futures::stream::iter(failing)
            .map(|f| async move {
                let settled = self.one(&f).await;
                (f.store, settled)
            })
            .buffer_unordered(PROBE_CONCURRENCY)
            .collect()
            .await;
        for (store, settled) in settled {
            match settled {
                Ok(Settled::Paused) => report.paused.push(store),
                Ok(Settled::Resumed) => {
                    report.resumed.push(store.clone());
                    report.recovered.push(store);
                }
                Ok(Settled::Recovered) => report.recovered.push(store),
                Ok(Settled::Failing) => report.failing.push(store),
                Err(e) => {
                    warn!(store_id = %store, error = %e, "the POS watch could not settle the store; the next run tries again");
                    report.errors.push(format!("store {store}: {e}"));
                }
            }
        }
        for list in [
            &mut report.paused,
            &mut report.resumed,
            &mut report.recovered,
            &mut report.failing,
        ] {
            list.sort();
        }
        report.errors.sort();
        report
    }

    async fn one(&self, f: &FailingPos) -> Result<Settled, String> {
        let store = &f.store;
        let answered = match self.pos.find(store, PROBE_KEY).await {
            Ok(_) => true,
            // No call was made: nothing is known of the POS, so nothing is decided.
            Err(e) if e.kind == ErrorKind::NotConfigured => {
                return Err(format!("the POS was not probed: {e}"));
            }
            Err(e) => !e.is_transient(),
        };
        let catalog = self.catalog.store(store).await.map_err(|e| e.to_string())?;
        let live = catalog.as_ref().and_then(|c| c.store(store));
        let status = live.map(|s| s.status);
        let paused_by_watch = live.is_some_and(|s| {
            s.status == StoreStatus::Paused
                && s.pause
                    .as_ref()
                    .is_some_and(|p| p.reason == POS_UNREACHABLE)
        });
        if answered {
            // A resume is owed while the watch's pause stands, and also when the watch paused
            // the store and the store is open again but its record remains: the resume was
            // made and its announcement may have failed (made again, it is announced again).
            let resume = paused_by_watch || (f.paused && status == Some(StoreStatus::Open));
            if resume {
                self.administration
                    .apply(Change::Resume {
                        store: store.clone(),
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                info!(store_id = %store, "the store's POS answers again: resumed with its partners");
            }
            // Only once the resume is announced: a failed one leaves the record for the next run.
            self.health
                .answered(store)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(if resume {
                Settled::Resumed
            } else {
                Settled::Recovered
            });
        }
        // Still down: the record is kept alive (a paused store gets no orders whose failures
        // would), since when it has been failing unchanged.
        self.health
            .failed(store, self.clock.now())
            .await
            .map_err(|e| e.to_string())?;
        let due =
            status == Some(StoreStatus::Open) && self.clock.now() - f.since >= self.pause_after;
        if !due && !paused_by_watch {
            return Ok(Settled::Failing);
        }
        // Paused by an earlier run and still down: the pause is made again, so its
        // announcement is too (setting a status is idempotent with the partners), and an
        // announcement that failed to publish is made good by the next run.
        self.administration
            .apply(Change::Pause {
                store: store.clone(),
                pause: PauseChange {
                    reason: POS_UNREACHABLE.to_owned(),
                    until: None,
                },
            })
            .await
            .map_err(|e| e.to_string())?;
        if !f.paused {
            self.health.paused(store).await.map_err(|e| e.to_string())?;
        }
        if due {
            warn!(store_id = %store, failing_since = %f.since, "the store's POS stays down: paused with its partners");
            Ok(Settled::Paused)
        } else {
            Ok(Settled::Failing)
        }
    }
}

#[cfg(test)]
#[path = "pos_watch_tests.rs"]
pub(crate) mod tests;
