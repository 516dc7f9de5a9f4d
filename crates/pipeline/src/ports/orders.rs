//! The orders table: each order's lifecycle record, and the in-memory twin (with the one
//! definition of the lifecycle rules the DynamoDB adapter's condition mirrors).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_domain::{Order, OrderId, OrderStatus, Partner, PartnerOrderId, PosOrderId, StoreId};
use order_events::DocumentRef;
use partners::OrderRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// An adapted order as the workflow carries it: what the steps route and decide on, and the
/// reference to the whole canonical order (which can be far over a state's 256 KiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderHandle {
    /// The shape's version ([`crate::io::StateSchema`]).
    #[serde(default)]
    pub schema_version: crate::io::StateSchema,
    /// The pipeline's id.
    pub id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: PartnerOrderId,
    /// The partner's id for the store.
    pub partner_store_id: String,
    /// The chain's store.
    pub store_id: StoreId,
    /// Its number of lines.
    pub lines: usize,
    /// The canonical order.
    pub document: DocumentRef,
}

impl OrderHandle {
    /// The handle of `order`, stored as `document`.
    pub fn of(order: &Order, document: DocumentRef) -> Self {
        Self {
            schema_version: crate::io::StateSchema::CURRENT,
            id: order.id.clone(),
            partner: order.partner,
            partner_order_id: order.partner_order_id.clone(),
            partner_store_id: order.partner_store_id.clone(),
            store_id: order.store_id.clone(),
            lines: order.items.len(),
            document,
        }
    }

    /// The copy the orders record keeps: the same handle, its document reference without the
    /// inline bytes. The record is rewritten on every status change and DynamoDB bills each
    /// write by the item's size in 1 KB units, so the order's lines (up to 16 KiB inline)
    /// would multiply every write; what reads the record's handle (release-order's void and
    /// cancel) needs only its ids. An inline document is not stored under its key: the
    /// canonical order is read from the workflow's handle, never from the record's.
    pub fn for_record(&self) -> Self {
        let mut handle = self.clone();
        handle.document.inline = None;
        handle
    }

    /// The partner-side reference (for accept, deny, cancel).
    pub fn order_ref(&self) -> OrderRef {
        OrderRef {
            partner: self.partner,
            partner_order_id: self.partner_order_id.clone(),
            partner_store_id: Some(self.partner_store_id.clone()),
        }
    }
}

/// One step of an order's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    /// The status entered.
    pub status: OrderStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, or by what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The orders table's view of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    /// The pipeline's id.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: PartnerOrderId,
    /// The store, once known.
    pub store_id: Option<StoreId>,
    /// Current status.
    pub status: OrderStatus,
    /// Correlation id of the first delivery.
    pub correlation_id: String,
    /// The execution that created the record, its owner (`None` on records written before
    /// owners were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Every status entered, oldest first.
    pub history: Vec<StatusChange>,
    /// The adapted order's handle (its canonical form is a document), once adapted.
    pub order: Option<OrderHandle>,
    /// The POS's id, once sent.
    pub pos_order_id: Option<PosOrderId>,
    /// Whether the POS order was voided.
    pub pos_voided: bool,
    /// Whether the partner asked to cancel.
    pub cancel_requested: bool,
    /// Last rejection, cancellation or failure reason.
    pub reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// While the order is open ([`OrderStatus::is_open`]): when it should have ended by (its
    /// creation until accepted, then its `order_domain::send_by`). The sweeper ends orders
    /// still open a grace period past it. `None` once it ends (or on records from before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_until: Option<DateTime<Utc>>,
    /// The `Order Received` event that created it (ids and the payload's reference, its
    /// inline bytes dropped: no customer data), from which the sweeper resumes the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<Value>,
    /// How many times the sweeper found it stranded and re-drove it.
    #[serde(default)]
    pub sweeps: u32,
}

/// How many shards the orders table's sweep index spreads open orders over (its partition
/// key, `sweepShard`): at a peak's 500 orders a second and four writes each, 125 index writes
/// a second per shard, well under a partition's 1,000 write units
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html>).
pub const SWEEP_SHARDS: u8 = 16;

/// The sweep shard of an order: the first byte of its id's SHA-256, modulo [`SWEEP_SHARDS`].
pub fn sweep_shard(id: &OrderId) -> u8 {
    use sha2::Digest;
    sha2::Sha256::digest(id.as_str().as_bytes())[0] % SWEEP_SHARDS
}

/// A new record in `Received`.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The pipeline's id.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: PartnerOrderId,
    /// Correlation id.
    pub correlation_id: String,
    /// The execution that creates it (the workflow's `$$.Execution.Id`): the order's owner.
    /// Deliveries share a correlation id (EventBridge's duplicates, replays, a partner's
    /// resend with its header), executions do not.
    pub created_by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The `Order Received` event, as [`OrderRecord::received`] keeps it.
    pub received: Option<Value>,
}

/// Result of creating a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// Created now.
    New,
    /// It already existed.
    Existing(Box<OrderRecord>),
}

/// Fields set together with a status change.
#[derive(Debug, Clone, Default)]
pub struct StatusUpdate {
    /// Note for the history.
    pub note: Option<String>,
    /// Reason to record.
    pub reason: Option<String>,
    /// The POS's id.
    pub pos_order_id: Option<PosOrderId>,
    /// The adapted order's handle (as [`OrderHandle::for_record`] gives it) and so its store:
    /// accept-order writes it with `Accepted`, in the same write (DynamoDB bills each write by
    /// the item's size, at least one write unit: a separate write after adapt cost one more).
    pub order: Option<OrderHandle>,
    /// A new [`OrderRecord::open_until`] (accept-order's `send_by`). A change to a status that
    /// is not open removes it whatever this says.
    pub open_until: Option<DateTime<Utc>>,
}

/// Result of a status change.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Moved; the record after the change.
    Applied(Box<OrderRecord>),
    /// Already in that status (a retry); the record as it is.
    AlreadyThere(Box<OrderRecord>),
    /// Refused: the lifecycle does not allow it from the current status.
    Refused {
        /// Where the order is.
        current: OrderStatus,
    },
    /// No such order.
    Missing,
}

/// The orders table.
#[async_trait]
pub trait OrdersRepo: Send + Sync {
    /// Creates the record in `Received` unless one exists.
    async fn create(&self, new: NewOrder) -> Result<Created, RepoError>;
    /// Moves the status to `to` if the lifecycle allows it from the current status, with one
    /// conditional write, appending to the history.
    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        update: StatusUpdate,
    ) -> Result<Transition, RepoError>;
    /// The record.
    async fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepoError>;
    /// Flags the partner's cancellation request; the record after the change, if it exists.
    async fn request_cancellation(
        &self,
        id: &OrderId,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<OrderRecord>, RepoError>;
    /// Records that the POS order was voided.
    async fn mark_pos_voided(&self, id: &OrderId, at: DateTime<Utc>) -> Result<(), RepoError>;
    /// Keeps a cancellation that arrived before its order had a record (the partner cancelled
    /// right after its webhook was acknowledged), for the order to find when it is created.
    async fn remember_cancellation(
        &self,
        id: &OrderId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError>;
    /// The reason of a cancellation kept by [`Self::remember_cancellation`], if any.
    async fn early_cancellation(&self, id: &OrderId) -> Result<Option<String>, RepoError>;
    /// Up to `limit` orders of sweep shard `shard` ([`sweep_shard`]) still open with an
    /// `open_until` before `before`, earliest first: a query of the orders table's sparse
    /// index on (`sweepShard`, `openUntil`), never a scan. The index is eventually consistent:
    /// read each record before acting on it.
    async fn overdue(
        &self,
        shard: u8,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OrderId>, RepoError>;
    /// Records a sweep of an order found stranded: its `sweeps` becomes `sweeps + 1` and its
    /// `open_until` `next`, if it still has `sweeps` sweeps and is open (`false`: another
    /// sweeper or the workflow got there first).
    async fn mark_swept(
        &self,
        id: &OrderId,
        sweeps: u32,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
}

/// Applies the lifecycle rules to a record: the single definition the in-memory twin uses and
/// the DynamoDB adapter's condition expression mirrors.
pub fn apply_transition(
    record: &mut OrderRecord,
    to: OrderStatus,
    at: DateTime<Utc>,
    update: StatusUpdate,
) -> Transition {
    if record.status == to {
        return Transition::AlreadyThere(Box::new(record.clone()));
    }
    if !record.status.can_transition_to(to) {
        return Transition::Refused {
            current: record.status,
        };
    }
    record.status = to;
    record.updated_at = at;
    record.history.push(StatusChange {
        status: to,
        at,
        note: update.note,
    });
    if update.reason.is_some() {
        record.reason = update.reason;
    }
    if update.pos_order_id.is_some() {
        record.pos_order_id = update.pos_order_id;
    }
    if let Some(order) = update.order {
        record.store_id = Some(order.store_id.clone());
        record.order = Some(order);
    }
    if !to.is_open() {
        record.open_until = None;
    } else if update.open_until.is_some() {
        record.open_until = update.open_until;
    }
    Transition::Applied(Box::new(record.clone()))
}

/// The orders table in memory.
#[derive(Debug, Default)]
pub struct InMemoryOrders {
    records: Mutex<HashMap<OrderId, OrderRecord>>,
    early_cancellations: Mutex<HashMap<OrderId, String>>,
}

impl InMemoryOrders {
    /// Every record, for assertions.
    pub fn all(&self) -> Vec<OrderRecord> {
        lock(&self.records).values().cloned().collect()
    }

    /// Every cancellation kept for an order that had no record, for assertions.
    pub fn early_cancellations(&self) -> Vec<(OrderId, String)> {
        lock(&self.early_cancellations)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[async_trait]
impl OrdersRepo for InMemoryOrders {
    async fn create(&self, new: NewOrder) -> Result<Created, RepoError> {
        let mut records = lock(&self.records);
        if let Some(existing) = records.get(&new.order_id) {
            return Ok(Created::Existing(Box::new(existing.clone())));
        }
        records.insert(
            new.order_id.clone(),
            OrderRecord {
                order_id: new.order_id,
                partner: new.partner,
                partner_order_id: new.partner_order_id,
                store_id: None,
                status: OrderStatus::Received,
                correlation_id: new.correlation_id,
                created_by: new.created_by,
                history: vec![StatusChange {
                    status: OrderStatus::Received,
                    at: new.at,
                    note: None,
                }],
                order: None,
                pos_order_id: None,
                pos_voided: false,
                cancel_requested: false,
                reason: None,
                created_at: new.at,
                updated_at: new.at,
                open_until: Some(new.at),
                received: new.received,
                sweeps: 0,
            },
        );
        Ok(Created::New)
    }

    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        update: StatusUpdate,
    ) -> Result<Transition, RepoError> {
        let mut records = lock(&self.records);
        Ok(match records.get_mut(id) {
            Some(record) => apply_transition(record, to, at, update),
            None => Transition::Missing,
        })
    }

    async fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepoError> {
        Ok(lock(&self.records).get(id).cloned())
    }

    async fn request_cancellation(
        &self,
        id: &OrderId,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<OrderRecord>, RepoError> {
        let mut records = lock(&self.records);
        Ok(records.get_mut(id).map(|r| {
            r.cancel_requested = true;
            if let Some(reason) = reason {
                r.reason = Some(reason.to_owned());
            }
            r.updated_at = at;
            r.clone()
        }))
    }

    async fn mark_pos_voided(&self, id: &OrderId, at: DateTime<Utc>) -> Result<(), RepoError> {
        if let Some(r) = lock(&self.records).get_mut(id) {
            r.pos_voided = true;
            r.updated_at = at;
        }
        Ok(())
    }

    async fn remember_cancellation(
        &self,
        id: &OrderId,
        reason: &str,
        _at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        lock(&self.early_cancellations).insert(id.clone(), reason.to_owned());
        Ok(())
    }

    async fn early_cancellation(&self, id: &OrderId) -> Result<Option<String>, RepoError> {
        Ok(lock(&self.early_cancellations).get(id).cloned())
    }

    async fn overdue(
        &self,
        shard: u8,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OrderId>, RepoError> {
        let records = lock(&self.records);
        let mut due: Vec<(DateTime<Utc>, OrderId)> = records
            .values()
            .filter(|r| crate::ports::sweep_shard(&r.order_id) == shard)
            .filter_map(|r| Some((r.open_until?, r.order_id.clone())))
            .filter(|(at, _)| *at < before)
            .collect();
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn mark_swept(
        &self,
        id: &OrderId,
        sweeps: u32,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let mut records = lock(&self.records);
        Ok(match records.get_mut(id) {
            Some(r) if r.sweeps == sweeps && r.status.is_open() && r.open_until.is_some() => {
                r.sweeps += 1;
                r.open_until = Some(next);
                true
            }
            _ => false,
        })
    }
}
