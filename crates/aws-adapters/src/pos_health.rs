//! The POS health table: one item per store whose POS is failing (`storeId`, `sinceMs`, and
//! `expiresAt` a day after the last failure), removed when the POS answers the sweeper's
//! probe. Sparse by design: it holds only the stores failing now, so the watch reads it whole.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, TimeDelta, Utc};
use order_domain::StoreId;
use pipeline::ports::{PosHealth, RepoError};

use crate::attr::{AttrError, Item, get_n, n, parse, s};
use crate::repo_error as err;
use crate::tables::{POS_HEALTH_KEY, POS_HEALTH_TTL_ATTR};

/// How long a record outlives the last failure that refreshed it before TTL removes it (a
/// store whose POS stopped failing but was never probed, say a store removed from the
/// catalogue).
const KEEP_AFTER_FAILURE: TimeDelta = TimeDelta::days(1);

/// The attribute holding since when the POS has been failing (epoch milliseconds).
const SINCE_ATTR: &str = "sinceMs";

/// The POS health table.
#[derive(Debug, Clone)]
pub struct DynamoPosHealth {
    client: Client,
    table: String,
}

impl DynamoPosHealth {
    /// The IAM actions `pos` and `release-order` need: recording failures only.
    pub const RECORDER_IAM_ACTIONS: &'static [&'static str] = &["dynamodb:UpdateItem"];
    /// The IAM actions the sweeper's watch needs: reading every record and removing one.
    pub const WATCHER_IAM_ACTIONS: &'static [&'static str] =
        &["dynamodb:DeleteItem", "dynamodb:Scan"];

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
            .update_expression("SET #since = if_not_exists(#since, :at), #ttl = :ttl")
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

    async fn failing(&self) -> Result<Vec<(StoreId, DateTime<Utc>)>, RepoError> {
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
                let read = parse::<StoreId>(item, POS_HEALTH_KEY)
                    .and_then(|store| Ok((store, since(item)?)))
                    .map_err(|e| RepoError::new(OP, format!("stored item is unreadable: {e}")))?;
                found.push(read);
            }
        }
        found.sort();
        Ok(found)
    }
}
