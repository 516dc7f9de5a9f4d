//! Uber Eats format, Eats Marketplace API **v2 order details** (`GET /v2/eats/order/{id}`,
//! developer.uber.com, "Get Order Details" v2). Webhooks are notifications
//! (`orders.notification` names only the order id), signed with a hex HMAC-SHA256 of the body;
//! money is v2's `Money` object, `amount` in the currency's minor units with `currency_code`
//! (and a display `formatted_amount`, not read); times carry the store's local offset;
//! modifiers nest in `selected_modifier_groups`, whose selected items can carry groups of
//! their own (each nested selection becomes a modifier of its own on the line).
//!
//! Sources (docs/partner-contracts.md): the endpoint and the response's top level are
//! confirmed (U5a); the `Money` object and the nested groups follow a transcription of the v2
//! reference (U5d), since Uber's own stored page is cut off before them; the scheduled-order
//! field `scheduled_order_target_delivery_time_range` is an assumption (U5e).

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use order_domain::{
    Catalog, Currency, Fulfillment, Money, Order, OrderDraft, Partner, Rejection, Timing,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::{self, LineIn, ModifierIn};
use crate::webhook::{
    self, ArrivalNotice, CancellationNotice, MenuRefreshNotice, OrderNotice, PayloadKind, Webhook,
    WebhookError,
};

const P: Partner = Partner::UberEats;

/// Event type of a new-order notification.
pub const ORDER_NOTIFICATION: &str = "orders.notification";
/// Event type of a cancellation.
pub const ORDER_CANCEL: &str = "orders.cancel";
/// Event type of a courier reaching the store's geofence: "an accepted order should be
/// released to the kitchen" (developer.uber.com, Eats API, `orders.release` webhook; sent with
/// Fast Order Release on). Confirmed.
pub const ORDER_RELEASE: &str = "orders.release";
/// Event type of Uber asking for a store's menu again: a body of its own shape, naming the
/// store as `store_id` (Uber's id) and `partner_store_id` (the integrator's)
/// (developer.uber.com, Eats API v2, "Menu refresh request webhook"). Confirmed.
pub const STORE_MENU_REFRESH_REQUEST: &str = "store.menu_refresh_request";

/// The menu refresh request's body, as far as the pipeline reads it: the store, and what
/// identifies this request across Uber's re-sends (`event_id` if sent; the page lists
/// `webhook_meta` with its message id and time, so those are read too).
#[derive(Debug, Clone, Deserialize)]
struct MenuRefreshRequest {
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event_time: Option<i64>,
    store_id: String,
    #[serde(default)]
    webhook_meta: Option<WebhookMeta>,
}

#[derive(Debug, Clone, Deserialize)]
struct WebhookMeta {
    #[serde(default)]
    webhook_msg_uuid: Option<String>,
    #[serde(default)]
    webhook_msg_timestamp: Option<i64>,
}

/// The webhook body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per event (kept on retries).
    pub event_id: String,
    /// `orders.notification`, `orders.cancel` or `orders.release`.
    pub event_type: String,
    /// Epoch seconds; signed as part of the body, so it bounds replays.
    pub event_time: i64,
    /// What the event is about.
    pub meta: Meta,
    /// Where to fetch the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_href: Option<String>,
    /// Cancellation reason, on cancel events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The resource a notification is about.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// The store's Uber id.
    pub user_id: String,
    /// The order's Uber id.
    pub resource_id: String,
    /// Status hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Money as the v2 order details give it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UberMoney {
    /// In the currency's minor units (cents for USD).
    pub amount: i64,
    /// ISO 4217.
    pub currency_code: String,
    /// For display ("$5.99"); not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted_amount: Option<String>,
}

/// Unit and total price.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemPrice {
    /// One item.
    pub unit_price: UberMoney,
    /// Quantity × unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price: Option<UberMoney>,
}

/// A selected modifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectedItem {
    /// Uber id.
    pub id: String,
    /// Name.
    pub title: String,
    /// How many.
    pub quantity: u32,
    /// Price.
    pub price: ItemPrice,
    /// Groups selected under this selection (a sauce for the side a combo includes).
    #[serde(default)]
    pub selected_modifier_groups: Vec<ModifierGroup>,
}

/// A group of selected modifiers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModifierGroup {
    /// Group id.
    pub id: String,
    /// The selections.
    #[serde(default)]
    pub selected_items: Vec<SelectedItem>,
}

/// A cart line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartItem {
    /// Uber item id.
    pub id: String,
    /// Name.
    pub title: String,
    /// How many.
    pub quantity: u32,
    /// Price.
    pub price: ItemPrice,
    /// Modifier groups.
    #[serde(default)]
    pub selected_modifier_groups: Vec<ModifierGroup>,
    /// Line note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_instructions: Option<String>,
}

/// The cart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cart {
    /// Lines.
    pub items: Vec<CartItem>,
    /// Order note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_instructions: Option<String>,
}

/// Charges.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charges {
    /// Food subtotal.
    pub sub_total: UberMoney,
    /// Tax.
    pub tax: UberMoney,
    /// Total.
    pub total: UberMoney,
}

/// Payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    /// Charges.
    pub charges: Charges,
}

/// The store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UberStore {
    /// Uber store id.
    pub id: String,
}

/// The customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eater {
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

/// A delivery window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeRange {
    /// Start.
    pub start_time: DateTime<FixedOffset>,
    /// End.
    pub end_time: DateTime<FixedOffset>,
}

/// The order as `GET /v2/eats/order/{id}` returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UberOrder {
    /// Uber order id.
    pub id: String,
    /// Short display id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_id: Option<String>,
    /// `DELIVERY_BY_UBER`, `DELIVERY_BY_RESTAURANT` or `PICK_UP`.
    #[serde(rename = "type")]
    pub fulfillment_type: String,
    /// Placed, store-local offset.
    pub placed_at: DateTime<FixedOffset>,
    /// When Uber expects to pick it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_ready_for_pickup_at: Option<DateTime<FixedOffset>>,
    /// Present on scheduled orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_order_target_delivery_time_range: Option<TimeRange>,
    /// Store.
    pub store: UberStore,
    /// Customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eater: Option<Eater>,
    /// Cart.
    pub cart: Cart,
    /// Payment.
    pub payment: Payment,
}

fn money(m: &UberMoney, field: &str) -> Result<Money, Rejection> {
    let currency = Currency::parse(&m.currency_code).map_err(|e| Rejection::invalid(field, e))?;
    mapping::minor_units(m.amount, currency, field)
}

/// Every selection under `groups`, nested ones included, depth first, as modifiers of one
/// line.
fn selections(
    groups: &[ModifierGroup],
    field: &str,
    out: &mut Vec<ModifierIn>,
) -> Result<(), Rejection> {
    for (g, group) in groups.iter().enumerate() {
        for (k, m) in group.selected_items.iter().enumerate() {
            let here = format!("{field}.selected_modifier_groups[{g}].selected_items[{k}]");
            out.push(ModifierIn {
                id: m.id.clone(),
                quantity: m.quantity,
                unit_price: money(&m.price.unit_price, &format!("{here}.price.unit_price"))?,
            });
            selections(&m.selected_modifier_groups, &here, out)?;
        }
    }
    Ok(())
}

/// Classifies a webhook body. The event type is read first: Uber Eats sends every event type
/// to the one webhook URL, and event types have bodies of their own shape ("Always check this
/// field as new event types may be added without notice", developer.uber.com, Menu refresh
/// request webhook): the menu refresh request is read in its own shape, and types the pipeline
/// does not use (`store.provisioned`, …) are [`WebhookError::UnsupportedType`] whatever else
/// they carry.
pub fn classify(value: &Value) -> Result<Webhook, WebhookError> {
    let event_type = value
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or_else(|| WebhookError::Shape {
            partner: P,
            path: "event_type".to_owned(),
            message: "missing or not a string".to_owned(),
        })?;
    if event_type == STORE_MENU_REFRESH_REQUEST {
        let r: MenuRefreshRequest = webhook::from_value(P, value)?;
        let meta = r.webhook_meta.as_ref();
        // The time bounds replays of the signed body: without one it could be replayed
        // forever, each replay costing a call per item, so a body without one is refused.
        let at = r
            .event_time
            .or_else(|| meta.and_then(|m| m.webhook_msg_timestamp))
            .ok_or_else(|| WebhookError::Shape {
                partner: P,
                path: "event_time".to_owned(),
                message: "missing, and so is webhook_meta.webhook_msg_timestamp".to_owned(),
            })?;
        let sent_at = Some(
            Utc.timestamp_opt(at, 0)
                .single()
                .ok_or(WebhookError::Invalid {
                    field: "event_time",
                    why: "out of range".to_owned(),
                })?,
        );
        if r.store_id.trim().is_empty() {
            return Err(WebhookError::Invalid {
                field: "store_id",
                why: "empty".to_owned(),
            });
        }
        // Uber's id for the request; without one, the body's digest (a re-send is the same
        // bytes' worth of JSON).
        let event_id = r
            .event_id
            .clone()
            .or_else(|| meta.and_then(|m| m.webhook_msg_uuid.clone()))
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| {
                use sha2::Digest as _;
                hex::encode(sha2::Sha256::digest(value.to_string().as_bytes()))
            });
        return Ok(Webhook::MenuRefresh(MenuRefreshNotice {
            partner_store_id: r.store_id,
            event_id,
            sent_at,
        }));
    }
    if ![ORDER_NOTIFICATION, ORDER_CANCEL, ORDER_RELEASE].contains(&event_type) {
        return Err(WebhookError::UnsupportedType {
            partner: P,
            kind: event_type.to_owned(),
        });
    }
    let n: Notification = webhook::from_value(P, value)?;
    let sent_at = Utc
        .timestamp_opt(n.event_time, 0)
        .single()
        .ok_or(WebhookError::Invalid {
            field: "event_time",
            why: "out of range".to_owned(),
        })?;
    match n.event_type.as_str() {
        ORDER_NOTIFICATION => Ok(Webhook::Order(OrderNotice {
            partner_order_id: webhook::order_id("meta.resource_id", &n.meta.resource_id)?,
            partner_store_id: Some(n.meta.user_id),
            kind: PayloadKind::Notification,
            sent_at: Some(sent_at),
        })),
        ORDER_CANCEL => Ok(Webhook::Cancellation(CancellationNotice {
            partner_order_id: webhook::order_id("meta.resource_id", &n.meta.resource_id)?,
            partner_store_id: Some(n.meta.user_id),
            reason: webhook::short_reason(n.reason),
            sent_at: Some(sent_at),
        })),
        ORDER_RELEASE => Ok(Webhook::CourierArriving(ArrivalNotice {
            partner_order_id: webhook::order_id("meta.resource_id", &n.meta.resource_id)?,
            signal: ORDER_RELEASE.to_owned(),
            sent_at: Some(sent_at),
        })),
        other => Err(WebhookError::UnsupportedType {
            partner: P,
            kind: other.to_owned(),
        }),
    }
}

/// Adapts an order fetched from the API.
pub fn adapt(
    payload: &Value,
    catalog: &Catalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Order, Rejection> {
    let o: UberOrder = mapping::parse(payload)?;
    let (store, menu) = mapping::store(catalog, P, &o.store.id, now)?;
    let subtotal = money(&o.payment.charges.sub_total, "payment.charges.sub_total")?;
    mapping::currency(store, subtotal.currency)?;
    let fulfillment = match o.fulfillment_type.as_str() {
        "DELIVERY_BY_UBER" | "DELIVERY_BY_RESTAURANT" => Fulfillment::Delivery,
        "PICK_UP" => Fulfillment::Pickup,
        _ => {
            return Err(Rejection::invalid(
                "type",
                "an unsupported fulfillment (not DELIVERY or PICKUP)".to_owned(),
            ));
        }
    };
    let eta = o
        .estimated_ready_for_pickup_at
        .map(|t| t.with_timezone(&Utc));
    let timing = match &o.scheduled_order_target_delivery_time_range {
        Some(range) => Timing::Scheduled {
            ready_at: eta.unwrap_or_else(|| range.start_time.with_timezone(&Utc)),
        },
        None => Timing::Asap { pickup_eta: eta },
    };
    let mut lines = Vec::with_capacity(o.cart.items.len());
    for (i, item) in o.cart.items.iter().enumerate() {
        let mut modifiers = Vec::new();
        selections(
            &item.selected_modifier_groups,
            &format!("cart.items[{i}]"),
            &mut modifiers,
        )?;
        lines.push(LineIn {
            id: item.id.clone(),
            quantity: item.quantity,
            unit_price: money(
                &item.price.unit_price,
                &format!("cart.items[{i}].price.unit_price"),
            )?,
            modifiers,
            notes: item.special_instructions.clone(),
        });
    }
    let eater = o.eater.as_ref();
    OrderDraft {
        partner: P,
        partner_order_id: mapping::partner_order_id(&o.id)?,
        partner_store_id: o.store.id.clone(),
        store_id: store.id.clone(),
        placed_at: o.placed_at.with_timezone(&Utc),
        fulfillment,
        timing,
        items: mapping::lines(P, menu, lines)?,
        stated_subtotal: subtotal,
        tax: money(&o.payment.charges.tax, "payment.charges.tax")?,
        customer_name: mapping::display_name(
            eater.map(|e| e.first_name.as_str()),
            eater.and_then(|e| e.last_name.as_deref()),
        ),
        notes: o.cart.special_instructions.clone(),
    }
    .finish(menu.price_tolerance_minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Value {
        serde_json::from_str(include_str!("../../../events/partners/ubereats/order.json")).unwrap()
    }

    fn at() -> DateTime<Utc> {
        "2026-11-22T18:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_selection_under_a_selection_is_a_modifier_of_its_own_on_the_line() {
        let mut o = order();
        o["cart"]["items"][0]["selected_modifier_groups"][0]["selected_items"][0]["selected_modifier_groups"] = serde_json::json!([{
            "id": "mg-sauce",
            "selected_items": [{
                "id": "0f2f6c4e-1a1e-4c1e-9a01-000000000205",
                "title": "Fire sauce",
                "quantity": 1,
                "price": { "unit_price": { "amount": 0, "currency_code": "USD", "formatted_amount": "$0.00" } }
            }]
        }]);
        let adapted = adapt(&o, &Catalog::embedded().unwrap(), at()).unwrap();
        let codes: Vec<&str> = adapted.items[0]
            .modifiers
            .iter()
            .map(|m| m.pos_code.as_str())
            .collect();
        assert_eq!(codes, ["ADD-CHEESE", "SAUCE-FIRE"]);
    }

    #[test]
    fn money_is_v2s_minor_units_with_a_currency_and_the_e5_shape_is_refused_by_field() {
        let adapted = adapt(&order(), &Catalog::embedded().unwrap(), at()).unwrap();
        assert_eq!(adapted.subtotal.amount_minor, 1627);
        let mut negative = order();
        negative["payment"]["charges"]["tax"]["amount"] = serde_json::json!(-1);
        let r = adapt(&negative, &Catalog::embedded().unwrap(), at()).unwrap_err();
        assert!(r.detail.contains("payment.charges.tax"), "{r}");
        let mut e5 = order();
        e5["payment"]["charges"]["tax"] =
            serde_json::json!({ "amount_e5": 130000, "currency_code": "USD" });
        let r = adapt(&e5, &Catalog::embedded().unwrap(), at()).unwrap_err();
        assert!(r.detail.contains("payment.charges.tax"), "{r}");
    }
}
