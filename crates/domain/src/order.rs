//! The canonical order: what every partner format is adapted to and what the POS receives.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, Partner, PartnerOrderId, PosItemCode, StoreId};
use crate::money::Money;
use crate::rejection::{Rejection, RejectionReason};

/// How many of an item or modifier; at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    /// The most of one line a single order may carry.
    pub const MAX: u32 = 99;

    /// A quantity between 1 and [`Quantity::MAX`].
    pub fn new(n: u32) -> Result<Self, Rejection> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(Rejection::new(
                RejectionReason::InvalidField,
                format!("quantity {n} is outside 1..={}", Self::MAX),
            ))
        }
    }

    /// The quantity as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = Rejection;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Quantity::new(n)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> u32 {
        q.0
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": Quantity::MAX })
    }
}

/// Whether a partner's order webhook carries the whole order or only its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PayloadKind {
    /// The whole order is in the payload.
    Full,
    /// Only the id: the order is fetched from the partner's API.
    Notification,
}

/// Delivery by a courier, or pickup by the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Fulfillment {
    /// A courier collects the order at the store.
    Delivery,
    /// The customer collects the order at the store.
    Pickup,
}

/// When the order is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Timing {
    /// As soon as possible; the partner may tell when the courier will be at the store.
    Asap {
        /// When the courier (or customer) is expected at the store, if the partner says.
        pickup_eta: Option<DateTime<Utc>>,
    },
    /// For a given time.
    Scheduled {
        /// When the order must be ready for pickup at the store.
        ready_at: DateTime<Utc>,
    },
}

/// A modifier on an item (extra cheese, no onions), mapped to its POS code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Modifier {
    /// POS code of the modifier.
    pub pos_code: PosItemCode,
    /// Display name, from the menu.
    pub name: String,
    /// How many per item.
    pub quantity: Quantity,
    /// Price of one, in the order's currency.
    pub unit_price: Money,
}

/// One line of the order, mapped to its POS code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LineItem {
    /// POS code of the item.
    pub pos_code: PosItemCode,
    /// Display name, from the menu.
    pub name: String,
    /// How many.
    pub quantity: Quantity,
    /// Price of one item without modifiers.
    pub unit_price: Money,
    /// Modifiers applied to each item of this line.
    #[serde(default)]
    pub modifiers: Vec<Modifier>,
    /// The customer's note for this line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl LineItem {
    /// `quantity × (unit price + Σ modifier quantity × modifier price)`.
    pub fn total(&self) -> Result<Money, Rejection> {
        let mut each = self.unit_price;
        for m in &self.modifiers {
            each = m
                .unit_price
                .checked_mul(m.quantity.get())
                .and_then(|x| each.checked_add(x))
                .map_err(|e| Rejection::new(RejectionReason::PriceMismatch, e.to_string()))?;
        }
        each.checked_mul(self.quantity.get())
            .map_err(|e| Rejection::new(RejectionReason::PriceMismatch, e.to_string()))
    }
}

/// The canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Order {
    /// The pipeline's id (derived from partner and partner order id).
    pub id: OrderId,
    /// Who sent it.
    pub partner: Partner,
    /// The partner's id for it.
    pub partner_order_id: PartnerOrderId,
    /// The partner's id for the store, as the partner API needs it back.
    pub partner_store_id: String,
    /// The chain's store that prepares it.
    pub store_id: StoreId,
    /// When the customer placed it.
    pub placed_at: DateTime<Utc>,
    /// Delivery or pickup.
    pub fulfillment: Fulfillment,
    /// ASAP or scheduled.
    pub timing: Timing,
    /// At least one line.
    pub items: Vec<LineItem>,
    /// Sum of the lines.
    pub subtotal: Money,
    /// Tax as the partner charged it.
    pub tax: Money,
    /// What the customer paid for the food (subtotal + tax).
    pub total: Money,
    /// Name to call out at the counter: first name and last initial only ([`counter_name`]).
    pub customer_name: String,
    /// The customer's note for the whole order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Order {
    /// The time the order must be ready by, if there is one.
    pub fn ready_target(&self) -> Option<DateTime<Utc>> {
        match self.timing {
            Timing::Asap { pickup_eta } => pickup_eta,
            Timing::Scheduled { ready_at } => Some(ready_at),
        }
    }
}

/// What a partner adapter has gathered, before the invariants are checked.
#[derive(Debug, Clone)]
pub struct OrderDraft {
    /// Who sent it.
    pub partner: Partner,
    /// The partner's id for it.
    pub partner_order_id: PartnerOrderId,
    /// The partner's id for the store.
    pub partner_store_id: String,
    /// The chain's store.
    pub store_id: StoreId,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Delivery or pickup.
    pub fulfillment: Fulfillment,
    /// ASAP or scheduled.
    pub timing: Timing,
    /// The lines, mapped to POS codes.
    pub items: Vec<LineItem>,
    /// The subtotal the partner stated.
    pub stated_subtotal: Money,
    /// The tax the partner stated.
    pub tax: Money,
    /// Customer display name.
    pub customer_name: String,
    /// Order note.
    pub notes: Option<String>,
}

/// The longest first name kept for the counter (characters).
pub const MAX_FIRST_NAME_CHARS: usize = 20;

/// The name the store calls out: the first name and the last name's initial ("Ana Lopez
/// Garcia" → "Ana G."), "Guest" when the partner gives none. The POS ticket needs no more to
/// hand the right bag over, and a full name is personal data the stores' systems would keep.
pub fn counter_name(full: &str) -> String {
    let mut words = full.split_whitespace();
    let Some(first) = words.next() else {
        return "Guest".to_owned();
    };
    let first: String = first.chars().take(MAX_FIRST_NAME_CHARS).collect();
    match words
        .last()
        .and_then(|last| last.chars().find(|c| c.is_alphanumeric()))
    {
        Some(initial) => format!("{first} {}.", initial.to_uppercase()),
        None => first,
    }
}

/// Longest note kept; longer ones are cut, as POS tickets have little room.
pub const MAX_NOTE_CHARS: usize = 250;

fn clean_note(note: Option<String>) -> Option<String> {
    let note = note?.trim().to_owned();
    if note.is_empty() {
        None
    } else {
        Some(note.chars().take(MAX_NOTE_CHARS).collect())
    }
}

impl OrderDraft {
    /// Checks the invariants and builds the order: at least one line, one currency, no
    /// negative prices, and the stated subtotal within `tolerance_minor` of the lines' sum.
    pub fn finish(self, tolerance_minor: i64) -> Result<Order, Rejection> {
        if self.items.is_empty() {
            return Err(Rejection::new(
                RejectionReason::EmptyOrder,
                "the order has no items",
            ));
        }
        let currency = self.stated_subtotal.currency;
        let mut computed = Money::zero(currency);
        let mut items = Vec::with_capacity(self.items.len());
        for mut line in self.items {
            let prices =
                std::iter::once(line.unit_price).chain(line.modifiers.iter().map(|m| m.unit_price));
            for price in prices {
                if price.currency != currency {
                    return Err(Rejection::new(
                        RejectionReason::InvalidField,
                        format!(
                            "line {} is priced in {}, the order in {currency}",
                            line.pos_code, price.currency
                        ),
                    ));
                }
                if price.amount_minor < 0 {
                    return Err(Rejection::new(
                        RejectionReason::InvalidField,
                        format!("line {} has a negative price", line.pos_code),
                    ));
                }
            }
            computed = computed
                .checked_add(line.total()?)
                .map_err(|e| Rejection::new(RejectionReason::PriceMismatch, e.to_string()))?;
            line.notes = clean_note(line.notes);
            items.push(line);
        }
        if !self.stated_subtotal.within(computed, tolerance_minor) {
            return Err(Rejection::new(
                RejectionReason::PriceMismatch,
                format!(
                    "the partner's subtotal {} differs from the menu total {computed} by more than {tolerance_minor} minor units",
                    self.stated_subtotal
                ),
            ));
        }
        if self.tax.currency != currency || self.tax.amount_minor < 0 {
            return Err(Rejection::new(
                RejectionReason::InvalidField,
                format!(
                    "tax {} is not a non-negative amount in {currency}",
                    self.tax
                ),
            ));
        }
        let total = computed
            .checked_add(self.tax)
            .map_err(|e| Rejection::new(RejectionReason::PriceMismatch, e.to_string()))?;
        let customer_name = counter_name(&self.customer_name);
        Ok(Order {
            id: OrderId::for_partner_order(self.partner, &self.partner_order_id),
            partner: self.partner,
            partner_order_id: self.partner_order_id,
            partner_store_id: self.partner_store_id,
            store_id: self.store_id,
            placed_at: self.placed_at,
            fulfillment: self.fulfillment,
            timing: self.timing,
            items,
            subtotal: computed,
            tax: self.tax,
            total,
            customer_name,
            notes: clean_note(self.notes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(m: i64) -> Money {
        Money::new(m, Currency::USD)
    }

    fn line(code: &str, qty: u32, price: i64, mods: Vec<Modifier>) -> LineItem {
        LineItem {
            pos_code: PosItemCode::parse(code).unwrap(),
            name: code.to_owned(),
            quantity: Quantity::new(qty).unwrap(),
            unit_price: usd(price),
            modifiers: mods,
            notes: Some("  no onions  ".to_owned()),
        }
    }

    fn draft(items: Vec<LineItem>, subtotal: i64) -> OrderDraft {
        OrderDraft {
            partner: Partner::DoorDash,
            partner_order_id: PartnerOrderId::parse("dd-1").unwrap(),
            partner_store_id: "S1001".to_owned(),
            store_id: StoreId::parse("S1001").unwrap(),
            placed_at: "2026-11-22T10:00:00Z".parse().unwrap(),
            fulfillment: Fulfillment::Delivery,
            timing: Timing::Asap { pickup_eta: None },
            items,
            stated_subtotal: usd(subtotal),
            tax: usd(10),
            customer_name: "  Ana L.  ".to_owned(),
            notes: Some("   ".to_owned()),
        }
    }

    fn cheese() -> Modifier {
        Modifier {
            pos_code: PosItemCode::parse("ADD-CHEESE").unwrap(),
            name: "Extra cheese".to_owned(),
            quantity: Quantity::new(1).unwrap(),
            unit_price: usd(75),
        }
    }

    #[test]
    fn the_subtotal_counts_modifiers_per_item() {
        let order = draft(vec![line("CWS", 2, 599, vec![cheese()])], 1348)
            .finish(0)
            .unwrap();
        assert_eq!(order.subtotal, usd(1348));
        assert_eq!(order.total, usd(1358));
        assert_eq!(order.id.as_str(), "doordash.dd-1");
    }

    #[test]
    fn a_subtotal_beyond_the_tolerance_is_a_price_mismatch() {
        let err = draft(vec![line("CWS", 1, 599, vec![])], 610)
            .finish(5)
            .unwrap_err();
        assert_eq!(err.reason, RejectionReason::PriceMismatch);
        assert!(err.detail.contains("5.99 USD"), "{}", err.detail);
    }

    #[test]
    fn a_subtotal_within_the_tolerance_is_accepted() {
        assert!(
            draft(vec![line("CWS", 1, 599, vec![])], 603)
                .finish(5)
                .is_ok()
        );
    }

    #[test]
    fn an_order_without_items_is_refused() {
        let err = draft(vec![], 0).finish(5).unwrap_err();
        assert_eq!(err.reason, RejectionReason::EmptyOrder);
    }

    #[test]
    fn notes_are_trimmed_and_blank_ones_dropped() {
        let order = draft(vec![line("CWS", 1, 599, vec![])], 599)
            .finish(0)
            .unwrap();
        assert_eq!(order.items[0].notes.as_deref(), Some("no onions"));
        assert_eq!(order.notes, None);
        assert_eq!(order.customer_name, "Ana L.");
    }

    #[test]
    fn the_counter_gets_a_first_name_and_a_last_initial_only() {
        for (full, called) in [
            ("Ana Lopez Garcia", "Ana G."),
            ("  ana   lopez ", "ana L."),
            ("Émile zola", "Émile Z."),
            ("Cher", "Cher"),
            ("Ana L.", "Ana L."),
            ("Ana -", "Ana"),
            ("", "Guest"),
            ("   \t ", "Guest"),
            (
                "Maximiliansebastianus-Alexander Smith",
                "Maximiliansebastianu S.",
            ),
        ] {
            assert_eq!(counter_name(full), called, "{full:?}");
        }
    }

    #[test]
    fn zero_and_excessive_quantities_are_refused() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(100).is_err());
        assert!(serde_json::from_str::<Quantity>("0").is_err());
    }

    #[test]
    fn the_order_round_trips_through_json() {
        let order = draft(vec![line("CWS", 2, 599, vec![cheese()])], 1348)
            .finish(0)
            .unwrap();
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["timing"]["kind"], "asap");
        assert_eq!(json["subtotal"]["amountMinor"], 1348);
        let back: Order = serde_json::from_value(json).unwrap();
        assert_eq!(back, order);
    }
}
