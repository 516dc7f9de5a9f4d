//! Changes to the store catalogue (stores and menus), announced on the order bus by the
//! operators' tools when a change is made. No function publishes them; partners' store-status
//! integrations and operators' dashboards consume them.

use chrono::{DateTime, Utc};
use order_domain::StoreId;
use serde::{Deserialize, Serialize};

use crate::{BusEvent, SOURCE_CATALOGUE};

/// A store stopped taking orders: they are refused with `StorePaused` until it is resumed or
/// `until` passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StorePaused {
    /// The store.
    pub store_id: StoreId,
    /// Why, as the operator gave it.
    pub reason: String,
    /// When the pause ends by itself, if it does.
    pub until: Option<DateTime<Utc>>,
}
crate::bus_event!(StorePaused, SOURCE_CATALOGUE, "Store Paused");

/// A paused store takes orders again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreResumed {
    /// The store.
    pub store_id: StoreId,
}
crate::bus_event!(StoreResumed, SOURCE_CATALOGUE, "Store Resumed");

/// A menu version was published and its stores moved to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MenuPublished {
    /// The menu.
    pub menu_id: String,
    /// The version now live (versions are immutable and increase by one).
    pub version: i64,
    /// How many stores were moved to it.
    pub stores: usize,
}
crate::bus_event!(MenuPublished, SOURCE_CATALOGUE, "Menu Published");

/// An item or modifier was marked sold out at a store, or back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ItemAvailabilityChanged {
    /// The store.
    pub store_id: StoreId,
    /// The item's or modifier's POS code.
    pub pos_code: String,
    /// Whether it can be ordered now.
    pub available: bool,
}
crate::bus_event!(
    ItemAvailabilityChanged,
    SOURCE_CATALOGUE,
    "Item Availability Changed"
);

/// Every store catalogue event type: (source, detail-type).
pub const CATALOGUE_CHANGE_EVENTS: [(&str, &str); 4] = [
    (StorePaused::SOURCE, StorePaused::DETAIL_TYPE),
    (StoreResumed::SOURCE, StoreResumed::DETAIL_TYPE),
    (MenuPublished::SOURCE, MenuPublished::DETAIL_TYPE),
    (
        ItemAvailabilityChanged::SOURCE,
        ItemAvailabilityChanged::DETAIL_TYPE,
    ),
];
