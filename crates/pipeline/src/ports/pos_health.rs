//! Which stores' POS are failing, as the fleet has seen it, and the in-memory twin.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_domain::StoreId;

use super::*;

/// The stores whose POS failed a call and has not been seen answering since: a record per
/// such store, made by `pos` when a call fails for want of the POS (unreachable, 5xx,
/// throttled) and removed by the sweeper's probe when it answers again. A store whose POS
/// has failed long enough is paused with its partners
/// ([`crate::usecases::pos_watch`]); a store without a record is presumed well.
#[async_trait]
pub trait PosHealth: Send + Sync {
    /// Records `store`'s POS as failing at `at`, unless it is already recorded failing: the
    /// time it has been failing since (the first failure's, or `at`).
    async fn failed(&self, store: &StoreId, at: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError>;

    /// `store`'s POS answered: its record is removed (nothing if it had none).
    async fn answered(&self, store: &StoreId) -> Result<(), RepoError>;

    /// Every store recorded failing, with the time since when. The records are few (only the
    /// stores failing now, each removed when its POS answers or after a day by the table's
    /// TTL), so this reads them all.
    async fn failing(&self) -> Result<Vec<(StoreId, DateTime<Utc>)>, RepoError>;
}

/// In-memory [`PosHealth`].
#[derive(Debug, Default)]
pub struct InMemoryPosHealth {
    since: Mutex<BTreeMap<String, DateTime<Utc>>>,
    fail: Mutex<Option<String>>,
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

    /// What is recorded now, by store id.
    pub fn records(&self) -> BTreeMap<String, DateTime<Utc>> {
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
        Ok(*lock(&self.since)
            .entry(store.as_str().to_owned())
            .or_insert(at))
    }

    async fn answered(&self, store: &StoreId) -> Result<(), RepoError> {
        self.check("clearing a failing POS")?;
        lock(&self.since).remove(store.as_str());
        Ok(())
    }

    async fn failing(&self) -> Result<Vec<(StoreId, DateTime<Utc>)>, RepoError> {
        self.check("reading the failing POS")?;
        Ok(lock(&self.since)
            .iter()
            .filter_map(|(id, at)| StoreId::parse(id).ok().map(|s| (s, *at)))
            .collect())
    }
}
