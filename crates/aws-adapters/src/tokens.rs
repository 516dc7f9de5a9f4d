//! The fleet's shared access tokens in DynamoDB ([`pipeline::ports::TokenStore`]): one item
//! per partner client and scope, holding the token, the lease that lets one process fetch the
//! next, and the last fetch's failure while fetches are held off. Each call is one `GetItem`
//! or one conditional `UpdateItem`; processes waiting for a fetch poll with `GetItem` only.
//!
//! Item: `tokenKey` (partition key); `token`, `fetchedAt`, `refreshAt` and `tokenExpiresAt`
//! (RFC 3339, milliseconds), `after401`; `leaseHolder` and `leaseUntilMs` (epoch
//! milliseconds) while a fetch runs, or `leaseUntilMs` with `failure` and `failurePermanent`
//! while fetches are held off; and `expiresAt` (epoch seconds, the table's TTL: a day past the
//! token's expiry, so an unused key goes).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use pipeline::ports::{FetchFailure, RepoError, SharedToken, TokenRecord, TokenStore};

use crate::attr::{Item, get_bool, get_s, get_time, n, opt_n, opt_s, s, time};
use crate::repo_error;
use crate::tables::{PARTNER_TOKENS_KEY, PARTNER_TOKENS_TTL_ATTR};

/// The partner tokens table.
#[derive(Debug, Clone)]
pub struct DynamoTokenStore {
    client: Client,
    table: String,
}

impl DynamoTokenStore {
    /// The IAM actions its calls need, on the partner tokens table.
    pub const IAM_ACTIONS: &'static [&'static str] = &["dynamodb:GetItem", "dynamodb:UpdateItem"];

    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One conditional `UpdateItem` on `key`: whether its condition held.
    async fn update(
        &self,
        operation: &'static str,
        key: &str,
        update: String,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, RepoError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTNER_TOKENS_KEY, s(key))
            .condition_expression(condition);
        // `token` is a reserved word; DynamoDB refuses a name the expression does not use.
        if update.contains("#token") {
            req = req.expression_attribute_names("#token", "token");
        }
        req = req
            .update_expression(crate::attr::set_schema_version(&update))
            .expression_attribute_values(
                crate::attr::SCHEMA_VERSION_VALUE,
                crate::attr::schema_version(),
            );
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(repo_error(operation, e)),
        }
    }
}

fn record_of(item: &Item) -> Result<TokenRecord, RepoError> {
    let bad = |e: crate::attr::AttrError| RepoError::new("read shared token", e.to_string());
    crate::attr::check_schema(item).map_err(bad)?;
    let token = if item.contains_key("token") {
        Some(SharedToken {
            token: get_s(item, "token").map_err(bad)?.to_owned(),
            fetched_at: get_time(item, "fetchedAt").map_err(bad)?,
            refresh_at: get_time(item, "refreshAt").map_err(bad)?,
            expires_at: get_time(item, "tokenExpiresAt").map_err(bad)?,
            after_401: get_bool(item, "after401"),
        })
    } else {
        None
    };
    Ok(TokenRecord {
        token,
        lease_until: opt_n(item, "leaseUntilMs").and_then(DateTime::from_timestamp_millis),
        failure: opt_s(item, "failure").map(|m| FetchFailure {
            message: m.to_owned(),
            permanent: get_bool(item, "failurePermanent"),
        }),
    })
}

#[async_trait]
impl TokenStore for DynamoTokenStore {
    async fn get(&self, key: &str) -> Result<TokenRecord, RepoError> {
        const OP: &str = "read shared token";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTNER_TOKENS_KEY, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| repo_error(OP, e))?;
        out.item().map_or(Ok(TokenRecord::default()), record_of)
    }

    async fn lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        seen: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError> {
        let free = "(attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now)";
        let mut values = vec![
            (":me", s(holder)),
            (":until", n(until.timestamp_millis())),
            (":now", n(now.timestamp_millis())),
        ];
        let condition = match seen {
            Some(t) => {
                values.push((":seen", time(t)));
                format!("{free} AND fetchedAt = :seen")
            }
            None => format!("{free} AND attribute_not_exists(fetchedAt)"),
        };
        self.update(
            "lease shared token",
            key,
            "SET leaseHolder = :me, leaseUntilMs = :until REMOVE failure, failurePermanent"
                .to_owned(),
            &condition,
            values,
        )
        .await
    }

    async fn put(&self, key: &str, holder: &str, token: &SharedToken) -> Result<bool, RepoError> {
        let ttl = token.expires_at + chrono::TimeDelta::days(1);
        self.update(
            "keep shared token",
            key,
            format!(
                "SET #token = :token, fetchedAt = :fetched, refreshAt = :refresh, \
                 tokenExpiresAt = :expires, after401 = :after, {PARTNER_TOKENS_TTL_ATTR} = :ttl \
                 REMOVE leaseHolder, leaseUntilMs, failure, failurePermanent"
            ),
            "leaseHolder = :me",
            vec![
                (":token", s(token.token.as_str())),
                (":fetched", time(token.fetched_at)),
                (":refresh", time(token.refresh_at)),
                (":expires", time(token.expires_at)),
                (":after", AttributeValue::Bool(token.after_401)),
                (":ttl", n(ttl.timestamp())),
                (":me", s(holder)),
            ],
        )
        .await
    }

    async fn fail(
        &self,
        key: &str,
        holder: &str,
        until: DateTime<Utc>,
        failure: &FetchFailure,
    ) -> Result<bool, RepoError> {
        self.update(
            "hold off token fetches",
            key,
            "SET leaseUntilMs = :until, failure = :failure, failurePermanent = :permanent \
             REMOVE leaseHolder"
                .to_owned(),
            "leaseHolder = :me",
            vec![
                (":until", n(until.timestamp_millis())),
                (
                    ":failure",
                    s(failure.message.chars().take(500).collect::<String>()),
                ),
                (":permanent", AttributeValue::Bool(failure.permanent)),
                (":me", s(holder)),
            ],
        )
        .await
    }
}
