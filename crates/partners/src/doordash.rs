//! DoorDash-style format. The whole order is pushed (`OrderCreate`), authenticated with a
//! bearer token; money is integer cents with no currency field (the store's currency is
//! implied); times are UTC; modifiers are `extras` with `options`; items come grouped in
//! `categories`.

use chrono::{DateTime, FixedOffset, Utc};
use order_domain::{
    Catalog, Fulfillment, GeoPoint, Money, Order, OrderDraft, Partner, Rejection, Timing,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::{self, LineIn, ModifierIn};
use crate::webhook::{
    self, CancellationNotice, CourierNotice, OrderNotice, PayloadKind, Webhook, WebhookError,
};

const P: Partner = Partner::DoorDash;

/// Event type of a new order.
pub const ORDER_CREATE: &str = "OrderCreate";
/// Event type of a cancellation.
pub const ORDER_CANCEL: &str = "OrderCancel";
/// Event type of a courier ("Dasher") update.
pub const DASHER_STATUS: &str = "DasherStatusUpdate";

/// What the webhook is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// `OrderCreate`, `OrderCancel` or `DasherStatusUpdate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Status hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DdStore {
    /// The chain's id as registered with DoorDash.
    pub merchant_supplied_id: String,
}

/// The customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consumer {
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

/// An option within an extra.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DdOption {
    /// Merchant id of the option.
    pub merchant_supplied_id: String,
    /// Name.
    pub name: String,
    /// How many.
    #[serde(default = "one")]
    pub quantity: u32,
    /// Cents.
    pub price: i64,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// A group of options.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extra {
    /// Group id.
    pub merchant_supplied_id: String,
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// Chosen options.
    #[serde(default)]
    pub options: Vec<DdOption>,
}

/// An item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DdItem {
    /// Merchant id of the item.
    pub merchant_supplied_id: String,
    /// Name.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Cents, for one.
    pub price: i64,
    /// Modifiers.
    #[serde(default)]
    pub extras: Vec<Extra>,
    /// Line note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_instructions: Option<String>,
}

/// A menu category with the ordered items in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Category {
    /// Category id.
    #[serde(default)]
    pub merchant_supplied_id: String,
    /// Items.
    pub items: Vec<DdItem>,
}

/// The order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DdOrder {
    /// DoorDash order id.
    pub id: String,
    /// Store.
    pub store: DdStore,
    /// Customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<Consumer>,
    /// Items by category.
    pub categories: Vec<Category>,
    /// Cents.
    pub subtotal: i64,
    /// Cents.
    pub tax: i64,
    /// Pickup by the customer rather than a Dasher.
    #[serde(default)]
    pub is_pickup: bool,
    /// ASAP, or scheduled for `estimated_pickup_time`.
    #[serde(default = "yes")]
    pub is_asap: bool,
    /// UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_pickup_time: Option<DateTime<FixedOffset>>,
    /// UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Order note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_instructions: Option<String>,
}

/// The order webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderWebhook {
    /// Event.
    pub event: Event,
    /// Order.
    pub order: DdOrder,
}

#[derive(Deserialize)]
struct Envelope {
    event: Event,
    order: OrderRefPart,
    #[serde(default)]
    dasher: Option<Dasher>,
}

#[derive(Deserialize)]
struct OrderRefPart {
    id: String,
    store: DdStore,
    #[serde(default)]
    cancel_reason: Option<String>,
}

#[derive(Deserialize)]
struct Dasher {
    #[serde(default)]
    location: Option<DasherLocation>,
    #[serde(default)]
    estimated_arrival_seconds: Option<u32>,
}

#[derive(Deserialize)]
struct DasherLocation {
    lat: f64,
    lng: f64,
}

/// Classifies a webhook body.
pub fn classify(value: &Value) -> Result<Webhook, WebhookError> {
    let e: Envelope = webhook::from_value(P, value)?;
    let id = webhook::order_id("order.id", &e.order.id)?;
    match e.event.kind.as_str() {
        ORDER_CREATE => Ok(Webhook::Order(OrderNotice {
            partner_order_id: id,
            partner_store_id: Some(e.order.store.merchant_supplied_id),
            kind: PayloadKind::Full,
            sent_at: None,
        })),
        ORDER_CANCEL => Ok(Webhook::Cancellation(CancellationNotice {
            partner_order_id: id,
            partner_store_id: Some(e.order.store.merchant_supplied_id),
            reason: webhook::short_reason(e.order.cancel_reason),
            sent_at: None,
        })),
        DASHER_STATUS => {
            let dasher = e.dasher.unwrap_or(Dasher {
                location: None,
                estimated_arrival_seconds: None,
            });
            let location = match dasher.location {
                Some(l) => Some(GeoPoint::new(l.lat, l.lng).ok_or(WebhookError::Invalid {
                    field: "dasher.location",
                    why: "coordinates out of range".to_owned(),
                })?),
                None => None,
            };
            Ok(Webhook::CourierLocation(CourierNotice {
                partner_order_id: Some(id),
                partner_store_id: e.order.store.merchant_supplied_id,
                location,
                eta_seconds: dasher.estimated_arrival_seconds,
                sent_at: None,
            }))
        }
        other => Err(WebhookError::UnsupportedType {
            partner: P,
            kind: other.to_owned(),
        }),
    }
}

/// Adapts the `OrderCreate` webhook body.
pub fn adapt(
    payload: &Value,
    catalog: &Catalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Order, Rejection> {
    let w: OrderWebhook = mapping::parse(payload)?;
    let o = w.order;
    let (store, menu) = mapping::store(catalog, P, &o.store.merchant_supplied_id, now)?;
    // DoorDash-style amounts carry no currency: they are in the store's.
    let cents = |m: i64| Money::new(m, store.currency);
    let pickup = o.estimated_pickup_time.map(|t| t.with_timezone(&Utc));
    let timing = if o.is_asap {
        Timing::Asap { pickup_eta: pickup }
    } else {
        Timing::Scheduled {
            ready_at: pickup.ok_or_else(|| {
                Rejection::missing("order.estimated_pickup_time (scheduled order)")
            })?,
        }
    };
    let lines = o
        .categories
        .iter()
        .flat_map(|c| &c.items)
        .map(|i| LineIn {
            id: i.merchant_supplied_id.clone(),
            name: i.name.clone(),
            quantity: i.quantity,
            unit_price: cents(i.price),
            modifiers: i
                .extras
                .iter()
                .flat_map(|x| &x.options)
                .map(|opt| ModifierIn {
                    id: opt.merchant_supplied_id.clone(),
                    name: opt.name.clone(),
                    quantity: opt.quantity,
                    unit_price: cents(opt.price),
                })
                .collect(),
            notes: i.special_instructions.clone(),
        })
        .collect();
    let consumer = o.consumer.as_ref();
    OrderDraft {
        partner: P,
        partner_order_id: mapping::partner_order_id(&o.id)?,
        partner_store_id: o.store.merchant_supplied_id.clone(),
        store_id: store.id.clone(),
        placed_at: o
            .created_at
            .ok_or_else(|| Rejection::missing("order.created_at"))?
            .with_timezone(&Utc),
        fulfillment: if o.is_pickup {
            Fulfillment::Pickup
        } else {
            Fulfillment::Delivery
        },
        timing,
        items: mapping::lines(P, menu, lines)?,
        stated_subtotal: cents(o.subtotal),
        tax: cents(o.tax),
        customer_name: mapping::display_name(
            consumer.map(|c| c.first_name.as_str()),
            consumer.and_then(|c| c.last_name.as_deref()),
        ),
        notes: o.special_instructions.clone(),
    }
    .finish(menu.price_tolerance_minor)
}
