//! The stores' POS (the ticket, create, find, void, status), and the in-memory twin.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_domain::{Order, OrderId, Partner, PosOrderId, StoreId};
use serde::{Deserialize, Serialize};

use super::*;

/// A POS ticket: what the store's POS receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PosTicket {
    /// The pipeline's order id (also the idempotency key).
    pub external_id: OrderId,
    /// Which partner the order came through.
    pub channel: Partner,
    /// `delivery` or `pickup`.
    pub fulfillment: order_domain::Fulfillment,
    /// When it must be ready, if scheduled or known.
    pub ready_at: Option<DateTime<Utc>>,
    /// Name to call out.
    pub customer_name: String,
    /// Lines.
    pub lines: Vec<PosLine>,
    /// Minor units.
    pub subtotal_minor: i64,
    /// Minor units.
    pub tax_minor: i64,
    /// Minor units.
    pub total_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Order note.
    pub notes: Option<String>,
}

/// A ticket line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PosLine {
    /// POS code.
    pub code: String,
    /// How many.
    pub qty: u32,
    /// Minor units, for one.
    pub unit_price_minor: i64,
    /// Modifiers.
    pub modifiers: Vec<PosModifier>,
    /// Line note.
    pub note: Option<String>,
}

/// A ticket modifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PosModifier {
    /// POS code.
    pub code: String,
    /// How many per item.
    pub qty: u32,
    /// Minor units, for one.
    pub unit_price_minor: i64,
}

impl PosTicket {
    /// The ticket for an order.
    pub fn for_order(order: &Order) -> Self {
        Self {
            external_id: order.id.clone(),
            channel: order.partner,
            fulfillment: order.fulfillment,
            ready_at: order.ready_target(),
            customer_name: order.customer_name.clone(),
            lines: order
                .items
                .iter()
                .map(|l| PosLine {
                    code: l.pos_code.to_string(),
                    qty: l.quantity.get(),
                    unit_price_minor: l.unit_price.amount_minor,
                    modifiers: l
                        .modifiers
                        .iter()
                        .map(|m| PosModifier {
                            code: m.pos_code.to_string(),
                            qty: m.quantity.get(),
                            unit_price_minor: m.unit_price.amount_minor,
                        })
                        .collect(),
                    note: l.notes.clone(),
                })
                .collect(),
            subtotal_minor: order.subtotal.amount_minor,
            tax_minor: order.tax.amount_minor,
            total_minor: order.total.amount_minor,
            currency: order.total.currency.to_string(),
            notes: order.notes.clone(),
        }
    }
}

/// A store's POS.
#[async_trait]
pub trait PosApi: Send + Sync {
    /// Creates the order; the same `idempotency_key` always yields the same POS order.
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        idempotency_key: &str,
    ) -> Result<PosOrderId, ApiError>;
    /// The POS order created under `idempotency_key`, if any (`None` when the POS has none).
    async fn find(
        &self,
        store: &StoreId,
        idempotency_key: &str,
    ) -> Result<Option<PosOrderId>, ApiError>;
    /// Voids an order.
    async fn void(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError>;
    /// The POS's status for an order.
    async fn status(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<String, ApiError>;
}

/// A POS order created in the in-memory POS.
#[derive(Debug, Clone, PartialEq)]
pub struct PosRecord {
    /// Store.
    pub store: StoreId,
    /// Ticket.
    pub ticket: PosTicket,
    /// Assigned id.
    pub pos_order_id: PosOrderId,
    /// Voided?
    pub voided: bool,
}

/// A POS in memory: idempotent by key, records tickets and voids.
#[derive(Debug, Default)]
pub struct InMemoryPos {
    orders: Mutex<Vec<PosRecord>>,
    by_key: Mutex<HashMap<String, PosOrderId>>,
    faults: Mutex<VecDeque<Fault>>,
}

impl InMemoryPos {
    /// Every POS order.
    pub fn orders(&self) -> Vec<PosRecord> {
        lock(&self.orders).clone()
    }

    /// Makes the next calls fail, one fault per call.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.faults).extend(faults);
    }

    fn fault(&self, operation: &str) -> Result<(), ApiError> {
        match lock(&self.faults).pop_front() {
            Some(f) => Err(f.to_error("pos", operation)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl PosApi for InMemoryPos {
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        idempotency_key: &str,
    ) -> Result<PosOrderId, ApiError> {
        self.fault("create order")?;
        let mut by_key = lock(&self.by_key);
        if let Some(id) = by_key.get(idempotency_key) {
            return Ok(id.clone());
        }
        let mut orders = lock(&self.orders);
        let id =
            PosOrderId::parse(format!("POS-{store}-{:05}", orders.len() + 1)).map_err(|e| {
                ApiError::new(ErrorKind::Permanent, "pos", "create order", e.to_string())
            })?;
        orders.push(PosRecord {
            store: store.clone(),
            ticket: ticket.clone(),
            pos_order_id: id.clone(),
            voided: false,
        });
        by_key.insert(idempotency_key.to_owned(), id.clone());
        Ok(id)
    }

    async fn find(
        &self,
        _store: &StoreId,
        idempotency_key: &str,
    ) -> Result<Option<PosOrderId>, ApiError> {
        self.fault("find order")?;
        Ok(lock(&self.by_key).get(idempotency_key).cloned())
    }

    async fn void(&self, _store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError> {
        self.fault("void order")?;
        let mut orders = lock(&self.orders);
        match orders.iter_mut().find(|o| &o.pos_order_id == pos_order_id) {
            Some(o) => {
                o.voided = true;
                Ok(())
            }
            None => Err(ApiError {
                status: Some(404),
                ..ApiError::new(
                    ErrorKind::Permanent,
                    "pos",
                    "void order",
                    format!("no order {pos_order_id}"),
                )
            }),
        }
    }

    async fn status(
        &self,
        _store: &StoreId,
        pos_order_id: &PosOrderId,
    ) -> Result<String, ApiError> {
        lock(&self.orders)
            .iter()
            .find(|o| &o.pos_order_id == pos_order_id)
            .map(|o| {
                if o.voided {
                    "voided".to_owned()
                } else {
                    "queued".to_owned()
                }
            })
            .ok_or_else(|| {
                ApiError::new(ErrorKind::Permanent, "pos", "order status", "no such order")
            })
    }
}
