//! Properties of the four partner adapters over generated orders that are valid by
//! construction: any number of lines, quantities, prices within the menu's tolerance and
//! modifiers, written in each partner's own format (Uber-style e5 money, DoorDash-style cents
//! in categories, Grubhub-style decimal strings, the app's cents). The expected totals come
//! from the generator's own figures, never from the adapter's arithmetic. Each valid order is
//! then broken in one field at a time, and the rejection must name the fault.

// Test helpers outside #[test] functions may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_domain::{Catalog, Currency, Money, Partner, RejectionReason};
use partners::adapt;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The menu `core-us` as the test knows it: (partner ids, POS code, price in cents). Kept here
/// rather than read from the catalogue so a changed menu cannot silently change the oracle.
const ITEMS: [(&str, &str, &str, &str, &str, i64); 4] = [
    // (ubereats, doordash, grubhub, app, pos code, cents)
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000100",
        "MSI-100",
        "7001100",
        "sku-taco-crunchy",
        "TACO-CRUNCHY",
        199,
    ),
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000102",
        "MSI-102",
        "7001102",
        "sku-crunchwrap",
        "CRUNCHWRAP",
        599,
    ),
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000105",
        "MSI-105",
        "7001105",
        "sku-quesadilla-chkn",
        "QUESADILLA-CHKN",
        549,
    ),
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000107",
        "MSI-107",
        "7001107",
        "sku-drink-lg",
        "DRINK-LG",
        279,
    ),
];

const MODIFIERS: [(&str, &str, &str, &str, &str, i64); 3] = [
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000200",
        "MSO-200",
        "7001200",
        "sku-add-cheese",
        "ADD-CHEESE",
        75,
    ),
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000201",
        "MSO-201",
        "7001201",
        "sku-add-sour-cream",
        "ADD-SOUR-CREAM",
        50,
    ),
    (
        "0f2f6c4e-1a1e-4c1e-9a01-000000000202",
        "MSO-202",
        "7001202",
        "sku-add-guac",
        "ADD-GUAC",
        100,
    ),
];

/// `core-us` accepts partner prices within 5 cents of its own.
const TOLERANCE: i64 = 5;

fn partner_id(p: Partner, row: &(&str, &str, &str, &str, &str, i64)) -> String {
    match p {
        Partner::UberEats => row.0,
        Partner::DoorDash => row.1,
        Partner::Grubhub => row.2,
        Partner::ChainApp => row.3,
    }
    .to_owned()
}

#[derive(Debug, Clone)]
struct Mod {
    row: usize,
    quantity: u32,
    cents: i64,
}

#[derive(Debug, Clone)]
struct Line {
    row: usize,
    quantity: u32,
    cents: i64,
    mods: Vec<Mod>,
}

#[derive(Debug, Clone)]
struct Generated {
    partner: Partner,
    lines: Vec<Line>,
    tax: i64,
    /// What the partner states as the subtotal, within tolerance of the true one.
    stated_subtotal: i64,
}

impl Generated {
    /// Σ quantity × (unit + Σ modifier quantity × modifier unit), in cents.
    fn subtotal(&self) -> i64 {
        self.lines.iter().map(line_cents).sum()
    }
}

fn line_cents(l: &Line) -> i64 {
    let each = l.cents
        + l.mods
            .iter()
            .map(|m| i64::from(m.quantity) * m.cents)
            .sum::<i64>();
    i64::from(l.quantity) * each
}

fn arb_line() -> impl Strategy<Value = Line> {
    let m = (0..MODIFIERS.len(), 1u32..=3, -TOLERANCE..=TOLERANCE).prop_map(|(row, q, d)| Mod {
        row,
        quantity: q,
        cents: MODIFIERS[row].5 + d,
    });
    (
        0..ITEMS.len(),
        1u32..=25,
        -TOLERANCE..=TOLERANCE,
        prop::collection::vec(m, 0..3),
    )
        .prop_map(|(row, quantity, d, mods)| Line {
            row,
            quantity,
            cents: ITEMS[row].5 + d,
            mods,
        })
}

fn arb_order() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(Partner::ALL.to_vec()),
        prop::collection::vec(arb_line(), 1..8),
        0i64..5_000,
        -TOLERANCE..=TOLERANCE,
    )
        .prop_map(|(partner, lines, tax, skew)| {
            let mut g = Generated {
                partner,
                lines,
                tax,
                stated_subtotal: 0,
            };
            g.stated_subtotal = (g.subtotal() + skew).max(0);
            g
        })
}

fn e5(cents: i64) -> Value {
    json!({ "amount": cents, "currency_code": "USD" })
}

/// The order in its partner's format, placed 2026-11-22 17:58 UTC at store S1001, ASAP.
fn render(g: &Generated) -> Value {
    let p = g.partner;
    let (sub, tax, total) = (g.stated_subtotal, g.tax, g.stated_subtotal + g.tax);
    match p {
        Partner::UberEats => {
            let items: Vec<Value> = g
                .lines
                .iter()
                .map(|l| {
                    let mods: Vec<Value> = l
                        .mods
                        .iter()
                        .map(|m| {
                            json!({
                                "id": partner_id(p, &MODIFIERS[m.row]),
                                "title": MODIFIERS[m.row].4,
                                "quantity": m.quantity,
                                "price": { "unit_price": e5(m.cents) },
                            })
                        })
                        .collect();
                    json!({
                        "id": partner_id(p, &ITEMS[l.row]),
                        "title": ITEMS[l.row].4,
                        "quantity": l.quantity,
                        "price": { "unit_price": e5(l.cents), "total_price": e5(line_cents(l)) },
                        "selected_modifier_groups": [{ "id": "mg-1", "selected_items": mods }],
                    })
                })
                .collect();
            json!({
                "id": "5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4eff",
                "display_id": "5F3FF",
                "type": "PICK_UP",
                "placed_at": "2026-11-22T09:58:00-08:00",
                "store": { "id": "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001" },
                "eater": { "first_name": "Sam", "last_name": "Kim" },
                "cart": { "items": items },
                "payment": { "charges": {
                    "sub_total": e5(sub), "tax": e5(tax), "total": e5(total)
                } },
            })
        }
        Partner::DoorDash => {
            let items: Vec<Value> = g
                .lines
                .iter()
                .map(|l| {
                    let options: Vec<Value> = l
                        .mods
                        .iter()
                        .map(|m| {
                            json!({
                                "merchant_supplied_id": partner_id(p, &MODIFIERS[m.row]),
                                "name": MODIFIERS[m.row].4,
                                "quantity": m.quantity,
                                "price": m.cents,
                            })
                        })
                        .collect();
                    json!({
                        "merchant_supplied_id": partner_id(p, &ITEMS[l.row]),
                        "name": ITEMS[l.row].4,
                        "quantity": l.quantity,
                        "price": l.cents,
                        "extras": [{ "merchant_supplied_id": "ex-1", "name": "Extras", "options": options }],
                    })
                })
                .collect();
            json!({
                "event": { "type": "OrderCreate", "status": "NEW" },
                "order": {
                    "id": "dd-7f1e2a90-00ff",
                    "store": { "merchant_supplied_id": "S1001" },
                    "consumer": { "first_name": "Ana", "last_name": "Lopez" },
                    "categories": [{ "merchant_supplied_id": "cat-1", "items": items }],
                    "subtotal": sub,
                    "tax": tax,
                    "is_pickup": true,
                    "is_asap": true,
                    "created_at": "2026-11-22T17:58:00Z",
                },
            })
        }
        Partner::Grubhub => {
            let lines: Vec<Value> = g
                .lines
                .iter()
                .map(|l| {
                    let options: Vec<Value> = l
                        .mods
                        .iter()
                        .map(|m| {
                            json!({
                                "id": partner_id(p, &MODIFIERS[m.row]),
                                "name": MODIFIERS[m.row].4,
                                "price": m.cents,
                                "quantity": m.quantity,
                            })
                        })
                        .collect();
                    json!({
                        "menu_item_id": partner_id(p, &ITEMS[l.row]),
                        "name": ITEMS[l.row].4,
                        "quantity": l.quantity,
                        "price": l.cents,
                        "options": options,
                    })
                })
                .collect();
            json!({
                "type": "ORDER_CREATED",
                "order": {
                    "uuid": "gh-3e7b9c1d-00ff",
                    "order_number": "GH-00FF",
                    "restaurant": { "id": "GH-88231" },
                    "placed_at": "2026-11-22T09:58:00-08:00",
                    "when_for": null,
                    "fulfillment_info": { "type": "PICKUP" },
                    "lines": lines,
                    "charges": {
                        "currency": "USD",
                        "subtotal": sub,
                        "tax": tax,
                        "total": total,
                    },
                    "diner": { "name": "Jo P." },
                },
            })
        }
        Partner::ChainApp => {
            let items: Vec<Value> = g
                .lines
                .iter()
                .map(|l| {
                    let mods: Vec<Value> = l
                        .mods
                        .iter()
                        .map(|m| {
                            json!({
                                "sku": partner_id(p, &MODIFIERS[m.row]),
                                "name": MODIFIERS[m.row].4,
                                "qty": m.quantity,
                                "unitPriceCents": m.cents,
                            })
                        })
                        .collect();
                    json!({
                        "sku": partner_id(p, &ITEMS[l.row]),
                        "name": ITEMS[l.row].4,
                        "qty": l.quantity,
                        "unitPriceCents": l.cents,
                        "modifiers": mods,
                    })
                })
                .collect();
            json!({
                "type": "order.created",
                "order": {
                    "orderId": "APP-20261122-00FF",
                    "storeNumber": "1001",
                    "placedAt": "2026-11-22T17:58:00Z",
                    "fulfillment": "PICKUP",
                    "pickupAt": null,
                    "items": items,
                    "totals": {
                        "subtotalCents": sub,
                        "taxCents": tax,
                        "totalCents": total,
                        "currency": "USD",
                    },
                    "customer": { "firstName": "Lee", "lastInitial": "W" },
                },
            })
        }
    }
}

/// The JSON pointer of line `i`'s unit price, quantity and partner id, in the partner's format.
fn line_field(p: Partner, i: usize, field: &str) -> String {
    let base = match p {
        Partner::UberEats => format!("/cart/items/{i}"),
        Partner::DoorDash => format!("/order/categories/0/items/{i}"),
        Partner::Grubhub => format!("/order/lines/{i}"),
        Partner::ChainApp => format!("/order/items/{i}"),
    };
    let leaf = match (p, field) {
        (Partner::UberEats, "price") => "price/unit_price/amount",
        (Partner::Grubhub, "id") => "menu_item_id",
        (Partner::DoorDash, "id") => "merchant_supplied_id",
        (Partner::ChainApp, "id") => "sku",
        (Partner::ChainApp, "quantity") => "qty",
        (Partner::ChainApp, "price") => "unitPriceCents",
        (_, f) => f,
    };
    format!("{base}/{leaf}")
}

/// A price in the partner's format, from cents.
fn price_value(_: Partner, cents: i64) -> Value {
    // Every partner now states money in minor units.
    Value::from(cents)
}

/// The pointer of the stated subtotal.
fn subtotal_field(p: Partner) -> &'static str {
    match p {
        Partner::UberEats => "/payment/charges/sub_total/amount",
        Partner::DoorDash => "/order/subtotal",
        Partner::Grubhub => "/order/charges/subtotal",
        Partner::ChainApp => "/order/totals/subtotalCents",
    }
}

fn catalog() -> Catalog {
    Catalog::embedded().unwrap()
}

fn usd(cents: i64) -> Money {
    Money::new(cents, Currency::USD)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_valid_order_in_any_partner_format_maps_line_for_line_with_the_true_totals(g in arb_order()) {
        let o = adapt(g.partner, &render(&g), &catalog())
            .map_err(|r| TestCaseError::fail(format!("{g:?} was refused: {r}")))?;
        prop_assert_eq!(o.store_id.as_str(), "S1001");
        prop_assert_eq!(o.items.len(), g.lines.len());
        for (got, want) in o.items.iter().zip(&g.lines) {
            prop_assert_eq!(got.pos_code.as_str(), ITEMS[want.row].4);
            prop_assert_eq!(got.quantity.get(), want.quantity);
            prop_assert_eq!(got.unit_price, usd(want.cents));
            prop_assert_eq!(got.modifiers.len(), want.mods.len());
            for (gm, wm) in got.modifiers.iter().zip(&want.mods) {
                prop_assert_eq!(gm.pos_code.as_str(), MODIFIERS[wm.row].4);
                prop_assert_eq!(gm.quantity.get(), wm.quantity);
                prop_assert_eq!(gm.unit_price, usd(wm.cents));
            }
        }
        // The order's subtotal is the menu-checked sum, not the partner's statement.
        prop_assert_eq!(o.subtotal, usd(g.subtotal()));
        prop_assert_eq!(o.tax, usd(g.tax));
        prop_assert_eq!(o.total, usd(g.subtotal() + g.tax));
    }

    #[test]
    fn a_stated_subtotal_beyond_the_tolerance_is_a_price_mismatch(
        g in arb_order(),
        off in prop_oneof![-1_000i64..=-(TOLERANCE + 1), (TOLERANCE + 1)..=1_000],
    ) {
        let stated = g.subtotal() + off;
        prop_assume!(stated >= 0);
        let mut v = render(&g);
        *v.pointer_mut(subtotal_field(g.partner)).unwrap() = price_value(g.partner, stated);
        let r = adapt(g.partner, &v, &catalog()).unwrap_err();
        prop_assert_eq!(r.reason, RejectionReason::PriceMismatch, "{}", r);
        prop_assert!(r.detail.contains(&usd(stated).to_string()), "{}", r.detail);
    }

    #[test]
    fn a_line_priced_off_the_menu_is_a_price_mismatch_naming_the_line_not_the_value(
        g in arb_order(),
        which in any::<prop::sample::Index>(),
        off in prop_oneof![-100i64..=-(TOLERANCE + 1), (TOLERANCE + 1)..=500],
    ) {
        let i = which.index(g.lines.len());
        let line = &g.lines[i];
        let menu = ITEMS[line.row].5;
        prop_assume!(menu + off >= 0);
        let mut v = render(&g);
        *v.pointer_mut(&line_field(g.partner, i, "price")).unwrap() = price_value(g.partner, menu + off);
        let r = adapt(g.partner, &v, &catalog()).unwrap_err();
        prop_assert_eq!(r.reason, RejectionReason::PriceMismatch, "{}", r);
        prop_assert!(r.detail.starts_with(&format!("line {}", i + 1)), "{}", r.detail);
        prop_assert!(!r.detail.contains(&partner_id(g.partner, &ITEMS[line.row])), "{}", r.detail);
    }

    #[test]
    fn an_item_off_the_menu_is_an_unknown_item_naming_its_line_not_its_id(
        g in arb_order(),
        which in any::<prop::sample::Index>(),
        id in "[A-Za-z0-9-]{3,20}",
    ) {
        prop_assume!(ITEMS.iter().chain(&MODIFIERS).all(|row| partner_id(g.partner, row) != id));
        let i = which.index(g.lines.len());
        let mut v = render(&g);
        *v.pointer_mut(&line_field(g.partner, i, "id")).unwrap() = Value::from(id.clone());
        let r = adapt(g.partner, &v, &catalog()).unwrap_err();
        prop_assert_eq!(r.reason, RejectionReason::UnknownItem, "{}", r);
        prop_assert!(r.detail.starts_with(&format!("line {}:", i + 1)), "{}", r.detail);
        prop_assert!(!r.detail.contains(&id), "{}", r.detail);
    }

    #[test]
    fn a_quantity_below_one_is_refused_as_invalid(
        g in arb_order(),
        which in any::<prop::sample::Index>(),
        q in -5i64..=0,
    ) {
        let i = which.index(g.lines.len());
        let mut v = render(&g);
        *v.pointer_mut(&line_field(g.partner, i, "quantity")).unwrap() = Value::from(q);
        let r = adapt(g.partner, &v, &catalog()).unwrap_err();
        prop_assert_eq!(r.reason, RejectionReason::InvalidField, "{}", r);
        prop_assert!(r.detail.contains("quantity") || r.detail.contains("qty"), "{}", r.detail);
    }

    #[test]
    fn a_missing_line_field_is_named(
        g in arb_order(),
        which in any::<prop::sample::Index>(),
        field in prop::sample::select(vec!["id", "quantity", "price"]),
    ) {
        let i = which.index(g.lines.len());
        let pointer = line_field(g.partner, i, field);
        let (parent, leaf) = pointer.rsplit_once('/').unwrap();
        let mut v = render(&g);
        v.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(leaf);
        let r = adapt(g.partner, &v, &catalog()).unwrap_err();
        prop_assert_eq!(r.reason, RejectionReason::MissingField, "{}", r);
        prop_assert!(r.detail.contains(leaf), "{} should name {}", r.detail, leaf);
    }
}
