//! Each partner's webhook credential, as intake checks signatures with it.
//!
//! The secret is a flat JSON object: `"<partner>"` holds the current credential and, during a
//! rotation, `"<partner>.previous"` the one it replaces (docs/operations.md, "Rotating a
//! webhook secret"). A signature is checked against the current credential, then the
//! previous; when neither matches (or the partner has none), the secret is read again, at most
//! once a minute per execution environment, so a rotation reaches warm containers within a
//! minute of the partner's first request signed with the new credential, and a flood of bad
//! signatures costs one Secrets Manager read a minute. Every credential is checked for
//! strength when it is read ([`partners::auth::check_webhook_credential`]): a weak one
//! disables its partner alone, named in the log, and the others go on.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use order_domain::Partner;
use partners::auth::{self, AuthError, Headers, Verified, WeakCredential};
use tracing::{error, info, warn};

use crate::ports::RepoError;

/// The name of a partner's previous credential in the secret: `"<partner>.previous"`.
pub const PREVIOUS_SUFFIX: &str = ".previous";

/// How often a failed check may read the secret again (per execution environment).
pub const REREAD_AT_MOST_EVERY: TimeDelta = TimeDelta::seconds(60);

/// Where the webhook secret is read from again (Secrets Manager, deployed; a file, locally):
/// its flat `{"name": "value"}` map.
#[async_trait]
pub trait WebhookSecretSource: Send + Sync {
    /// Reads the secret now, whatever was read before.
    async fn read(&self) -> Result<HashMap<String, String>, RepoError>;
}

/// Why a webhook was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The secret holds no credential for the partner.
    #[error("no credential configured for {0}")]
    NotConfigured(Partner),
    /// The partner's credential was refused when it was read.
    #[error("the credential configured for {0} was refused when read: {1}")]
    Refused(Partner, WeakCredential),
    /// The request's signature or token does not authenticate.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

#[derive(Clone)]
struct Credential {
    current: String,
    previous: Option<String>,
}

type Loaded = HashMap<Partner, Result<Credential, WeakCredential>>;

/// Each partner's webhook credential, current and previous. Never printed.
pub struct WebhookSecrets {
    loaded: RwLock<Loaded>,
    source: Option<Arc<dyn WebhookSecretSource>>,
    last_read: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

impl Default for WebhookSecrets {
    fn default() -> Self {
        Self::new(HashMap::new())
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        f.debug_set().entries(loaded.keys()).finish()
    }
}

impl WebhookSecrets {
    /// Current credentials by partner (no previous ones, never read again), each checked.
    pub fn new(map: HashMap<Partner, String>) -> Self {
        Self::from_secret(
            map.into_iter()
                .map(|(p, v)| (p.as_str().to_owned(), v))
                .collect(),
        )
    }

    /// The credentials a secret holds (`"<partner>"`, `"<partner>.previous"`), each checked;
    /// names that are no partner's are ignored.
    pub fn from_secret(map: HashMap<String, String>) -> Self {
        Self {
            loaded: RwLock::new(parse(map)),
            source: None,
            last_read: tokio::sync::Mutex::new(None),
        }
    }

    /// Reads the secret again from `source` when a check fails, at most once every
    /// [`REREAD_AT_MOST_EVERY`] (the first time `REREAD_AT_MOST_EVERY` after `read_at`).
    pub fn rereading_from(
        mut self,
        source: Arc<dyn WebhookSecretSource>,
        read_at: DateTime<Utc>,
    ) -> Self {
        self.source = Some(source);
        self.last_read = tokio::sync::Mutex::new(Some(read_at));
        self
    }

    /// The partners whose credentials were refused, and why (logged at init).
    pub fn refused(&self) -> Vec<(Partner, WeakCredential)> {
        let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = loaded
            .iter()
            .filter_map(|(p, c)| c.as_ref().err().map(|w| (*p, w.clone())))
            .collect();
        out.sort_by_key(|(p, _)| *p);
        out
    }

    /// Authenticates a webhook of `partner`'s: the current credential, then the previous;
    /// if neither does (or the partner has none), the secret read again when allowed and the
    /// check made once more.
    pub async fn verify(
        &self,
        partner: Partner,
        headers: &(impl Headers + ?Sized + Sync),
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, CredentialError> {
        let first = self.check(partner, headers, body);
        let rotated = matches!(
            first,
            Err(CredentialError::Auth(AuthError::BadSignature)
                | CredentialError::NotConfigured(_)
                | CredentialError::Refused(..))
        );
        if rotated && self.read_again(now).await {
            return self.check(partner, headers, body);
        }
        first
    }

    fn check(
        &self,
        partner: Partner,
        headers: &(impl Headers + ?Sized),
        body: &[u8],
    ) -> Result<Verified, CredentialError> {
        let credential = {
            let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            loaded.get(&partner).cloned()
        };
        match credential {
            None => Err(CredentialError::NotConfigured(partner)),
            Some(Err(weak)) => Err(CredentialError::Refused(partner, weak)),
            Some(Ok(c)) => match (
                auth::verify(partner, headers, body, &c.current),
                &c.previous,
            ) {
                (Err(AuthError::BadSignature), Some(previous)) => {
                    let v = auth::verify(partner, headers, body, previous)?;
                    info!(
                        partner = partner.as_str(),
                        "webhook authenticated by the previous credential (a rotation in progress)"
                    );
                    Ok(v)
                }
                (r, _) => Ok(r?),
            },
        }
    }

    /// Reads the secret again if there is a source and the last read is old enough: whether
    /// it was read.
    async fn read_again(&self, now: DateTime<Utc>) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        let mut last = self.last_read.lock().await;
        if last.is_some_and(|t| now - t < REREAD_AT_MOST_EVERY) {
            return false;
        }
        *last = Some(now);
        match source.read().await {
            Ok(map) => {
                let fresh = parse(map);
                *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                for (partner, why) in self.refused() {
                    error!(partner = partner.as_str(), problem = %why, "webhook credential refused; the partner's webhooks are refused until it is replaced");
                }
                true
            }
            Err(e) => {
                warn!(error = %e, "could not read the webhook secret again; the credentials read before stay");
                false
            }
        }
    }
}

fn parse(map: HashMap<String, String>) -> Loaded {
    let mut current: HashMap<Partner, String> = HashMap::new();
    let mut previous: HashMap<Partner, String> = HashMap::new();
    for (name, value) in map {
        let (partner, slot) = match name.strip_suffix(PREVIOUS_SUFFIX) {
            Some(p) => (p, &mut previous),
            None => (name.as_str(), &mut current),
        };
        if let Ok(p) = partner.parse::<Partner>() {
            slot.insert(p, value);
        }
    }
    current
        .into_iter()
        .map(|(p, current)| {
            let checked = auth::check_webhook_credential(p, &current).map(|()| {
                // A weak previous credential is dropped, not fatal: the current one stands.
                let previous = previous
                    .remove(&p)
                    .filter(|v| auth::check_webhook_credential(p, v).is_ok());
                Credential { current, previous }
            });
            (p, checked)
        })
        .collect()
}

#[cfg(test)]
#[path = "webhook_secrets_tests.rs"]
mod tests;
