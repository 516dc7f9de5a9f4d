//! An in-memory store with the same conditional semantics as the DynamoDB one.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::IdempotencyKey;
use crate::store::{Claim, IdempotencyStore, Record, RecordStatus, StoreError};

/// Records in a map behind a lock.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    records: Mutex<HashMap<String, Record>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record for a key, for tests.
    pub async fn get(&self, key: &IdempotencyKey) -> Option<Record> {
        self.records.lock().await.get(key.as_str()).cloned()
    }
}

#[async_trait]
impl IdempotencyStore for InMemoryStore {
    async fn put_in_progress(
        &self,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut records = self.records.lock().await;
        if let Some(existing) = records.get(record.key.as_str())
            && existing.blocks_claim_by(record.claimant.as_deref(), now)
        {
            return Ok(Claim::Exists(existing.clone()));
        }
        records.insert(record.key.as_str().to_owned(), record.clone());
        Ok(Claim::Claimed)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut records = self.records.lock().await;
        let record = records
            .get_mut(key.as_str())
            .ok_or_else(|| StoreError::Corrupt(format!("no record to complete for {key}")))?;
        record.status = RecordStatus::Completed;
        record.result = Some(result.clone());
        record.expires_at = expires_at;
        record.in_progress_expires_at_ms = None;
        Ok(())
    }

    async fn delete(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.records.lock().await.remove(key.as_str());
        Ok(())
    }
}
