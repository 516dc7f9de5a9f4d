//! The partners' APIs (fetch an order, tell the outcome, store and item status), and the
//! in-memory twin.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use order_domain::{OrderId, Partner, PartnerOrderId};
use partners::{OrderRef, PartnerAction};

use super::*;

/// The partner APIs.
#[async_trait]
pub trait PartnerApi: Send + Sync {
    /// Fetches a notification partner's order.
    async fn fetch_order(
        &self,
        partner: Partner,
        id: &PartnerOrderId,
    ) -> Result<serde_json::Value, ApiError>;
    /// Tells the partner about an order (accept, deny, cancel).
    async fn notify(
        &self,
        order: &OrderRef,
        order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError>;
    /// Sets whether the partner shows store `partner_store_id` as taking orders
    /// ([`partners::store_api::store_status`]); `Ok(false)` where the partner publishes no such call.
    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError>;
    /// Sets whether the partner shows item or modifier `partner_item_id` at store
    /// `partner_store_id` as on sale ([`partners::store_api::item_availability`]); `Ok(false)`
    /// where the partner publishes no such call.
    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError>;
}

/// A partner API call made.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerCall {
    /// The order.
    pub order: OrderRef,
    /// What we told the partner.
    pub action: PartnerAction,
}

/// A store status told to a partner in memory: partner, its store id, what.
pub type StoreStatusCall = (Partner, String, partners::StoreAvailability);

/// An item availability told to a partner in memory: partner, its store id, its item id, what.
pub type ItemStatusCall = (Partner, String, String, partners::ItemAvailability);

/// Partner APIs in memory: serves fetched orders from fixtures, records notifications.
#[derive(Debug, Default)]
pub struct InMemoryPartnerApi {
    fixtures: Mutex<HashMap<(Partner, String), serde_json::Value>>,
    calls: Mutex<Vec<PartnerCall>>,
    store_statuses: Mutex<Vec<StoreStatusCall>>,
    item_statuses: Mutex<Vec<ItemStatusCall>>,
    faults: Mutex<VecDeque<Fault>>,
}

impl InMemoryPartnerApi {
    /// Serves `order` when `partner` order `id` is fetched.
    pub fn add_fixture(&self, partner: Partner, id: &str, order: serde_json::Value) {
        lock(&self.fixtures).insert((partner, id.to_owned()), order);
    }

    /// Loads every `order*.json` under `dir/ubereats/` as a fetchable Uber-style order, keyed
    /// by its `id` field.
    pub fn load_fixtures(&self, dir: &Path) -> std::io::Result<usize> {
        let mut n = 0;
        let sub = dir.join(Partner::UberEats.as_str());
        for entry in std::fs::read_dir(&sub)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !(name.starts_with("order") && name.ends_with(".json")) {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            if let Some(id) = value.get("id").and_then(|v| v.as_str()) {
                self.add_fixture(Partner::UberEats, id, value.clone());
                n += 1;
            }
        }
        Ok(n)
    }

    /// Makes the next calls fail, one fault per call.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.faults).extend(faults);
    }

    /// Every notification so far.
    pub fn calls(&self) -> Vec<PartnerCall> {
        lock(&self.calls).clone()
    }

    /// Every store status told so far, oldest first.
    pub fn store_statuses(&self) -> Vec<StoreStatusCall> {
        lock(&self.store_statuses).clone()
    }

    /// Every item availability told so far, oldest first.
    pub fn item_statuses(&self) -> Vec<ItemStatusCall> {
        lock(&self.item_statuses).clone()
    }

    fn fault(&self, service: &str, operation: &str) -> Result<(), ApiError> {
        match lock(&self.faults).pop_front() {
            Some(f) => Err(f.to_error(service, operation)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl PartnerApi for InMemoryPartnerApi {
    async fn fetch_order(
        &self,
        partner: Partner,
        id: &PartnerOrderId,
    ) -> Result<serde_json::Value, ApiError> {
        self.fault(partner.as_str(), "fetch order")?;
        lock(&self.fixtures)
            .get(&(partner, id.to_string()))
            .cloned()
            .ok_or_else(|| ApiError {
                status: Some(404),
                ..ApiError::new(
                    ErrorKind::Permanent,
                    partner.as_str(),
                    "fetch order",
                    format!("no order {id}"),
                )
            })
    }

    async fn notify(
        &self,
        order: &OrderRef,
        _order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError> {
        self.fault(order.partner.as_str(), "notify")?;
        lock(&self.calls).push(PartnerCall {
            order: order.clone(),
            action: action.clone(),
        });
        Ok(())
    }

    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError> {
        if partners::store_api::store_status(partner, partner_store_id, availability).is_none() {
            return Ok(false);
        }
        self.fault(partner.as_str(), "set store status")?;
        lock(&self.store_statuses).push((
            partner,
            partner_store_id.to_owned(),
            availability.clone(),
        ));
        Ok(true)
    }

    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError> {
        if partners::store_api::item_availability(
            partner,
            partner_store_id,
            partner_item_id,
            availability,
        )
        .is_none()
        {
            return Ok(false);
        }
        self.fault(partner.as_str(), "set item availability")?;
        lock(&self.item_statuses).push((
            partner,
            partner_store_id.to_owned(),
            partner_item_id.to_owned(),
            availability,
        ));
        Ok(true)
    }
}
