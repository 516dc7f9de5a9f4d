//! The fleet's shared OAuth access tokens (Uber Eats' client credentials token), and the
//! in-memory twin.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

/// An OAuth access token as every process of the fleet shares it (Uber Eats' client
/// credentials token: [`TokenStore`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedToken {
    /// The access token.
    pub token: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// When to fetch the next (a margin before it expires).
    pub refresh_at: DateTime<Utc>,
    /// When it expires (usable until then if a new one cannot be had).
    pub expires_at: DateTime<Utc>,
    /// Whether it was fetched because the one before was refused (401).
    pub after_401: bool,
}

impl std::fmt::Debug for SharedToken {
    /// Times only; never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedToken")
            .field("fetched_at", &self.fetched_at)
            .field("refresh_at", &self.refresh_at)
            .field("expires_at", &self.expires_at)
            .field("after_401", &self.after_401)
            .finish_non_exhaustive()
    }
}

/// Why the fleet's last token fetch failed, kept while fetches are held off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    /// The token endpoint's answer, as the fetching process reported it.
    pub message: String,
    /// Whether retrying cannot help (a refused client credential, an invalid scope).
    pub permanent: bool,
}

/// What the store holds under a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token, once one was kept.
    pub token: Option<SharedToken>,
    /// Until when no other process may fetch: one is fetching, or (with `failure`) fetches
    /// are held off after a failure.
    pub lease_until: Option<DateTime<Utc>>,
    /// The last fetch's failure, while fetches are held off.
    pub failure: Option<FetchFailure>,
}

/// Where the fleet keeps its access tokens, so that one process fetches each and every other
/// reuses it: a partner that rate-limits its token endpoint (Uber: 100 an hour) is asked once
/// per token life, not once per Lambda execution environment. `key` names the partner, client
/// and scope (never the secret).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// What is kept under `key` (read strongly consistent; empty if nothing).
    async fn get(&self, key: &str) -> Result<TokenRecord, RepoError>;
    /// Takes the right to fetch the next token under `key` until `until`: only if no lease
    /// runs at `now` and the token kept is still the one fetched at `seen` (`None`: none
    /// kept), so a process that read before another's token landed does not fetch again.
    /// Whether it was taken.
    async fn lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        seen: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError>;
    /// Keeps `token` under `key` and ends `holder`'s lease, if `holder` still holds it:
    /// whether it was kept (if not, another holder is fetching and will keep its own).
    async fn put(&self, key: &str, holder: &str, token: &SharedToken) -> Result<bool, RepoError>;
    /// `holder`'s fetch failed: no process fetches under `key` until `until`, and those that
    /// look meanwhile are given `failure`. Whether `holder` still held the lease.
    async fn fail(
        &self,
        key: &str,
        holder: &str,
        until: DateTime<Utc>,
        failure: &FetchFailure,
    ) -> Result<bool, RepoError>;
}

/// Shared access tokens in memory, with the DynamoDB store's lease rules (for tests of several
/// "processes" sharing one store). `fail_next` makes its next calls fail, as DynamoDB can.
#[derive(Debug, Default)]
pub struct InMemoryTokenStore {
    items: Mutex<HashMap<String, TokenItem>>,
    failures: AtomicUsize,
}

#[derive(Debug, Default, Clone)]
struct TokenItem {
    record: TokenRecord,
    holder: Option<String>,
}

impl InMemoryTokenStore {
    /// Makes the next `n` calls fail.
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, Ordering::SeqCst);
    }

    fn fault(&self, operation: &'static str) -> Result<(), RepoError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(RepoError::new(operation, "injected fault"));
        }
        Ok(())
    }
}

#[async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn get(&self, key: &str) -> Result<TokenRecord, RepoError> {
        self.fault("read shared token")?;
        Ok(lock(&self.items)
            .get(key)
            .map(|i| i.record.clone())
            .unwrap_or_default())
    }

    async fn lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        seen: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError> {
        self.fault("lease shared token")?;
        let mut items = lock(&self.items);
        let item = items.entry(key.to_owned()).or_default();
        let running = item.record.lease_until.is_some_and(|end| now < end);
        let kept = item.record.token.as_ref().map(|t| t.fetched_at);
        if running || kept != seen {
            return Ok(false);
        }
        item.record.lease_until = Some(until);
        item.record.failure = None;
        item.holder = Some(holder.to_owned());
        Ok(true)
    }

    async fn put(&self, key: &str, holder: &str, token: &SharedToken) -> Result<bool, RepoError> {
        self.fault("keep shared token")?;
        let mut items = lock(&self.items);
        let item = items.entry(key.to_owned()).or_default();
        if item.holder.as_deref() != Some(holder) {
            return Ok(false);
        }
        item.record = TokenRecord {
            token: Some(token.clone()),
            lease_until: None,
            failure: None,
        };
        item.holder = None;
        Ok(true)
    }

    async fn fail(
        &self,
        key: &str,
        holder: &str,
        until: DateTime<Utc>,
        failure: &FetchFailure,
    ) -> Result<bool, RepoError> {
        self.fault("hold off token fetches")?;
        let mut items = lock(&self.items);
        let item = items.entry(key.to_owned()).or_default();
        if item.holder.as_deref() != Some(holder) {
            return Ok(false);
        }
        item.record.lease_until = Some(until);
        item.record.failure = Some(failure.clone());
        item.holder = None;
        Ok(true)
    }
}
