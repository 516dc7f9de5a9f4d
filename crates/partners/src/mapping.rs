//! What every partner adapter shares: resolving the store and mapping lines through the
//! store's menu, with price checks.

use order_domain::{
    Catalog, Currency, LineItem, Menu, Modifier, Money, Partner, Quantity, Rejection,
    RejectionReason, Store,
};
use serde_json::Value;

/// A partner's line before mapping.
pub(crate) struct LineIn {
    pub id: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub modifiers: Vec<ModifierIn>,
    pub notes: Option<String>,
}

/// A partner's modifier before mapping.
pub(crate) struct ModifierIn {
    pub id: String,
    pub quantity: u32,
    pub unit_price: Money,
}

/// Deserializes a partner payload, turning serde's complaint into a rejection that names the
/// field: a missing field is `MissingField`, anything else `InvalidField`.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(payload: &Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        let message = crate::problem::without_values(&e.inner().to_string());
        let reason = if message.starts_with("missing field") {
            RejectionReason::MissingField
        } else {
            RejectionReason::InvalidField
        };
        Rejection::new(reason, format!("at {path}: {message}"))
    })
}

/// The store the partner means, refusing unknown, closed and paused stores.
pub(crate) fn store<'c>(
    catalog: &'c Catalog,
    partner: Partner,
    partner_store_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(&'c Store, &'c Menu), Rejection> {
    let store = catalog
        .store_for_partner(partner, partner_store_id)
        .ok_or_else(|| {
            Rejection::new(
                RejectionReason::UnknownStore,
                // The partner's store id is the payload's value: not quoted.
                format!("the {partner} store id is not a store of the chain"),
            )
        })?;
    // Its hours are accept's to check (at the time the kitchen would start).
    if let Some(r) = order_domain::decisions::unavailable_store(store, now) {
        return Err(r);
    }
    let menu = catalog.menu_of(store).ok_or_else(|| {
        Rejection::new(
            RejectionReason::UnknownStore,
            format!("store {} has no menu", store.id),
        )
    })?;
    Ok((store, menu))
}

/// `amount` minor units of `currency` as a partner states it at `field`; a negative amount is
/// refused naming the field ([`Money::non_negative`]).
pub(crate) fn minor_units(
    amount: i64,
    currency: Currency,
    field: &str,
) -> Result<Money, Rejection> {
    Money::new(amount, currency)
        .non_negative()
        .map_err(|e| Rejection::invalid(field, e))
}

/// Refuses an order in another currency than the store's.
pub(crate) fn currency(store: &Store, currency: Currency) -> Result<(), Rejection> {
    if store.currency == currency {
        Ok(())
    } else {
        Err(Rejection::new(
            RejectionReason::UnsupportedCurrency,
            format!(
                "store {} takes {}, the order is in {currency}",
                store.id, store.currency
            ),
        ))
    }
}

fn check_price(what: &str, given: Money, menu_minor: i64, tolerance: i64) -> Result<(), Rejection> {
    let menu_price = Money::new(menu_minor, given.currency);
    if given.within(menu_price, tolerance) {
        Ok(())
    } else {
        Err(Rejection::new(
            RejectionReason::PriceMismatch,
            format!("{what}: the partner price {given} is not the menu price {menu_price}"),
        ))
    }
}

/// Maps partner lines to POS lines through the menu, checking each price against it.
pub(crate) fn lines(
    partner: Partner,
    menu: &Menu,
    lines: Vec<LineIn>,
) -> Result<Vec<LineItem>, Rejection> {
    lines
        .into_iter()
        .enumerate()
        .map(|(n, l)| {
            // The field, by its line (from 1), never the partner's value.
            let line = format!("line {}", n + 1);
            let entry = menu.item(partner, &l.id).ok_or_else(|| {
                Rejection::new(
                    RejectionReason::UnknownItem,
                    format!("{line}: the {partner} item is not on menu {}", menu.id),
                )
            })?;
            check_price(
                &line,
                l.unit_price,
                entry.price_minor,
                menu.price_tolerance_minor,
            )?;
            let modifiers = l
                .modifiers
                .into_iter()
                .enumerate()
                .map(|(k, m)| {
                    let modifier = format!("{line}, modifier {}", k + 1);
                    let me = menu.modifier(partner, &m.id).ok_or_else(|| {
                        Rejection::new(
                            RejectionReason::UnknownModifier,
                            format!(
                                "{modifier}: the {partner} modifier is not on menu {}",
                                menu.id
                            ),
                        )
                    })?;
                    check_price(
                        &modifier,
                        m.unit_price,
                        me.price_minor,
                        menu.price_tolerance_minor,
                    )?;
                    Ok(Modifier {
                        pos_code: me.pos_code.clone(),
                        name: me.name.clone(),
                        quantity: Quantity::new(m.quantity)?,
                        unit_price: m.unit_price,
                    })
                })
                .collect::<Result<Vec<_>, Rejection>>()?;
            Ok(LineItem {
                pos_code: entry.pos_code.clone(),
                name: entry.name.clone(),
                quantity: Quantity::new(l.quantity)?,
                unit_price: l.unit_price,
                modifiers,
                notes: l.notes,
            })
        })
        .collect()
}

/// "Ana Lopez" → "Ana L."
pub(crate) fn display_name(first: Option<&str>, last: Option<&str>) -> String {
    let first = first.unwrap_or("").trim();
    match last.and_then(|l| l.trim().chars().next()) {
        Some(initial) if !first.is_empty() => format!("{first} {initial}."),
        _ => first.to_owned(),
    }
}

/// The partner order id, validated.
pub(crate) fn partner_order_id(raw: &str) -> Result<order_domain::PartnerOrderId, Rejection> {
    order_domain::PartnerOrderId::parse(raw).map_err(|e| Rejection::invalid("order id", e))
}
