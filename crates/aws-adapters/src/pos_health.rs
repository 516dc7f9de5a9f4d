//! The POS health table: one item per store whose POS is failing (`storeId`, `sinceMs`,
//! `pausedByWatch` once the watch paused the store, and `expiresAt` a day after the last
//! failure or failed probe), removed when the POS answers the sweeper's probe. Sparse by design: it holds only the stores failing now, so the watch reads it whole.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, TimeDelta, Utc};
use order_domain::StoreId;
use pipeline::ports::{FailingPos, PosHealth, RepoError};

use crate::attr::{AttrError, Item, get_n, n, parse, s};
use crate::repo_error as err;
use crate::tables::{POS_HEALTH_KEY, POS_HEALTH_TTL_ATTR};

/// How long a record outlives the last failure that refreshed it before TTL removes it (a
/// store whose POS stopped failing but was never probed, say a store removed from the
/// catalogue).
const KEEP_AFTER_FAILURE: TimeDelta = TimeDelta::days(1);

/// The attribute holding since when the POS has been failing (epoch milliseconds).
const SINCE_ATTR: &str = "sinceMs";

/// The attribute set once the watch paused the store.
const PAUSED_ATTR: &str = "pausedByWatch";

/// The POS health table.
#[derive(Debug, Clone)]
pub struct DynamoPosHealth {
    client: Client,
    table: String,
}

impl DynamoPosHealth {
    /// The IAM actions `pos` and `release-order` need: recording failures only.
    pub const RECORDER_IAM_ACTIONS: &'static [&'static str] = &["dynamodb:UpdateItem"];
    /// The IAM actions the sweeper's watch needs: reading every record, keeping one alive
    /// or marking it paused, removing one.
    pub const WATCHER_IAM_ACTIONS: &'static [&'static str] = &[
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
    ];

    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn since(item: &Item) -> Result<DateTime<Utc>, AttrError> {
    DateTime::from_timestamp_millis(get_n(item, SINCE_ATTR)?).ok_or(AttrError {
        name: SINCE_ATTR.to_owned(),
        problem: "is out of range",
    })
}

#[async_trait]
impl PosHealth for DynamoPosHealth {
    async fn failed(&self, store: &StoreId, at: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError> {
        const OP: &str = "record a failing POS";
        // One write whatever the record's state: the first failure's time is kept, the
        // expiry moves on with each failure.
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(POS_HEALTH_KEY, s(store.as_str()))
            .update_expression(crate::attr::set_schema_version(
                "SET #since = if_not_exists(#since, :at), #ttl = :ttl",
            ))
            .expression_attribute_values(
                crate::attr::SCHEMA_VERSION_VALUE,
                crate::attr::schema_version(),
            )
            .expression_attribute_names("#since", SINCE_ATTR)
            .expression_attribute_names("#ttl", POS_HEALTH_TTL_ATTR)
            .expression_attribute_values(":at", n(at.timestamp_millis()))
            .expression_attribute_values(":ttl", n((at + KEEP_AFTER_FAILURE).timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| err(OP, e))?;
        out.attributes()
            .map(since)
            .transpose()
            .map_err(|e| RepoError::new(OP, format!("stored item is unreadable: {e}")))?
            .ok_or_else(|| RepoError::new(OP, "the update returned no item"))
    }

    async fn paused(&self, store: &StoreId) -> Result<(), RepoError> {
        const OP: &str = "record a store paused for its POS";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(POS_HEALTH_KEY, s(store.as_str()))
            .update_expression(crate::attr::set_schema_version("SET #paused = :yes"))
            .expression_attribute_values(
                crate::attr::SCHEMA_VERSION_VALUE,
                crate::attr::schema_version(),
            )
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#paused", PAUSED_ATTR)
            .expression_attribute_names("#key", POS_HEALTH_KEY)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone meanwhile (answered): nothing to remember.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(err(OP, e)),
        }
    }

    async fn answered(&self, store: &StoreId) -> Result<(), RepoError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(POS_HEALTH_KEY, s(store.as_str()))
            .send()
            .await
            .map_err(|e| err("clear a failing POS", e))?;
        Ok(())
    }

    async fn failing(&self) -> Result<Vec<FailingPos>, RepoError> {
        const OP: &str = "read the failing POS";
        let mut found = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| err(OP, e))?;
            for item in page.items() {
                let read = crate::attr::check_schema(item)
                    .and_then(|()| parse::<StoreId>(item, POS_HEALTH_KEY))
                    .and_then(|store| {
                        Ok(FailingPos {
                            store,
                            since: since(item)?,
                            paused: matches!(
                                item.get(PAUSED_ATTR),
                                Some(AttributeValue::Bool(true))
                            ),
                        })
                    })
                    .map_err(|e| RepoError::new(OP, format!("stored item is unreadable: {e}")))?;
                found.push(read);
            }
        }
        found.sort();
        Ok(found)
    }
}
