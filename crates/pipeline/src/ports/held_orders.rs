//! Orders held for later (scheduled, or too early for a courier) with their task tokens, and
//! the in-memory twin.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_domain::{Hold, OrderId, StoreId};
use serde::{Deserialize, Serialize};

use super::*;

/// A held order's callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldOrder {
    /// The order.
    pub order_id: OrderId,
    /// Its store.
    pub store_id: StoreId,
    /// The workflow's task token.
    pub task_token: String,
    /// When and from when it may be released.
    pub hold: Hold,
    /// Correlation id.
    pub correlation_id: String,
}

/// The held-orders table.
#[async_trait]
pub trait HeldOrders: Send + Sync {
    /// Stores a held order (its record expires a day after its release time).
    async fn put(&self, held: &HeldOrder) -> Result<(), RepoError>;
    /// Removes and returns a held order; only one caller gets it.
    async fn take(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError>;
    /// Reads a held order.
    async fn get(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError>;
    /// A store's held orders that a courier may release at `now`.
    async fn releasable(
        &self,
        store: &StoreId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldOrder>, RepoError>;
}

/// The held-orders table in memory.
#[derive(Debug, Default)]
pub struct InMemoryHeld {
    held: Mutex<HashMap<OrderId, HeldOrder>>,
}

impl InMemoryHeld {
    /// Every held order, for assertions.
    pub fn all(&self) -> Vec<HeldOrder> {
        lock(&self.held).values().cloned().collect()
    }
}

#[async_trait]
impl HeldOrders for InMemoryHeld {
    async fn put(&self, held: &HeldOrder) -> Result<(), RepoError> {
        lock(&self.held).insert(held.order_id.clone(), held.clone());
        Ok(())
    }

    async fn take(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        Ok(lock(&self.held).remove(id))
    }

    async fn get(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        Ok(lock(&self.held).get(id).cloned())
    }

    async fn releasable(
        &self,
        store: &StoreId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldOrder>, RepoError> {
        let mut due: Vec<_> = lock(&self.held)
            .values()
            .filter(|h| &h.store_id == store && h.hold.releasable_by_courier(now))
            .cloned()
            .collect();
        due.sort_by_key(|h| h.hold.release_at);
        Ok(due)
    }
}
