//! The events themselves. Sparse but sufficient: what consumers need, not the whole order.

use chrono::{DateTime, Utc};
use order_domain::{
    GeoPoint, OrderId, Partner, PartnerOrderId, PayloadKind, PosOrderId, RejectionReason,
    ReleasedBy, StoreId,
};
use serde::{Deserialize, Serialize};

use crate::{BusEvent, SOURCE_INTAKE, SOURCE_PIPELINE};

#[macro_export]
#[doc(hidden)]
macro_rules! bus_event {
    ($ty:ident, $source:expr, $detail_type:literal) => {
        impl BusEvent for $ty {
            const SOURCE: &'static str = $source;
            const DETAIL_TYPE: &'static str = $detail_type;
        }
    };
    ($ty:ident, $source:expr, $detail_type:literal, version $version:literal) => {
        impl BusEvent for $ty {
            const SOURCE: &'static str = $source;
            const DETAIL_TYPE: &'static str = $detail_type;
            const SCHEMA_VERSION: u32 = $version;
        }
    };
}

/// A document stored once and passed by reference (the claim-check pattern): events and
/// workflow states carry this instead of a body that could outgrow EventBridge's 256 KB
/// entry or Step Functions' 256 KiB state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DocumentRef {
    /// The document's key in the documents table (content-addressed: it ends with the
    /// SHA-256 of the bytes).
    pub key: String,
    /// Its size, bytes, uncompressed.
    pub bytes: u64,
    /// SHA-256 of its bytes, lowercase hex: the reader checks what it gets back.
    pub sha256: String,
    /// The document itself, inline: written by earlier releases for a document of 16 KiB
    /// or less, read still (an order in flight across the upgrade), never written now. It
    /// put the customer's data in every event, workflow state and history the reference
    /// travelled through; every document is stored under `key` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

/// A partner webhook carried a new order (whole, or a notification to fetch it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderReceived {
    /// Who sent it.
    pub partner: Partner,
    /// The partner's order id.
    pub partner_order_id: PartnerOrderId,
    /// The partner's store id, if the webhook names it.
    pub partner_store_id: Option<String>,
    /// Whole order or notification.
    pub payload_kind: PayloadKind,
    /// When intake accepted the webhook.
    pub received_at: DateTime<Utc>,
    /// The webhook body as the partner sent it (authenticated), stored once by intake: the
    /// event carries only this reference and the fields rules and the workflow route and
    /// decide on, so an order of any size the webhook allows fits the bus and the workflow.
    pub payload_ref: DocumentRef,
}
// Version 2: the body moved out of the event into `payloadRef` (version 1 carried `payload`).
bus_event!(OrderReceived, SOURCE_INTAKE, "Order Received", version 2);

/// An authenticated webhook could not be understood; the partner got HTTP 400.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WebhookRejected {
    /// Who sent it.
    pub partner: Partner,
    /// What was wrong.
    pub problem: String,
    /// SHA-256 of the body, hex, to find it in the partner's logs.
    pub body_sha256: String,
    /// Body size in bytes.
    pub body_bytes: u64,
    /// When intake refused it.
    pub received_at: DateTime<Utc>,
}
bus_event!(WebhookRejected, SOURCE_INTAKE, "Webhook Rejected");

/// A partner asked for a store's menu again (Uber Eats' `store.menu_refresh_request`):
/// store-status re-tells that partner the store's status and every item's availability as the
/// catalogue has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MenuRefreshRequested {
    /// Who asked.
    pub partner: Partner,
    /// The partner's id of the store.
    pub partner_store_id: String,
    /// The partner's id of the request, kept on its re-sends.
    pub partner_event_id: String,
    /// When intake received it.
    pub received_at: DateTime<Utc>,
}
bus_event!(
    MenuRefreshRequested,
    SOURCE_INTAKE,
    "Menu Refresh Requested"
);

/// The partner says a courier is at, or about to reach, the store for an order: Uber Eats'
/// `orders.release` webhook, DoorDash's `arriving_at_store` and `arrived_at_store` Dasher
/// statuses and its order release (geofence) webhook. A held order it names is released at
/// once, whatever the store's own courier radius says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CourierArriving {
    /// The courier's partner.
    pub partner: Partner,
    /// The order the courier collects.
    pub partner_order_id: PartnerOrderId,
    /// The pipeline's id of that order.
    pub order_id: OrderId,
    /// What the partner sent, e.g. `orders.release` or `dasher_status arriving_at_store`.
    pub signal: String,
    /// When intake received it.
    pub observed_at: DateTime<Utc>,
}
bus_event!(CourierArriving, SOURCE_INTAKE, "Courier Arriving");

/// A courier reported its position or ETA relative to a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CourierLocationUpdated {
    /// The courier's partner.
    pub partner: Partner,
    /// The order the courier collects, if the partner says.
    pub partner_order_id: Option<PartnerOrderId>,
    /// The store the courier is heading to.
    pub store_id: StoreId,
    /// Position, if given.
    pub location: Option<GeoPoint>,
    /// Seconds to the store, if given.
    pub eta_seconds: Option<u32>,
    /// When intake received it.
    pub observed_at: DateTime<Utc>,
}
bus_event!(
    CourierLocationUpdated,
    SOURCE_INTAKE,
    "Courier Location Updated"
);

/// A partner asked to cancel an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderCancellationRequested {
    /// Who asked.
    pub partner: Partner,
    /// The partner's order id.
    pub partner_order_id: PartnerOrderId,
    /// The pipeline's order id.
    pub order_id: OrderId,
    /// The partner's store id, if given.
    pub partner_store_id: Option<String>,
    /// The partner's reason, if given.
    pub reason: Option<String>,
    /// When intake received it.
    pub requested_at: DateTime<Utc>,
}
bus_event!(
    OrderCancellationRequested,
    SOURCE_INTAKE,
    "Order Cancellation Requested"
);

/// The same partner order arrived again and was ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderDuplicateIgnored {
    /// The order.
    pub order_id: OrderId,
    /// Who sent it.
    pub partner: Partner,
    /// True if the repeat carried a different payload than the first (a conflict to look at).
    pub payload_mismatch: bool,
}
bus_event!(
    OrderDuplicateIgnored,
    SOURCE_PIPELINE,
    "Order Duplicate Ignored"
);

/// The order waits for its release time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderHeld {
    /// The order.
    pub order_id: OrderId,
    /// The store.
    pub store_id: StoreId,
    /// When it goes to the POS unless released earlier.
    pub release_at: DateTime<Utc>,
    /// From when a courier may release it.
    pub early_release_from: DateTime<Utc>,
}
bus_event!(OrderHeld, SOURCE_PIPELINE, "Order Held");

/// A held order was released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderReleased {
    /// The order.
    pub order_id: OrderId,
    /// The store.
    pub store_id: StoreId,
    /// Time or courier.
    pub released_by: ReleasedBy,
}
bus_event!(OrderReleased, SOURCE_PIPELINE, "Order Released");

/// The store's POS has the order. Success outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderSentToPos {
    /// The order.
    pub order_id: OrderId,
    /// The store.
    pub store_id: StoreId,
    /// The partner.
    pub partner: Partner,
    /// The POS's id for it.
    pub pos_order_id: PosOrderId,
}
bus_event!(OrderSentToPos, SOURCE_PIPELINE, "Order Sent To POS");

/// The order was refused and the partner told. Outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderRejected {
    /// The order.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The store, when it is known.
    pub store_id: Option<StoreId>,
    /// Why.
    pub reason: RejectionReason,
    /// Detail for operators.
    pub detail: String,
    /// Whether the partner API confirmed the refusal.
    pub partner_notified: bool,
}
bus_event!(OrderRejected, SOURCE_PIPELINE, "Order Rejected");

/// The order was cancelled at the partner's request. Outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderCancelled {
    /// The order.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The store, when it is known.
    pub store_id: Option<StoreId>,
    /// The partner's reason, if given.
    pub reason: Option<String>,
    /// Whether a POS order was voided.
    pub pos_voided: bool,
    /// Whether the partner API confirmed.
    pub partner_notified: bool,
}
bus_event!(OrderCancelled, SOURCE_PIPELINE, "Order Cancelled");

/// The order could not be completed; compensation ran. Outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderFailed {
    /// The order.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The store, when it is known.
    pub store_id: Option<StoreId>,
    /// The error name that ended it (a function error or a `States.*` name).
    pub error: String,
    /// Detail for operators.
    pub detail: String,
    /// Whether the partner was told (deny or cancel).
    pub partner_notified: bool,
    /// Whether a POS order was voided.
    pub pos_voided: bool,
}
bus_event!(OrderFailed, SOURCE_PIPELINE, "Order Failed");

/// Every event type the pipeline's functions publish: (source, detail-type). The store
/// catalogue's changes are [`crate::CATALOGUE_CHANGE_EVENTS`].
pub const ALL_EVENTS: [(&str, &str); 13] = [
    (OrderReceived::SOURCE, OrderReceived::DETAIL_TYPE),
    (WebhookRejected::SOURCE, WebhookRejected::DETAIL_TYPE),
    (
        MenuRefreshRequested::SOURCE,
        MenuRefreshRequested::DETAIL_TYPE,
    ),
    (CourierArriving::SOURCE, CourierArriving::DETAIL_TYPE),
    (
        CourierLocationUpdated::SOURCE,
        CourierLocationUpdated::DETAIL_TYPE,
    ),
    (
        OrderCancellationRequested::SOURCE,
        OrderCancellationRequested::DETAIL_TYPE,
    ),
    (
        OrderDuplicateIgnored::SOURCE,
        OrderDuplicateIgnored::DETAIL_TYPE,
    ),
    (OrderHeld::SOURCE, OrderHeld::DETAIL_TYPE),
    (OrderReleased::SOURCE, OrderReleased::DETAIL_TYPE),
    (OrderSentToPos::SOURCE, OrderSentToPos::DETAIL_TYPE),
    (OrderRejected::SOURCE, OrderRejected::DETAIL_TYPE),
    (OrderCancelled::SOURCE, OrderCancelled::DETAIL_TYPE),
    (OrderFailed::SOURCE, OrderFailed::DETAIL_TYPE),
];
