//! The persistence port: the handful of primitives a store implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::IdempotencyKey;

/// State of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordStatus {
    /// Claimed; the operation runs.
    InProgress,
    /// Done; `result` holds what it returned.
    Completed,
}

impl RecordStatus {
    /// The name stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordStatus::InProgress => "INPROGRESS",
            RecordStatus::Completed => "COMPLETED",
        }
    }
}

/// An idempotency record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The key.
    pub key: IdempotencyKey,
    /// In progress or completed.
    pub status: RecordStatus,
    /// TTL, epoch seconds: after this the record counts as absent.
    pub expires_at: i64,
    /// While in progress: the claimant's deadline, epoch milliseconds.
    pub in_progress_expires_at_ms: Option<i64>,
    /// Hash of the payload that first used the key.
    pub payload_hash: String,
    /// The operation's result, once completed.
    pub result: Option<serde_json::Value>,
    /// Who made the claim, when the caller says: the same identity across the caller's own
    /// retries (for a workflow step, its execution), so that a retry of a crashed attempt is
    /// not mistaken for someone else's repeat.
    pub claimant: Option<String>,
}

impl Record {
    /// Whether this record still blocks a new claim at `now`: it has not expired, and if it is
    /// in progress its claimant's deadline has not passed. Stores implement exactly this in
    /// their conditional write.
    pub fn blocks_claim(&self, now: DateTime<Utc>) -> bool {
        self.blocks_claim_by(None, now)
    }

    /// [`Self::blocks_claim`] for a claim by `claimant`: an in-progress claim made by the same
    /// claimant does not block it (its earlier attempt crashed; the retry takes over).
    pub fn blocks_claim_by(&self, claimant: Option<&str>, now: DateTime<Utc>) -> bool {
        if self.expires_at < now.timestamp() {
            return false;
        }
        if self.status == RecordStatus::InProgress
            && claimant.is_some()
            && self.claimant.as_deref() == claimant
        {
            return false;
        }
        match (self.status, self.in_progress_expires_at_ms) {
            (RecordStatus::InProgress, Some(ms)) => ms >= now.timestamp_millis(),
            _ => true,
        }
    }
}

/// The result of a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is ours.
    Claimed,
    /// A live record holds the key; here it is.
    Exists(Record),
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service failed or could not be reached.
    #[error("idempotency store unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A stored record is not readable.
    #[error("idempotency record is corrupt: {0}")]
    Corrupt(String),
}

/// Storage primitives for idempotency records.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Writes `record` if no record for its key [blocks a claim](Record::blocks_claim_by) by
    /// `record.claimant` at `now`, in one conditional write; otherwise returns the blocking record, read from the
    /// failed write itself.
    async fn put_in_progress(
        &self,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;

    /// Marks the key completed with `result`, living until `expires_at`.
    async fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// Removes the key's record (after a failed operation).
    async fn delete(&self, key: &IdempotencyKey) -> Result<(), StoreError>;
}
