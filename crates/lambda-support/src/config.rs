//! Configuration is read once, from a map: the process environment in Lambda, a literal map
//! in tests. A missing or malformed variable is named in the error.

use std::collections::HashMap;
use std::str::FromStr;

/// A configuration problem found at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// A variable's value does not parse.
    #[error("environment variable {name}={value:?} is invalid: {why}")]
    Invalid {
        /// Variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it is invalid.
        why: String,
    },
    /// Something named by the configuration could not be loaded.
    #[error("could not load {what}: {why}")]
    Load {
        /// What.
        what: String,
        /// Why.
        why: String,
    },
}

/// Environment variables, from the process or from a map.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    /// A literal environment, for tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// Sets a variable (tests).
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.0.insert(key.to_owned(), value.to_owned());
        self
    }

    /// A variable, if set and not empty.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A required variable.
    pub fn required(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// A required base URL of an API the function calls with credentials (a partner's, the
    /// POS's, Uber's token endpoint): `https://` only, so no credential or customer data is
    /// ever sent in clear; plain `http://` is allowed for loopback hosts alone (`127.0.0.0/8`,
    /// `::1`, `localhost`: the local cloud's simulators). The error names the variable and
    /// the problem.
    pub fn api_url(&self, name: &'static str) -> Result<&str, ConfigError> {
        let value = self.required(name)?;
        let invalid = |why: &str| ConfigError::Invalid {
            name,
            value: value.to_owned(),
            why: why.to_owned(),
        };
        http_clients::check_api_url(value).map_err(invalid)?;
        Ok(value)
    }

    /// A variable parsed, or `default` when unset.
    pub fn parsed_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                value: v.to_owned(),
                why: e.to_string(),
            }),
        }
    }
}

/// Variable names.
pub mod vars {
    /// `aws` (default) or `memory` (every port in memory; for `cargo lambda watch`).
    pub const BACKEND: &str = "PIPELINE_BACKEND";
    /// Orders table name.
    pub const ORDERS_TABLE: &str = "ORDERS_TABLE";
    /// Held-orders table name.
    pub const HELD_ORDERS_TABLE: &str = "HELD_ORDERS_TABLE";
    /// Idempotency table name.
    pub const IDEMPOTENCY_TABLE: &str = "IDEMPOTENCY_TABLE";
    /// The documents table (the claim check: webhook bodies, canonical orders).
    pub const DOCUMENTS_TABLE: &str = "DOCUMENTS_TABLE";
    /// The fleet's shared partner access tokens (Uber Eats'; required where Uber is called on
    /// AWS, so one process fetches each token for all).
    pub const PARTNER_TOKENS_TABLE: &str = "PARTNER_TOKENS_TABLE";
    /// The catalogue's stores table (unset: the catalogue embedded in the binary).
    pub const STORES_TABLE: &str = "STORES_TABLE";
    /// The catalogue's menus table.
    pub const MENUS_TABLE: &str = "MENUS_TABLE";
    /// How long a container caches a store it read from the catalogue (seconds, default 60).
    pub const CATALOG_CACHE_TTL_SECONDS: &str = "CATALOG_CACHE_TTL_SECONDS";
    /// How often a container reports its catalogue lookups and reads as metrics (seconds,
    /// default 60).
    pub const CATALOG_METRICS_SECONDS: &str = "CATALOG_METRICS_SECONDS";
    /// Event bus name.
    pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
    /// Secrets Manager id of the webhook credentials (or `file:<path>` for local runs).
    pub const WEBHOOK_SECRETS_ID: &str = "WEBHOOK_SECRETS_ID";
    /// Secrets Manager id of Uber Eats' API credentials, `{"ubereats":
    /// "client_credentials:<client_id>:<client_secret>"}` (or `file:<path>`). One secret per
    /// partner and one for the POS: a role reads only the credentials of the APIs it calls.
    pub const UBEREATS_CREDENTIALS_ID: &str = "UBEREATS_CREDENTIALS_ID";
    /// Secrets Manager id of DoorDash's API credentials, `{"doordash":
    /// "jwt:<developer_id>:<key_id>:<signing_secret>"}`.
    pub const DOORDASH_CREDENTIALS_ID: &str = "DOORDASH_CREDENTIALS_ID";
    /// Secrets Manager id of Grubhub's API credentials, `{"grubhub":
    /// "mac:<partner_key>:<client_id>:<secret_key>:<issue_date_ms>"}`.
    pub const GRUBHUB_CREDENTIALS_ID: &str = "GRUBHUB_CREDENTIALS_ID";
    /// Secrets Manager id of the chain app's API token, `{"app": "<bearer token>"}`.
    pub const APP_CREDENTIALS_ID: &str = "APP_CREDENTIALS_ID";
    /// Secrets Manager id of the POS gateway's API key, `{"pos": "<api key>"}`.
    pub const POS_CREDENTIALS_ID: &str = "POS_CREDENTIALS_ID";

    /// The variable naming `partner`'s API credentials secret.
    pub const fn credentials_of(partner: order_domain::Partner) -> &'static str {
        match partner {
            order_domain::Partner::UberEats => UBEREATS_CREDENTIALS_ID,
            order_domain::Partner::DoorDash => DOORDASH_CREDENTIALS_ID,
            order_domain::Partner::Grubhub => GRUBHUB_CREDENTIALS_ID,
            order_domain::Partner::ChainApp => APP_CREDENTIALS_ID,
        }
    }
    /// Uber Eats-style API base URL.
    pub const UBEREATS_API_URL: &str = "UBEREATS_API_URL";
    /// Uber Eats' OAuth token endpoint, where the client credentials are exchanged for an
    /// access token (`https://auth.uber.com/oauth/v2/token` on AWS).
    pub const UBEREATS_TOKEN_URL: &str = "UBEREATS_TOKEN_URL";
    /// DoorDash-style API base URL.
    pub const DOORDASH_API_URL: &str = "DOORDASH_API_URL";
    /// Grubhub-style API base URL.
    pub const GRUBHUB_API_URL: &str = "GRUBHUB_API_URL";
    /// The app's API base URL.
    pub const APP_API_URL: &str = "APP_API_URL";
    /// POS gateway base URL.
    pub const POS_API_URL: &str = "POS_API_URL";
    /// Largest webhook body accepted (bytes).
    pub const WEBHOOK_MAX_BODY_BYTES: &str = "WEBHOOK_MAX_BODY_BYTES";
    /// Replay window (seconds); `0` disables it (local sample replays only).
    pub const WEBHOOK_REPLAY_WINDOW_SECONDS: &str = "WEBHOOK_REPLAY_WINDOW_SECONDS";
    /// Dedup record lifetime (seconds).
    pub const IDEMPOTENCY_TTL_SECONDS: &str = "IDEMPOTENCY_TTL_SECONDS";
    /// Memory backend: directory of partner API fixtures (orders to serve when fetched).
    pub const PARTNER_FIXTURES_DIR: &str = "PARTNER_FIXTURES_DIR";
    /// Memory backend: a seed (`events/seed.json`) replayed at start, so each function's own
    /// process holds the orders its samples build on.
    pub const MEMORY_SEED: &str = "PIPELINE_MEMORY_SEED";
    /// CloudWatch namespace of the metrics.
    pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
    /// The Standard (hold) workflow's ARN, where the handover starts executions.
    pub const ORDER_HOLD_WORKFLOW_ARN: &str = "ORDER_HOLD_WORKFLOW_ARN";
    /// The sweeper's grace: how long past its deadline an open order is left to its workflow
    /// before the sweeper ends it (minutes, default 90: longer than the handover queue's hour
    /// and the Standard workflow's partner retries; `pipeline::usecases::sweep`).
    pub const SWEEP_GRACE_MINUTES: &str = "SWEEP_GRACE_MINUTES";
    /// The POS health table: the stores whose POS is failing (`pipeline::ports::PosHealth`).
    pub const POS_HEALTH_TABLE: &str = "POS_HEALTH_TABLE";
    /// How long a store's POS may fail before the sweeper's watch pauses the store with its
    /// partners (seconds, default 600; `pipeline::usecases::pos_watch`).
    pub const POS_PAUSE_AFTER_SECONDS: &str = "POS_PAUSE_AFTER_SECONDS";
    /// The pre-traffic hook: the stack's function name prefix (`orders-prod-`); a deployed
    /// function's name less it is its binary's, which files its samples.
    pub const FUNCTION_NAME_PREFIX: &str = "FUNCTION_NAME_PREFIX";
    /// The pre-traffic hook on the memory backend (`cargo lambda watch`): the watcher's
    /// functions it checks, comma-separated, since there is no deployment to name one.
    pub const CHECK_FUNCTIONS: &str = "CHECK_FUNCTIONS";

    /// Every variable the functions read.
    pub const ALL: [&str; 33] = [
        BACKEND,
        STORES_TABLE,
        MENUS_TABLE,
        CATALOG_CACHE_TTL_SECONDS,
        CATALOG_METRICS_SECONDS,
        ORDERS_TABLE,
        HELD_ORDERS_TABLE,
        IDEMPOTENCY_TABLE,
        EVENT_BUS_NAME,
        WEBHOOK_SECRETS_ID,
        UBEREATS_CREDENTIALS_ID,
        DOORDASH_CREDENTIALS_ID,
        GRUBHUB_CREDENTIALS_ID,
        APP_CREDENTIALS_ID,
        POS_CREDENTIALS_ID,
        UBEREATS_API_URL,
        UBEREATS_TOKEN_URL,
        DOORDASH_API_URL,
        GRUBHUB_API_URL,
        APP_API_URL,
        POS_API_URL,
        WEBHOOK_MAX_BODY_BYTES,
        WEBHOOK_REPLAY_WINDOW_SECONDS,
        IDEMPOTENCY_TTL_SECONDS,
        PARTNER_FIXTURES_DIR,
        MEMORY_SEED,
        METRICS_NAMESPACE,
        ORDER_HOLD_WORKFLOW_ARN,
        SWEEP_GRACE_MINUTES,
        POS_HEALTH_TABLE,
        POS_PAUSE_AFTER_SECONDS,
        FUNCTION_NAME_PREFIX,
        CHECK_FUNCTIONS,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let err = Env::default().required(vars::ORDERS_TABLE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ORDERS_TABLE is required but not set"
        );
    }

    #[test]
    fn a_malformed_number_is_named_with_its_value() {
        let env = Env::from_pairs([(vars::WEBHOOK_MAX_BODY_BYTES, "lots")]);
        let err = env
            .parsed_or::<usize>(vars::WEBHOOK_MAX_BODY_BYTES, 1)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable WEBHOOK_MAX_BODY_BYTES=\"lots\" is invalid"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let env = Env::from_pairs([(vars::EVENT_BUS_NAME, " ")]);
        assert!(env.required(vars::EVENT_BUS_NAME).is_err());
        assert_eq!(
            env.parsed_or(vars::IDEMPOTENCY_TTL_SECONDS, 7_i64).unwrap(),
            7
        );
    }
}
