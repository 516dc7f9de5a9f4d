//! The orders table: one item per order with its status history. Status changes are
//! conditional updates whose condition is the lifecycle's allowed predecessors, so a late or
//! retried writer never moves an order backwards; a failed condition returns the item as it
//! was (`ALL_OLD`), so classifying the refusal costs no read.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use order_domain::{OrderId, OrderStatus, PosOrderId};
use pipeline::ports::{
    Created, NewOrder, OrderHandle, OrderRecord, OrdersRepo, RepoError, StatusChange, StatusUpdate,
    Transition,
};

use crate::attr::{self, Item, get_bool, get_s, get_time, n, opt_n, opt_s, parse, s, time};
use crate::repo_error as repo_err;
use crate::tables::{
    ORDERS_OPEN_UNTIL_ATTR, ORDERS_SWEEP_INDEX, ORDERS_SWEEP_SHARD_ATTR, ORDERS_TTL_ATTR,
};

/// How long an order's record is kept after it is created: 90 days (the Standard workflow's
/// execution history and the logs are kept that long, so every execution an operator finds
/// still has its record) past the furthest an order may be scheduled
/// ([`order_domain::MAX_SCHEDULE_DAYS`]). DynamoDB's TTL deletes it after that, typically
/// within days (the DynamoDB developer guide, "Time to Live").
pub const KEEP_FOR: chrono::TimeDelta =
    chrono::TimeDelta::days(90 + order_domain::MAX_SCHEDULE_DAYS as i64);

/// The orders table.
#[derive(Debug, Clone)]
pub struct DynamoOrders {
    client: Client,
    table: String,
}

impl DynamoOrders {
    /// The IAM actions its calls need, on the orders table.
    pub const IAM_ACTIONS: &'static [&'static str] = &[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ];
    /// The IAM actions the sweeper's calls need on the table (it reads records and marks
    /// sweeps; it never creates one).
    pub const SWEEPER_IAM_ACTIONS: &'static [&'static str] =
        &["dynamodb:GetItem", "dynamodb:UpdateItem"];
    /// The IAM actions the sweeper's calls need on an index of the table, with the index.
    pub const IAM_SWEEP_INDEX_ACTIONS: &'static [(&'static str, &'static str)] =
        &[("dynamodb:Query", ORDERS_SWEEP_INDEX)];

    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn corrupt(operation: &'static str, e: impl std::fmt::Display) -> RepoError {
    RepoError::new(operation, format!("stored item is unreadable: {e}"))
}

fn change(c: &StatusChange) -> AttributeValue {
    let mut m = Item::new();
    m.insert("status".into(), s(c.status.as_str()));
    m.insert("at".into(), time(c.at));
    if let Some(note) = &c.note {
        m.insert("note".into(), s(note.clone()));
    }
    AttributeValue::M(m)
}

fn read_change(v: &AttributeValue) -> Option<StatusChange> {
    let m = v.as_m().ok()?;
    Some(StatusChange {
        status: parse(m, "status").ok()?,
        at: get_time(m, "at").ok()?,
        note: opt_s(m, "note").map(str::to_owned),
    })
}

/// The attribute naming the execution that created the record (its owner); the workflow's
/// `Record failure` condition reads it too.
pub const CREATED_BY: &str = "createdBy";

fn record(item: &Item) -> Result<OrderRecord, attr::AttrError> {
    attr::check_schema(item)?;
    let order = match opt_s(item, "order") {
        Some(json) => {
            Some(
                serde_json::from_str::<OrderHandle>(json).map_err(|_| attr::AttrError {
                    name: "order".into(),
                    problem: "is not an order handle",
                })?,
            )
        }
        None => None,
    };
    Ok(OrderRecord {
        order_id: parse(item, "orderId")?,
        partner: parse(item, "partner")?,
        partner_order_id: parse(item, "partnerOrderId")?,
        store_id: opt_s(item, "storeId").and_then(|v| v.parse().ok()),
        status: parse(item, "status")?,
        correlation_id: get_s(item, "correlationId")?.to_owned(),
        created_by: opt_s(item, CREATED_BY).map(str::to_owned),
        history: item
            .get("history")
            .and_then(|h| h.as_l().ok())
            .map(|l| l.iter().filter_map(read_change).collect())
            .unwrap_or_default(),
        order,
        pos_order_id: opt_s(item, "posOrderId").and_then(|v| v.parse::<PosOrderId>().ok()),
        pos_voided: get_bool(item, "posVoided"),
        cancel_requested: get_bool(item, "cancelRequested"),
        reason: opt_s(item, "reason").map(str::to_owned),
        created_at: get_time(item, "createdAt")?,
        updated_at: get_time(item, "updatedAt")?,
        open_until: opt_n(item, ORDERS_OPEN_UNTIL_ATTR).and_then(DateTime::from_timestamp_millis),
        received: match opt_s(item, "received") {
            Some(json) => Some(serde_json::from_str(json).map_err(|_| attr::AttrError {
                name: "received".into(),
                problem: "is not JSON",
            })?),
            None => None,
        },
        sweeps: opt_n(item, "sweeps").map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
    })
}

/// The sweep index's partition key of an order.
fn shard(id: &OrderId) -> AttributeValue {
    s(pipeline::ports::sweep_shard(id).to_string())
}

/// Where a cancellation that arrived before its order is kept: an item of its own in the
/// orders table (`cancel-request#<orderId>`), never the order's record, so the order's
/// creation stays one conditional put.
fn early_cancellation_key(id: &OrderId) -> String {
    format!("cancel-request#{id}")
}

#[async_trait]
impl OrdersRepo for DynamoOrders {
    async fn create(&self, new: NewOrder) -> Result<Created, RepoError> {
        const OP: &str = "create order record";
        let first = StatusChange {
            status: OrderStatus::Received,
            at: new.at,
            note: None,
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("orderId", s(new.order_id.as_str()))
            .item(attr::SCHEMA_VERSION_ATTR, attr::schema_version())
            .item("partner", s(new.partner.as_str()))
            .item("partnerOrderId", s(new.partner_order_id.as_str()))
            .item("status", s(OrderStatus::Received.as_str()))
            .item("correlationId", s(new.correlation_id))
            .item("history", AttributeValue::L(vec![change(&first)]))
            .item("createdAt", time(new.at))
            .item("updatedAt", time(new.at))
            // Open from its creation: it should be accepted (or refused) at once.
            .item(ORDERS_SWEEP_SHARD_ATTR, shard(&new.order_id))
            .item(ORDERS_OPEN_UNTIL_ATTR, n(new.at.timestamp_millis()))
            .item(ORDERS_TTL_ATTR, n((new.at + KEEP_FOR).timestamp()));
        if let Some(by) = new.created_by {
            put = put.item(CREATED_BY, s(by));
        }
        if let Some(received) = &new.received {
            let json = serde_json::to_string(received).map_err(|e| RepoError::caused(OP, e))?;
            put = put.item("received", s(json));
        }
        let result = put
            .condition_expression("attribute_not_exists(orderId)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::New),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(ccf)) => {
                    let item = ccf.item().ok_or_else(|| {
                        RepoError::new(OP, "condition failed without the existing item")
                    })?;
                    Ok(Created::Existing(Box::new(
                        record(item).map_err(|e| corrupt(OP, e))?,
                    )))
                }
                _ => Err(repo_err(OP, e)),
            },
        }
    }

    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        update: StatusUpdate,
    ) -> Result<Transition, RepoError> {
        const OP: &str = "change order status";
        let allowed = to.allowed_predecessors();
        if allowed.is_empty() {
            // Nothing may move to `to` (the first status): no write can apply, so the answer
            // is where the order is, read consistently.
            return Ok(match self.get(id).await? {
                None => Transition::Missing,
                Some(r) if r.status == to => Transition::AlreadyThere(Box::new(r)),
                Some(r) => Transition::Refused { current: r.status },
            });
        }
        let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!(":p{i}")).collect();
        let mut set = vec![
            "#status = :to",
            "updatedAt = :at",
            "history = list_append(history, :change)",
        ];
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .condition_expression(format!("#status IN ({})", placeholders.join(", ")))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(
                ":change",
                AttributeValue::L(vec![change(&StatusChange {
                    status: to,
                    at,
                    note: update.note,
                })]),
            )
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (p, status) in placeholders.iter().zip(allowed) {
            req = req.expression_attribute_values(p, s(status.as_str()));
        }
        if let Some(reason) = update.reason {
            set.push("reason = :reason");
            req = req.expression_attribute_values(":reason", s(reason));
        }
        if let Some(pos) = update.pos_order_id {
            set.push("posOrderId = :pos");
            req = req.expression_attribute_values(":pos", s(pos.as_str()));
        }
        if let Some(order) = update.order {
            let json = serde_json::to_string(&order).map_err(|e| RepoError::caused(OP, e))?;
            set.push("#order = :order");
            set.push("storeId = :store");
            req = req
                .expression_attribute_names("#order", "order")
                .expression_attribute_values(":order", s(json))
                .expression_attribute_values(":store", s(order.store_id.as_str()));
        }
        // An order that ends (or reaches the POS) leaves the sweep index.
        let mut remove = Vec::new();
        if !to.is_open() {
            remove.push("#shard");
            remove.push("#openUntil");
            req = req
                .expression_attribute_names("#shard", ORDERS_SWEEP_SHARD_ATTR)
                .expression_attribute_names("#openUntil", ORDERS_OPEN_UNTIL_ATTR);
        } else if let Some(until) = update.open_until {
            set.push("#openUntil = :openUntil");
            req = req
                .expression_attribute_names("#openUntil", ORDERS_OPEN_UNTIL_ATTR)
                .expression_attribute_values(":openUntil", n(until.timestamp_millis()));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        match req.update_expression(expression).send().await {
            Ok(out) => {
                let item = out
                    .attributes()
                    .ok_or_else(|| RepoError::new(OP, "update returned no attributes"))?;
                Ok(Transition::Applied(Box::new(
                    record(item).map_err(|e| corrupt(OP, e))?,
                )))
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(ccf)) => match ccf.item() {
                    None => Ok(Transition::Missing),
                    Some(item) => {
                        let current = record(item).map_err(|e| corrupt(OP, e))?;
                        if current.status == to {
                            Ok(Transition::AlreadyThere(Box::new(current)))
                        } else {
                            Ok(Transition::Refused {
                                current: current.status,
                            })
                        }
                    }
                },
                _ => Err(repo_err(OP, e)),
            },
        }
    }

    async fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepoError> {
        const OP: &str = "read order record";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| repo_err(OP, e))?;
        out.item()
            .map(record)
            .transpose()
            .map_err(|e| corrupt(OP, e))
    }

    async fn request_cancellation(
        &self,
        id: &OrderId,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<OrderRecord>, RepoError> {
        const OP: &str = "flag cancellation";
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .condition_expression("attribute_exists(orderId)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":at", time(at))
            .return_values(ReturnValue::AllNew);
        req = match reason {
            Some(r) => req
                .update_expression("SET cancelRequested = :t, updatedAt = :at, reason = :reason")
                .expression_attribute_values(":reason", s(r)),
            None => req.update_expression("SET cancelRequested = :t, updatedAt = :at"),
        };
        match req.send().await {
            Ok(out) => out
                .attributes()
                .map(record)
                .transpose()
                .map_err(|e| corrupt(OP, e)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(repo_err(OP, e)),
        }
    }

    async fn remember_cancellation(
        &self,
        id: &OrderId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        const OP: &str = "keep an early cancellation";
        self.client
            .put_item()
            .table_name(&self.table)
            .item("orderId", s(early_cancellation_key(id)))
            .item(attr::SCHEMA_VERSION_ATTR, attr::schema_version())
            .item("reason", s(reason))
            .item("createdAt", time(at))
            .item(ORDERS_TTL_ATTR, n((at + KEEP_FOR).timestamp()))
            .send()
            .await
            .map_err(|e| repo_err(OP, e))?;
        Ok(())
    }

    async fn early_cancellation(&self, id: &OrderId) -> Result<Option<String>, RepoError> {
        const OP: &str = "read an early cancellation";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(early_cancellation_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| repo_err(OP, e))?;
        Ok(out
            .item()
            .and_then(|i| i.get("reason"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    async fn overdue(
        &self,
        shard: u8,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OrderId>, RepoError> {
        const OP: &str = "query overdue orders";
        let mut found = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ORDERS_SWEEP_INDEX)
            .key_condition_expression("#shard = :shard AND #openUntil < :before")
            .expression_attribute_names("#shard", ORDERS_SWEEP_SHARD_ATTR)
            .expression_attribute_names("#openUntil", ORDERS_OPEN_UNTIL_ATTR)
            .expression_attribute_values(":shard", s(shard.to_string()))
            .expression_attribute_values(":before", n(before.timestamp_millis()))
            .limit(i32::try_from(limit.min(1_000)).unwrap_or(1_000))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| repo_err(OP, e))?;
            for item in page.items() {
                found.push(parse(item, "orderId").map_err(|e| corrupt(OP, e))?);
                if found.len() >= limit {
                    return Ok(found);
                }
            }
        }
        Ok(found)
    }

    async fn mark_swept(
        &self,
        id: &OrderId,
        sweeps: u32,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        const OP: &str = "record a sweep";
        let counted = if sweeps == 0 {
            "(attribute_not_exists(sweeps) OR sweeps = :old)"
        } else {
            "sweeps = :old"
        };
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .update_expression("SET sweeps = :new, #openUntil = :next")
            .condition_expression(format!("{counted} AND attribute_exists(#openUntil)"))
            .expression_attribute_names("#openUntil", ORDERS_OPEN_UNTIL_ATTR)
            .expression_attribute_values(":old", n(i64::from(sweeps)))
            .expression_attribute_values(":new", n(i64::from(sweeps) + 1))
            .expression_attribute_values(":next", n(next.timestamp_millis()))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(repo_err(OP, e)),
        }
    }

    async fn mark_pos_voided(&self, id: &OrderId, at: DateTime<Utc>) -> Result<(), RepoError> {
        const OP: &str = "mark POS order voided";
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .key("orderId", s(id.as_str()))
            .update_expression("SET posVoided = :t, updatedAt = :at")
            .condition_expression("attribute_exists(orderId)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":at", time(at))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(repo_err(OP, e)),
        }
    }
}
