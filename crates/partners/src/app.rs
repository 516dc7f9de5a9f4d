//! The chain's own app. The whole order is pushed (`order.created`) in camelCase, signed
//! Stripe-style (`X-App-Signature: t=…,v1=…`); money is integer cents with a currency; times
//! are UTC; items are SKUs mapped through the same menu as the partners'.

use chrono::{DateTime, Utc};
use order_domain::{
    Catalog, Currency, Fulfillment, GeoPoint, Money, Order, OrderDraft, Partner, Rejection, Timing,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::{self, LineIn, ModifierIn};
use crate::webhook::{
    self, CancellationNotice, CourierNotice, OrderNotice, PayloadKind, Webhook, WebhookError,
};

const P: Partner = Partner::ChainApp;

/// Type of a new order.
pub const ORDER_CREATED: &str = "order.created";
/// Type of a cancellation.
pub const ORDER_CANCELLED: &str = "order.cancelled";
/// Type of a courier update.
pub const COURIER_LOCATION: &str = "courier.location";

/// A modifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppModifier {
    /// App SKU.
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// How many.
    pub qty: u32,
    /// Cents.
    pub unit_price_cents: i64,
}

/// An item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppItem {
    /// App SKU.
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// How many.
    pub qty: u32,
    /// Cents, for one.
    pub unit_price_cents: i64,
    /// Modifiers.
    #[serde(default)]
    pub modifiers: Vec<AppModifier>,
    /// Line note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Totals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Cents.
    pub subtotal_cents: i64,
    /// Cents.
    pub tax_cents: i64,
    /// Cents.
    pub total_cents: i64,
    /// ISO 4217.
    pub currency: String,
}

/// The customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// First name.
    pub first_name: String,
    /// Initial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_initial: Option<String>,
}

/// The order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppOrder {
    /// App order id.
    pub order_id: String,
    /// The chain's store number as the app knows it.
    pub store_number: String,
    /// UTC.
    pub placed_at: DateTime<Utc>,
    /// `DELIVERY` or `PICKUP`.
    pub fulfillment: String,
    /// Null for ASAP.
    #[serde(default)]
    pub pickup_at: Option<DateTime<Utc>>,
    /// Items.
    pub items: Vec<AppItem>,
    /// Totals.
    pub totals: Totals,
    /// Customer.
    pub customer: Customer,
    /// Order note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The order webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderWebhook {
    /// `order.created`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The order.
    pub order: AppOrder,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    order: Option<OrderPart>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    store_number: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    location: Option<AppLocation>,
    #[serde(default)]
    eta_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderPart {
    order_id: String,
    store_number: String,
}

#[derive(Deserialize)]
struct AppLocation {
    lat: f64,
    lon: f64,
}

fn field<T>(value: Option<T>, name: &'static str) -> Result<T, WebhookError> {
    value.ok_or(WebhookError::Shape {
        partner: P,
        path: name.to_owned(),
        message: format!("missing field `{name}`"),
    })
}

/// Classifies a webhook body.
pub fn classify(value: &Value) -> Result<Webhook, WebhookError> {
    let e: Envelope = webhook::from_value(P, value)?;
    match e.kind.as_str() {
        ORDER_CREATED => {
            let o = field(e.order, "order")?;
            Ok(Webhook::Order(OrderNotice {
                partner_order_id: webhook::order_id("order.orderId", &o.order_id)?,
                partner_store_id: Some(o.store_number),
                kind: PayloadKind::Full,
                sent_at: None,
            }))
        }
        ORDER_CANCELLED => Ok(Webhook::Cancellation(CancellationNotice {
            partner_order_id: webhook::order_id("orderId", &field(e.order_id, "orderId")?)?,
            partner_store_id: e.store_number,
            reason: webhook::short_reason(e.reason),
            sent_at: None,
        })),
        COURIER_LOCATION => {
            let location = match e.location {
                Some(l) => Some(GeoPoint::new(l.lat, l.lon).ok_or(WebhookError::Invalid {
                    field: "location",
                    why: "coordinates out of range".to_owned(),
                })?),
                None => None,
            };
            Ok(Webhook::CourierLocation(CourierNotice {
                partner_order_id: e
                    .order_id
                    .as_deref()
                    .map(|id| webhook::order_id("orderId", id))
                    .transpose()?,
                partner_store_id: field(e.store_number, "storeNumber")?,
                location,
                eta_seconds: e.eta_seconds,
                sent_at: None,
            }))
        }
        other => Err(WebhookError::UnsupportedType {
            partner: P,
            kind: other.to_owned(),
        }),
    }
}

/// Adapts the `order.created` webhook body.
pub fn adapt(
    payload: &Value,
    catalog: &Catalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Order, Rejection> {
    let w: OrderWebhook = mapping::parse(payload)?;
    let o = w.order;
    let (store, menu) = mapping::store(catalog, P, &o.store_number, now)?;
    let currency = Currency::parse(&o.totals.currency)
        .map_err(|e| Rejection::invalid("order.totals.currency", e))?;
    mapping::currency(store, currency)?;
    let cents = |m: i64| Money::new(m, currency);
    let fulfillment = match o.fulfillment.as_str() {
        "DELIVERY" => Fulfillment::Delivery,
        "PICKUP" => Fulfillment::Pickup,
        _ => {
            return Err(Rejection::invalid(
                "order.fulfillment",
                "an unsupported fulfillment (not DELIVERY or PICKUP)".to_owned(),
            ));
        }
    };
    let timing = match o.pickup_at {
        Some(ready_at) => Timing::Scheduled { ready_at },
        None => Timing::Asap { pickup_eta: None },
    };
    let lines = o
        .items
        .iter()
        .map(|i| LineIn {
            id: i.sku.clone(),
            quantity: i.qty,
            unit_price: cents(i.unit_price_cents),
            modifiers: i
                .modifiers
                .iter()
                .map(|m| ModifierIn {
                    id: m.sku.clone(),
                    quantity: m.qty,
                    unit_price: cents(m.unit_price_cents),
                })
                .collect(),
            notes: i.note.clone(),
        })
        .collect();
    OrderDraft {
        partner: P,
        partner_order_id: mapping::partner_order_id(&o.order_id)?,
        partner_store_id: o.store_number.clone(),
        store_id: store.id.clone(),
        placed_at: o.placed_at,
        fulfillment,
        timing,
        items: mapping::lines(P, menu, lines)?,
        stated_subtotal: cents(o.totals.subtotal_cents),
        tax: cents(o.totals.tax_cents),
        customer_name: mapping::display_name(
            Some(&o.customer.first_name),
            o.customer.last_initial.as_deref(),
        ),
        notes: o.note,
    }
    .finish(menu.price_tolerance_minor)
}
