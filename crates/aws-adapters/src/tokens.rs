//! The fleet's shared access tokens in DynamoDB ([`pipeline::ports::TokenStore`]): one item
//! per partner client and scope, holding the token and the lease that lets one process fetch
//! the next. Each call is one `GetItem` or one conditional `UpdateItem`.
//!
//! Item: `tokenKey` (partition key), `token`, `fetchedAt` and `refreshAt` (RFC 3339),
//! `after401`, `leaseHolder`, `leaseUntilMs` (epoch milliseconds), and `expiresAt` (epoch
//! seconds, the table's TTL: a day past the token's refresh time, so an unused key goes).
//! The table is encrypted at rest; only the functions that call Uber Eats may read or write it.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use pipeline::ports::{RepoError, SharedToken, TokenStore};

use crate::attr::{Item, get_bool, get_s, get_time, n, s, time};
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
}

fn conditional_failed<E>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|se| se.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

fn token_of(item: &Item) -> Result<Option<SharedToken>, RepoError> {
    if !item.contains_key("token") {
        return Ok(None);
    }
    let bad = |e: crate::attr::AttrError| RepoError::new("read shared token", e.to_string());
    Ok(Some(SharedToken {
        token: get_s(item, "token").map_err(bad)?.to_owned(),
        fetched_at: get_time(item, "fetchedAt").map_err(bad)?,
        refresh_at: get_time(item, "refreshAt").map_err(bad)?,
        after_401: get_bool(item, "after401"),
    }))
}

#[async_trait]
impl TokenStore for DynamoTokenStore {
    async fn get(&self, key: &str) -> Result<Option<SharedToken>, RepoError> {
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
        out.item().map_or(Ok(None), token_of)
    }

    async fn lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        const OP: &str = "lease shared token";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTNER_TOKENS_KEY, s(key))
            .update_expression("SET leaseHolder = :me, leaseUntilMs = :until")
            .condition_expression("attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now")
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if conditional_failed(&e) => Ok(false),
            Err(e) => Err(repo_error(OP, e)),
        }
    }

    async fn put(&self, key: &str, holder: &str, token: &SharedToken) -> Result<bool, RepoError> {
        const OP: &str = "keep shared token";
        let expires = token.refresh_at + chrono::TimeDelta::days(1);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTNER_TOKENS_KEY, s(key))
            .update_expression(format!(
                "SET #token = :token, fetchedAt = :fetched, refreshAt = :refresh, \
                 after401 = :after, {PARTNER_TOKENS_TTL_ATTR} = :expires \
                 REMOVE leaseHolder, leaseUntilMs"
            ))
            .condition_expression("leaseHolder = :me")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(token.token.as_str()))
            .expression_attribute_values(":fetched", time(token.fetched_at))
            .expression_attribute_values(":refresh", time(token.refresh_at))
            .expression_attribute_values(
                ":after",
                aws_sdk_dynamodb::types::AttributeValue::Bool(token.after_401),
            )
            .expression_attribute_values(":expires", n(expires.timestamp()))
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if conditional_failed(&e) => Ok(false),
            Err(e) => Err(repo_error(OP, e)),
        }
    }
}
