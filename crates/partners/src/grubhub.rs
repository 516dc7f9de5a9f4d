//! Grubhub-style format. The whole order is pushed (`ORDER_CREATED`), signed with a base64
//! HMAC-SHA256 over timestamp, nonce and body; money is integer cents, as Grubhub's public
//! order models give prices ("in cents", grubhub-developers "Orders"; docs/partner-contracts.md
//! G3b), with the cart's `currency`; times carry the store's local offset; `when_for` is null for ASAP orders; items are
//! `lines` with `options`; courier coordinates arrive as strings.

use chrono::{DateTime, FixedOffset, Utc};
use order_domain::{
    Catalog, Currency, Fulfillment, GeoPoint, Order, OrderDraft, Partner, Rejection, Timing,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::{self, LineIn, ModifierIn};
use crate::webhook::{
    self, CancellationNotice, CourierNotice, OrderNotice, PayloadKind, Webhook, WebhookError,
};

const P: Partner = Partner::Grubhub;

/// Type of a new order.
pub const ORDER_CREATED: &str = "ORDER_CREATED";
/// Type of a cancellation.
pub const ORDER_CANCELLED: &str = "ORDER_CANCELLED";
/// Type of a courier update.
pub const DRIVER_LOCATION: &str = "DRIVER_LOCATION";

/// The restaurant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Restaurant {
    /// Grubhub restaurant id.
    pub id: String,
}

/// Fulfillment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FulfillmentInfo {
    /// `DELIVERY` or `PICKUP`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the driver or diner is expected, local offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_pickup_at: Option<DateTime<FixedOffset>>,
}

/// An option on a line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GhOption {
    /// Option id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Cents, for one.
    pub price: i64,
    /// How many.
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// A line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    /// Grubhub menu item id.
    pub menu_item_id: String,
    /// Name.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Cents, for one.
    pub price: i64,
    /// Options.
    #[serde(default)]
    pub options: Vec<GhOption>,
    /// Line note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_instructions: Option<String>,
}

/// Charges.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charges {
    /// ISO 4217.
    pub currency: String,
    /// Cents.
    pub subtotal: i64,
    /// Cents.
    pub tax: i64,
    /// Cents.
    pub total: i64,
}

/// The diner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diner {
    /// As Grubhub shows it ("Jo P.").
    pub name: String,
}

/// The order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GhOrder {
    /// Grubhub order id.
    pub uuid: String,
    /// Short number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// Restaurant.
    pub restaurant: Restaurant,
    /// Placed, local offset.
    pub placed_at: DateTime<FixedOffset>,
    /// Null for ASAP; the wanted time otherwise, local offset.
    #[serde(default)]
    pub when_for: Option<DateTime<FixedOffset>>,
    /// Fulfillment.
    pub fulfillment_info: FulfillmentInfo,
    /// Lines.
    pub lines: Vec<Line>,
    /// Charges.
    pub charges: Charges,
    /// Diner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diner: Option<Diner>,
    /// Order note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_instructions: Option<String>,
}

/// The order webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderWebhook {
    /// `ORDER_CREATED`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Order.
    pub order: GhOrder,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    order: OrderPart,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    driver: Option<Driver>,
    #[serde(default)]
    eta_minutes: Option<u32>,
}

#[derive(Deserialize)]
struct OrderPart {
    uuid: String,
    restaurant: Restaurant,
}

#[derive(Deserialize)]
struct Driver {
    lat: String,
    lng: String,
}

/// Classifies a webhook body.
pub fn classify(value: &Value) -> Result<Webhook, WebhookError> {
    let e: Envelope = webhook::from_value(P, value)?;
    let id = webhook::order_id("order.uuid", &e.order.uuid)?;
    match e.kind.as_str() {
        ORDER_CREATED => Ok(Webhook::Order(OrderNotice {
            partner_order_id: id,
            partner_store_id: Some(e.order.restaurant.id),
            kind: PayloadKind::Full,
            sent_at: None,
        })),
        ORDER_CANCELLED => Ok(Webhook::Cancellation(CancellationNotice {
            partner_order_id: id,
            partner_store_id: Some(e.order.restaurant.id),
            reason: webhook::short_reason(e.reason),
            sent_at: None,
        })),
        DRIVER_LOCATION => {
            let location = match e.driver {
                Some(d) => {
                    let bad = || WebhookError::Invalid {
                        field: "driver",
                        why: "lat and lng must be decimal degrees in range".to_owned(),
                    };
                    let lat: f64 = d.lat.trim().parse().map_err(|_| bad())?;
                    let lng: f64 = d.lng.trim().parse().map_err(|_| bad())?;
                    Some(GeoPoint::new(lat, lng).ok_or_else(bad)?)
                }
                None => None,
            };
            Ok(Webhook::CourierLocation(CourierNotice {
                partner_order_id: Some(id),
                partner_store_id: e.order.restaurant.id,
                location,
                eta_seconds: e.eta_minutes.map(|m| m.saturating_mul(60)),
                sent_at: None,
            }))
        }
        other => Err(WebhookError::UnsupportedType {
            partner: P,
            kind: other.to_owned(),
        }),
    }
}

/// Adapts the `ORDER_CREATED` webhook body.
pub fn adapt(
    payload: &Value,
    catalog: &Catalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Order, Rejection> {
    let w: OrderWebhook = mapping::parse(payload)?;
    let o = w.order;
    let (store, menu) = mapping::store(catalog, P, &o.restaurant.id, now)?;
    let currency = Currency::parse(&o.charges.currency)
        .map_err(|e| Rejection::invalid("order.charges.currency", e))?;
    mapping::currency(store, currency)?;
    let cents = |amount: i64, field: &str| mapping::minor_units(amount, currency, field);
    let fulfillment = match o.fulfillment_info.kind.as_str() {
        "DELIVERY" => Fulfillment::Delivery,
        "PICKUP" => Fulfillment::Pickup,
        _ => {
            return Err(Rejection::invalid(
                "order.fulfillment_info.type",
                "an unsupported fulfillment (not DELIVERY or PICKUP)".to_owned(),
            ));
        }
    };
    let timing = match o.when_for {
        Some(t) => Timing::Scheduled {
            ready_at: t.with_timezone(&Utc),
        },
        None => Timing::Asap {
            pickup_eta: o
                .fulfillment_info
                .estimated_pickup_at
                .map(|t| t.with_timezone(&Utc)),
        },
    };
    let mut lines = Vec::with_capacity(o.lines.len());
    for (i, l) in o.lines.iter().enumerate() {
        let mut modifiers = Vec::with_capacity(l.options.len());
        for (j, opt) in l.options.iter().enumerate() {
            modifiers.push(ModifierIn {
                id: opt.id.clone(),
                quantity: opt.quantity,
                unit_price: cents(opt.price, &format!("order.lines[{i}].options[{j}].price"))?,
            });
        }
        lines.push(LineIn {
            id: l.menu_item_id.clone(),
            quantity: l.quantity,
            unit_price: cents(l.price, &format!("order.lines[{i}].price"))?,
            modifiers,
            notes: l.special_instructions.clone(),
        });
    }
    OrderDraft {
        partner: P,
        partner_order_id: mapping::partner_order_id(&o.uuid)?,
        partner_store_id: o.restaurant.id.clone(),
        store_id: store.id.clone(),
        placed_at: o.placed_at.with_timezone(&Utc),
        fulfillment,
        timing,
        items: mapping::lines(P, menu, lines)?,
        stated_subtotal: cents(o.charges.subtotal, "order.charges.subtotal")?,
        tax: cents(o.charges.tax, "order.charges.tax")?,
        customer_name: o.diner.map(|d| d.name).unwrap_or_default(),
        notes: o.special_instructions,
    }
    .finish(menu.price_tolerance_minor)
}
