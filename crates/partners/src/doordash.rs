//! DoorDash Marketplace format. The whole order is pushed (`OrderCreate`), authenticated with
//! a bearer token; money is integer cents with no currency field (the store's currency is
//! implied); times are UTC; items come grouped in `categories`, modifiers as `extras` with
//! `options`, and an option may carry its own `extras` (nested modifiers).
//!
//! Confirmed by DoorDash's pages (developer.doordash.com, Marketplace; see
//! `docs/partner-contracts.md`, D1 and D3):
//! * the order's shape (`reference/sample_order`): no `created_at` (the order is placed when
//!   it is received: the adapter uses its clock, or `created_at` when a sender adds one), the
//!   note is `order_special_instructions`, items' notes `special_instructions`, options may
//!   nest `extras`;
//! * the cancellation webhook (`how_to/order_cancellation_webhook`): a small body naming the
//!   order (`external_order_id`, DoorDash's id, and `client_order_id`, ours) and the store,
//!   with no envelope and no reason.
//!
//! Assumed where nothing is public: the `event.type` of an order is `OrderCreate` (the order
//! integration page shows it; other types are acknowledged and ignored, since every
//! subscription shares the environment's one endpoint).

use chrono::{DateTime, FixedOffset, Utc};
use order_domain::{Catalog, Fulfillment, Money, Order, OrderDraft, Partner, Rejection, Timing};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::{self, LineIn, ModifierIn};
use crate::webhook::{
    self, ArrivalNotice, CancellationNotice, OrderNotice, PayloadKind, Webhook, WebhookError,
};

const P: Partner = Partner::DoorDash;

/// Event type of a new order.
pub const ORDER_CREATE: &str = "OrderCreate";
/// Dasher status values (`dasher_status` of the "Dasher Status Updates" webhook) that mean the
/// Dasher is at or about to reach the store (developer.doordash.com, Marketplace, "Dasher
/// status": `dasher_confirmed`, `arriving_at_store`, `arrived_at_store`,
/// `dasher_out_for_delivery`, `dropoff`).
pub const DASHER_NEAR_STORE: [&str; 2] = ["arriving_at_store", "arrived_at_store"];

/// What the webhook is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// `OrderCreate`.
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
    /// The integrator's provider type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
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
    /// Nested modifiers of this option (e.g. a sauce chosen for a side).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<Extra>,
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
    /// UTC. Not in DoorDash's sample order; read when a sender adds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Order note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_special_instructions: Option<String>,
    /// Cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_amount: Option<i64>,
    /// `dx_delivery` (a Dasher) or `mx_delivery` (the store's own courier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_type: Option<String>,
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
}

#[derive(Deserialize)]
struct OrderRefPart {
    id: String,
    store: DdStore,
}

/// The cancellation webhook's body ("Order Canceled"), and the shape the Dasher status and
/// order release webhooks share: the order by DoorDash's id and ours.
#[derive(Deserialize)]
struct OrderNamed {
    external_order_id: String,
    #[serde(default)]
    store: Option<DdStore>,
}

/// Classifies a webhook body: an order (`{"event": {"type": "OrderCreate"}, "order": …}`); a
/// Dasher arriving (a Dasher status webhook with `dasher_status` `arriving_at_store` or
/// `arrived_at_store`, or the order release webhook, which has `distance_from_store`); or a
/// cancellation (`{"external_order_id", "client_order_id", "store"}`, and nothing else). Another
/// event type or Dasher status is [`WebhookError::UnsupportedType`] (acknowledged and ignored:
/// see [`crate::acknowledgement`]).
pub fn classify(value: &Value) -> Result<Webhook, WebhookError> {
    if value.get("event").is_some() {
        let e: Envelope = webhook::from_value(P, value)?;
        if e.event.kind != ORDER_CREATE {
            return Err(WebhookError::UnsupportedType {
                partner: P,
                kind: e.event.kind,
            });
        }
        return Ok(Webhook::Order(OrderNotice {
            partner_order_id: webhook::order_id("order.id", &e.order.id)?,
            partner_store_id: Some(e.order.store.merchant_supplied_id),
            kind: PayloadKind::Full,
            sent_at: None,
        }));
    }
    if value.get("external_order_id").is_none() {
        return Err(WebhookError::Shape {
            partner: P,
            path: ".".to_owned(),
            message: "neither an order (event.type) nor a webhook naming one (external_order_id)"
                .to_owned(),
        });
    }
    let n: OrderNamed = webhook::from_value(P, value)?;
    let partner_order_id = webhook::order_id("external_order_id", &n.external_order_id)?;
    if let Some(status) = value.get("dasher_status") {
        let status = status.as_str().unwrap_or_default();
        let signal = format!("dasher_status {status}");
        if !DASHER_NEAR_STORE.contains(&status) {
            // Confirmed, out for delivery, dropped off: nothing the store acts on.
            return Err(WebhookError::UnsupportedType {
                partner: P,
                kind: signal,
            });
        }
        return Ok(Webhook::CourierArriving(ArrivalNotice {
            partner_order_id,
            signal,
            sent_at: None,
        }));
    }
    if value.get("distance_from_store").is_some() {
        // The order release webhook: the Dasher crossed the store's geofence.
        return Ok(Webhook::CourierArriving(ArrivalNotice {
            partner_order_id,
            signal: "order release".to_owned(),
            sent_at: None,
        }));
    }
    Ok(Webhook::Cancellation(CancellationNotice {
        partner_order_id,
        partner_store_id: n.store.map(|s| s.merchant_supplied_id),
        // DoorDash sends no reason.
        reason: Some("cancelled by DoorDash (its cancellation webhook gives no reason)".to_owned()),
        sent_at: None,
    }))
}

/// An option and every option nested under it, in order.
fn options_of<'a>(extras: &'a [Extra], out: &mut Vec<&'a DdOption>) {
    for x in extras {
        for opt in &x.options {
            out.push(opt);
            options_of(&opt.extras, out);
        }
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
            quantity: i.quantity,
            unit_price: cents(i.price),
            modifiers: {
                let mut options = Vec::new();
                options_of(&i.extras, &mut options);
                options
            }
            .into_iter()
            .map(|opt| ModifierIn {
                id: opt.merchant_supplied_id.clone(),
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
        // DoorDash's order has no creation time: it is placed as it arrives.
        placed_at: o.created_at.map_or(now, |t| t.with_timezone(&Utc)),
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
        notes: o.order_special_instructions.clone(),
    }
    .finish(menu.price_tolerance_minor)
}
