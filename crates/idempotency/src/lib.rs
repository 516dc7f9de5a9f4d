//! Idempotency with the semantics of AWS Lambda Powertools, over a small storage port.
//!
//! * the key is a hash of chosen fields of the input (see [`KeySpec`]);
//! * one conditional write claims it ([`IdempotencyStore::put_in_progress`]); when the claim
//!   fails the store hands back the existing record from the same call, so a duplicate costs no
//!   read;
//! * an in-progress claim expires with the caller's deadline, so a crashed invocation does
//!   not block its retries forever;
//! * a completed record returns the stored result; a record whose payload hash differs is an
//!   error ([`IdempotencyError::PayloadMismatch`]), never a silent drop;
//! * a caller may name itself (a claimant, e.g. a workflow execution): its own retry after a
//!   crash takes over its in-progress claim, and gets its own completed result back as
//!   [`Outcome::Resumed`] rather than as someone else's repeat;
//! * records expire by TTL (`expires_at`, epoch seconds); an expired record counts as absent
//!   even before the store deletes it.

mod key;
mod memory;
mod store;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use key::{IdempotencyKey, KeySpec, canonical_json, sha256_hex};
pub use memory::InMemoryStore;
pub use store::{Claim, IdempotencyStore, Record, RecordStatus, StoreError};

/// How long records live.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Lifetime of a record after it is written (the TTL).
    pub ttl: TimeDelta,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ttl: TimeDelta::hours(48),
        }
    }
}

/// What a guarded call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// First time: the operation ran.
    Fresh(T),
    /// A repeat: the stored result of the first run.
    Replayed(T),
    /// A retry by the claimant whose earlier attempt completed the operation (and then
    /// crashed or lost its answer): that attempt's stored result.
    Resumed(T),
}

impl<T> Outcome<T> {
    /// The result, fresh or replayed.
    pub fn into_inner(self) -> T {
        match self {
            Outcome::Fresh(t) | Outcome::Replayed(t) | Outcome::Resumed(t) => t,
        }
    }

    /// Whether this is a repeat.
    pub fn is_replay(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }
}

/// Why a guarded call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// The same key arrived with a different payload.
    #[error(
        "idempotency key {key} was first used with a different payload (hash {stored}, now {given})"
    )]
    PayloadMismatch {
        /// The key.
        key: IdempotencyKey,
        /// Hash stored with the first use.
        stored: String,
        /// Hash of this call's payload.
        given: String,
    },
    /// Another invocation holds the key and its deadline has not passed.
    #[error("idempotency key {key} is in progress elsewhere until {until}")]
    InProgress {
        /// The key.
        key: IdempotencyKey,
        /// When the other claim expires.
        until: DateTime<Utc>,
    },
    /// The store failed.
    #[error("idempotency store failed")]
    Store(#[source] StoreError),
    /// The stored result does not deserialize into the expected type.
    #[error("stored result for {key} does not match the expected type")]
    CorruptResult {
        /// The key.
        key: IdempotencyKey,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The operation itself failed; its claim was released so a retry can run it again.
    #[error(transparent)]
    Operation(E),
}

/// Guards operations with idempotency records in a store.
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    config: Config,
}

impl Idempotency {
    /// Guards with `store` and `config`.
    pub fn new(store: Arc<dyn IdempotencyStore>, config: Config) -> Self {
        Self { store, config }
    }

    /// Runs `operation` once per key: claims the key (in progress until `deadline`), runs the
    /// operation, stores its result; a repeat gets the stored result back.
    pub async fn run<T, E, F, Fut>(
        &self,
        key: &IdempotencyKey,
        payload_hash: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
        operation: F,
    ) -> Result<Outcome<T>, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_as(None, key, payload_hash, now, deadline, operation)
            .await
    }

    /// [`Self::run`] by a named `claimant`: its retry after a crash takes over its own
    /// in-progress claim (running `operation` again, which must therefore tolerate having run
    /// before) and gets its own completed result as [`Outcome::Resumed`].
    pub async fn run_as<T, E, F, Fut>(
        &self,
        claimant: Option<&str>,
        key: &IdempotencyKey,
        payload_hash: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
        operation: F,
    ) -> Result<Outcome<T>, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let record = Record {
            key: key.clone(),
            status: RecordStatus::InProgress,
            expires_at: (now + self.config.ttl).timestamp(),
            in_progress_expires_at_ms: Some(deadline.timestamp_millis()),
            payload_hash: payload_hash.to_owned(),
            result: None,
            claimant: claimant.map(str::to_owned),
        };
        match self
            .store
            .put_in_progress(&record, now)
            .await
            .map_err(IdempotencyError::Store)?
        {
            Claim::Claimed => {}
            Claim::Exists(existing) => return Self::replay(key, payload_hash, claimant, existing),
        }
        match operation().await {
            Ok(value) => {
                let json = serde_json::to_value(&value).map_err(|e| {
                    IdempotencyError::Store(StoreError::Corrupt(format!(
                        "result does not serialize: {e}"
                    )))
                })?;
                self.store
                    .complete(key, &json, (now + self.config.ttl).timestamp())
                    .await
                    .map_err(IdempotencyError::Store)?;
                Ok(Outcome::Fresh(value))
            }
            Err(e) => {
                // Release the claim so a retry runs the operation again; if that fails too the
                // claim still expires with the deadline, so the operation's error stands, but
                // the release's failure is logged: a retry will see `InProgress` until then.
                if let Err(release) = self.store.delete(key).await {
                    tracing::warn!(
                        key = %key,
                        error = %release,
                        "could not release the idempotency claim after a failed operation; retries wait for its expiry"
                    );
                }
                Err(IdempotencyError::Operation(e))
            }
        }
    }

    fn replay<T: DeserializeOwned, E>(
        key: &IdempotencyKey,
        payload_hash: &str,
        claimant: Option<&str>,
        existing: Record,
    ) -> Result<Outcome<T>, IdempotencyError<E>> {
        let own = claimant.is_some() && existing.claimant.as_deref() == claimant;
        if existing.payload_hash != payload_hash {
            return Err(IdempotencyError::PayloadMismatch {
                key: key.clone(),
                stored: existing.payload_hash,
                given: payload_hash.to_owned(),
            });
        }
        match existing.status {
            RecordStatus::InProgress => Err(IdempotencyError::InProgress {
                key: key.clone(),
                until: existing
                    .in_progress_expires_at_ms
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or_default(),
            }),
            RecordStatus::Completed => {
                let value = existing.result.unwrap_or(serde_json::Value::Null);
                serde_json::from_value(value)
                    .map(if own {
                        Outcome::Resumed
                    } else {
                        Outcome::Replayed
                    })
                    .map_err(|source| IdempotencyError::CorruptResult {
                        key: key.clone(),
                        source,
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests;
