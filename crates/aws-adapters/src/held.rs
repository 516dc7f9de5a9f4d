//! The held-orders table: a held order's task token with its release times, and an index by
//! store and early-release time to find what a courier may release.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, TimeDelta, Utc};
use order_domain::{Hold, OrderId, StoreId};
use pipeline::ports::{HeldOrder, HeldOrders, RepoError};

use crate::attr::{AttrError, Item, get_n, get_s, n, parse, s};
use crate::repo_error as err;
use crate::tables::{HELD_BY_STORE_INDEX, HELD_RELEASABLE_ATTR, HELD_TTL_ATTR};

/// How long a held item outlives its release time before TTL removes it.
const KEEP_AFTER_RELEASE: TimeDelta = TimeDelta::days(1);

/// The held-orders table.
#[derive(Debug, Clone)]
pub struct DynamoHeld {
    client: Client,
    table: String,
}

impl DynamoHeld {
    /// The IAM actions its calls need on the held-orders table.
    pub const IAM_ACTIONS: &'static [&'static str] = &[
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    ];
    /// The IAM actions its calls need on an index of the table, with the index.
    pub const IAM_INDEX_ACTIONS: &'static [(&'static str, &'static str)] =
        &[("dynamodb:Query", crate::tables::HELD_BY_STORE_INDEX)];

    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn millis(t: i64, name: &str) -> Result<DateTime<Utc>, AttrError> {
    DateTime::from_timestamp_millis(t).ok_or(AttrError {
        name: name.to_owned(),
        problem: "is out of range",
    })
}

fn held(item: &Item) -> Result<HeldOrder, AttrError> {
    crate::attr::check_schema(item)?;
    Ok(HeldOrder {
        order_id: parse(item, "orderId")?,
        store_id: parse(item, "storeId")?,
        task_token: get_s(item, "taskToken")?.to_owned(),
        hold: Hold {
            release_at: millis(get_n(item, "releaseAtMs")?, "releaseAtMs")?,
            early_release_from: millis(get_n(item, HELD_RELEASABLE_ATTR)?, HELD_RELEASABLE_ATTR)?,
        },
        correlation_id: get_s(item, "correlationId")?.to_owned(),
    })
}

fn unreadable(operation: &'static str, e: AttrError) -> RepoError {
    RepoError::new(operation, format!("stored item is unreadable: {e}"))
}

#[async_trait]
impl HeldOrders for DynamoHeld {
    async fn put(&self, h: &HeldOrder) -> Result<(), RepoError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("orderId", s(h.order_id.as_str()))
            .item(
                crate::attr::SCHEMA_VERSION_ATTR,
                crate::attr::schema_version(),
            )
            .item("storeId", s(h.store_id.as_str()))
            .item("taskToken", s(h.task_token.clone()))
            .item("releaseAtMs", n(h.hold.release_at.timestamp_millis()))
            .item(
                HELD_RELEASABLE_ATTR,
                n(h.hold.early_release_from.timestamp_millis()),
            )
            .item("correlationId", s(h.correlation_id.clone()))
            .item(
                HELD_TTL_ATTR,
                n((h.hold.release_at + KEEP_AFTER_RELEASE).timestamp()),
            )
            .send()
            .await
            .map_err(|e| err("store held order", e))?;
        Ok(())
    }

    async fn take(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        const OP: &str = "take held order";
        // The condition makes concurrent takers race on one conditional write: exactly one
        // gets the item, the others fail the condition and get nothing.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .condition_expression("attribute_exists(orderId)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => out
                .attributes()
                .map(held)
                .transpose()
                .map_err(|e| unreadable(OP, e)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err(OP, e)),
        }
    }

    async fn get(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        const OP: &str = "read held order";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| err(OP, e))?;
        out.item()
            .map(held)
            .transpose()
            .map_err(|e| unreadable(OP, e))
    }

    async fn releasable(
        &self,
        store: &StoreId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldOrder>, RepoError> {
        const OP: &str = "query held orders by store";
        let mut found = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(HELD_BY_STORE_INDEX)
            .key_condition_expression("storeId = :store AND #from <= :now")
            .expression_attribute_names("#from", HELD_RELEASABLE_ATTR)
            .expression_attribute_values(":store", s(store.as_str()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| err(OP, e))?;
            for item in page.items() {
                found.push(held(item).map_err(|e| unreadable(OP, e))?);
            }
        }
        found.sort_by_key(|h| h.hold.release_at);
        Ok(found)
    }
}
