//! Delivery-partner formats, modelled on Uber Eats-, DoorDash- and Grubhub-style APIs plus the
//! chain's own app: how each authenticates its webhooks, how a webhook is classified, how a
//! partner order maps to the canonical [`Order`](order_domain::Order) through the store's menu
//! mapping, and what each partner API expects for accept, deny, cancel and fetch.
//!
//! Pure code: no I/O. Every mapping failure is a typed [`Rejection`](order_domain::Rejection).

pub mod api;
pub mod app;
pub mod auth;
mod classify;
pub mod doordash;
pub mod grubhub;
mod mapping;
pub mod outbound;
pub mod problem;
pub mod store_api;
pub mod ubereats;
pub mod webhook;

pub use api::{ApiRequest, CancelReason, HttpMethod, OrderRef, PartnerAction};
pub use auth::{AuthError, Headers, Verified};
pub use classify::parse_webhook;
pub use store_api::{ItemAvailability, StoreAvailability};
pub use webhook::{
    Acknowledgement, ArrivalNotice, CancellationNotice, CourierNotice, MenuRefreshNotice,
    OrderNotice, PayloadKind, Redelivery, Webhook, WebhookError, acknowledgement, redelivery,
};

use order_domain::{Catalog, Order, Partner, Rejection};
use serde_json::Value;

/// Whether a partner's new-order webhook carries the whole order or only its id.
pub const fn payload_kind(partner: Partner) -> PayloadKind {
    match partner {
        Partner::UberEats => PayloadKind::Notification,
        Partner::DoorDash | Partner::Grubhub | Partner::ChainApp => PayloadKind::Full,
    }
}

/// Adapts a partner's full order payload (the webhook body for full-order partners, the
/// fetched order for notification partners) to the canonical order, refusing a store that does
/// not take orders at `now` (closed, or paused and the pause not yet over).
pub fn adapt_at(
    partner: Partner,
    payload: &Value,
    catalog: &Catalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Order, Rejection> {
    match partner {
        Partner::UberEats => ubereats::adapt(payload, catalog, now),
        Partner::DoorDash => doordash::adapt(payload, catalog, now),
        Partner::Grubhub => grubhub::adapt(payload, catalog, now),
        Partner::ChainApp => app::adapt(payload, catalog, now),
    }
}

/// [`adapt_at`] on the wall clock (tests, fuzzing, tools; the pipeline passes its clock).
pub fn adapt(partner: Partner, payload: &Value, catalog: &Catalog) -> Result<Order, Rejection> {
    adapt_at(partner, payload, catalog, chrono::Utc::now())
}
