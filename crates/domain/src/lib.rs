//! The order pipeline's domain: the canonical order every partner format is adapted to, its
//! lifecycle, the store catalogue, and the decisions (accept or deny, hold or send now).
//!
//! Pure logic: no AWS types, no I/O. Every function that needs the time takes `now`.

pub mod catalog;
pub mod decisions;
pub mod geo;
pub mod ids;
pub mod lifecycle;
pub mod money;
pub mod order;
pub mod rejection;

pub use catalog::{
    Availability, Catalog, CatalogError, MAX_SCHEDULE_DAYS, Menu, MenuEntry, Pause, Store,
    StoreStatus,
};
pub use decisions::{
    ASAP_PATIENCE, AcceptDecision, Hold, HoldDecision, HoldPolicy, RELEASE_GRACE,
    decide_acceptance, decide_hold, ready_by, send_by,
};
pub use geo::GeoPoint;
pub use ids::{
    CorrelationId, IdError, OrderId, Partner, PartnerOrderId, PosItemCode, PosOrderId, StoreId,
};
pub use lifecycle::{OrderStatus, ReleasedBy};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    Fulfillment, LineItem, Modifier, Order, OrderDraft, PayloadKind, Quantity, Timing,
};
pub use rejection::{Rejection, RejectionReason};
