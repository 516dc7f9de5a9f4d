//! Which stores' POS are failing, as the fleet has seen it, and the in-memory twin.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_domain::StoreId;

use super::*;

/// The stores whose POS failed a call and has not been seen answering since: a record per
/// such store, made by `pos` when a call fails for want of the POS (unreachable, 5xx,
/// throttled), kept alive by the sweeper's failed probes and removed by its probe when the
/// POS answers again. A store whose POS has failed long enough is paused with its partners
/// ([`crate::usecases::pos_watch`]), which its record remembers until the resume is
/// announced; a store without a record is presumed well.
#[async_trait]
pub trait PosHealth: Send + Sync {
    /// Records `store`'s POS as failing at `at`, unless it is already recorded failing: the
    /// time it has been failing since (the first failure's, or `at`). Each call moves the
    /// record's expiry a day past `at`.
    async fn failed(&self, store: &StoreId, at: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError>;

    /// Remembers in `store`'s record that the watch paused the store (a record that is gone
    /// is left gone).
    async fn paused(&self, store: &StoreId) -> Result<(), RepoError>;

    /// `store`'s POS answered (and any pause of the watch's was lifted and announced): its
    /// record is removed (nothing if it had none).
    async fn answered(&self, store: &StoreId) -> Result<(), RepoError>;

    /// Every store recorded failing. The records are few (only the stores failing now, each
    /// removed when its POS answers or a day after its last failure by the table's TTL), so
    /// this reads them all.
    async fn failing(&self) -> Result<Vec<FailingPos>, RepoError>;
}

/// A store recorded failing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FailingPos {
    /// The store.
    pub store: StoreId,
    /// Since when its POS has been failing.
    pub since: DateTime<Utc>,
    /// Whether the watch paused the store (and has not yet announced its resume).
    pub paused: bool,
}

/// A [`PosHealth`] that records each store's failure at most once per `every` from this
/// process: during an outage every failed call of every order would otherwise write the same
/// item (one store's key), and at a busy store those writes alone would meet DynamoDB's
/// per-partition limit (1,000 writes a second) and slow the very calls that failed. The
/// first failure's time is what matters; a later one only keeps the record from expiring.
pub struct RecordedEvery {
    inner: std::sync::Arc<dyn PosHealth>,
    every: chrono::Duration,
    /// By store id: when this process last wrote, and the time since when it is failing.
    last: Mutex<BTreeMap<String, Written>>,
}

/// When a process last recorded a store failing, and since when it was failing then.
type Written = (DateTime<Utc>, DateTime<Utc>);

impl RecordedEvery {
    /// `inner`, written at most once per `every` per store.
    pub fn new(inner: std::sync::Arc<dyn PosHealth>, every: chrono::Duration) -> Self {
        Self {
            inner,
            every,
            last: Mutex::default(),
        }
    }
}

#[async_trait]
impl PosHealth for RecordedEvery {
    async fn failed(&self, store: &StoreId, at: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError> {
        if let Some((written, since)) = lock(&self.last).get(store.as_str())
            && at - *written < self.every
        {
            return Ok(*since);
        }
        let since = self.inner.failed(store, at).await?;
        lock(&self.last).insert(store.as_str().to_owned(), (at, since));
        Ok(since)
    }

    async fn paused(&self, store: &StoreId) -> Result<(), RepoError> {
        self.inner.paused(store).await
    }

    async fn answered(&self, store: &StoreId) -> Result<(), RepoError> {
        lock(&self.last).remove(store.as_str());
        self.inner.answered(store).await
    }

    async fn failing(&self) -> Result<Vec<FailingPos>, RepoError> {
        self.inner.failing().await
    }
}

/// In-memory [`PosHealth`].
#[derive(Debug, Default)]
pub struct InMemoryPosHealth {
    since: Mutex<BTreeMap<String, (DateTime<Utc>, bool)>>,
    fail: Mutex<Option<String>>,
    writes: std::sync::atomic::AtomicUsize,
}

impl InMemoryPosHealth {
    /// Fails the next calls with `message` until [`Self::heal`].
    pub fn fail_with(&self, message: &str) {
        *lock(&self.fail) = Some(message.to_owned());
    }

    /// Stops failing calls.
    pub fn heal(&self) {
        *lock(&self.fail) = None;
    }

    /// Failures recorded (calls of [`PosHealth::failed`] that reached it).
    pub fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What is recorded now, by store id: since when, and whether the watch paused it.
    pub fn records(&self) -> BTreeMap<String, (DateTime<Utc>, bool)> {
        lock(&self.since).clone()
    }

    fn check(&self, operation: &'static str) -> Result<(), RepoError> {
        match lock(&self.fail).as_ref() {
            Some(m) => Err(RepoError::new(operation, m.clone())),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl PosHealth for InMemoryPosHealth {
    async fn failed(&self, store: &StoreId, at: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError> {
        self.check("recording a failing POS")?;
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(lock(&self.since)
            .entry(store.as_str().to_owned())
            .or_insert((at, false))
            .0)
    }

    async fn paused(&self, store: &StoreId) -> Result<(), RepoError> {
        self.check("recording a pause")?;
        if let Some(record) = lock(&self.since).get_mut(store.as_str()) {
            record.1 = true;
        }
        Ok(())
    }

    async fn answered(&self, store: &StoreId) -> Result<(), RepoError> {
        self.check("clearing a failing POS")?;
        lock(&self.since).remove(store.as_str());
        Ok(())
    }

    async fn failing(&self) -> Result<Vec<FailingPos>, RepoError> {
        self.check("reading the failing POS")?;
        Ok(lock(&self.since)
            .iter()
            .filter_map(|(id, (since, paused))| {
                StoreId::parse(id).ok().map(|store| FailingPos {
                    store,
                    since: *since,
                    paused: *paused,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_store_is_recorded_at_most_once_per_interval_from_one_process() {
        let inner = Arc::new(InMemoryPosHealth::default());
        let health = RecordedEvery::new(inner.clone(), chrono::Duration::seconds(30));
        let store = StoreId::parse("S1001").unwrap();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for s in 0..30 {
            let since = health
                .failed(&store, t0 + chrono::Duration::seconds(s))
                .await
                .unwrap();
            assert_eq!(since, t0);
        }
        assert_eq!(inner.writes(), 1, "thirty failures in 30 s: one write");
        health
            .failed(&store, t0 + chrono::Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(inner.writes(), 2, "the record kept from expiring");
        // Once answered, the next failure is written at once, with its own time.
        health.answered(&store).await.unwrap();
        let later = t0 + chrono::Duration::seconds(31);
        assert_eq!(health.failed(&store, later).await.unwrap(), later);
        assert_eq!(inner.writes(), 3);
    }
}
