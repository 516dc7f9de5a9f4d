//! Every partner adapter against the payloads in `events/partners/`, and property tests that
//! no input, however odd, panics an adapter or the webhook classifier.

// Test helpers outside #[test] functions may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use order_domain::{Catalog, Currency, Fulfillment, Money, Partner, RejectionReason, Timing};
use partners::{PayloadKind, Webhook, WebhookError, adapt, parse_webhook};
use proptest::prelude::*;
use serde_json::Value;

fn payload(rel: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/partners")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn catalog() -> Catalog {
    Catalog::embedded().unwrap()
}

fn usd(m: i64) -> Money {
    Money::new(m, Currency::USD)
}

#[test]
fn an_uber_style_order_maps_e5_money_local_times_and_nested_modifiers() {
    let o = adapt(
        Partner::UberEats,
        &payload("ubereats/order.json"),
        &catalog(),
    )
    .unwrap();
    assert_eq!(o.store_id.as_str(), "S1001");
    assert_eq!(
        o.id.as_str(),
        "ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e01"
    );
    assert_eq!(o.items[0].pos_code.as_str(), "CRUNCHWRAP");
    assert_eq!(o.items[0].modifiers[0].pos_code.as_str(), "ADD-CHEESE");
    assert_eq!(o.items[0].notes.as_deref(), Some("no onions please"));
    assert_eq!(o.subtotal, usd(1627));
    assert_eq!(o.total, usd(1757));
    assert_eq!(o.placed_at.to_rfc3339(), "2026-11-22T17:58:00+00:00");
    assert_eq!(o.fulfillment, Fulfillment::Delivery);
    assert_eq!(o.customer_name, "Sam K.");
    assert!(
        matches!(o.timing, Timing::Asap { pickup_eta: Some(t) } if t.to_rfc3339() == "2026-11-22T18:20:00+00:00")
    );
}

#[test]
fn an_uber_style_scheduled_order_is_ready_at_the_pickup_estimate() {
    let o = adapt(
        Partner::UberEats,
        &payload("ubereats/order-scheduled.json"),
        &catalog(),
    )
    .unwrap();
    assert!(
        matches!(o.timing, Timing::Scheduled { ready_at } if ready_at.to_rfc3339() == "2026-11-22T20:45:00+00:00")
    );
}

#[test]
fn a_doordash_style_order_takes_the_stores_currency_and_flattens_categories() {
    let o = adapt(
        Partner::DoorDash,
        &payload("doordash/order.json"),
        &catalog(),
    )
    .unwrap();
    assert_eq!(o.items.len(), 2);
    assert_eq!(o.items[0].pos_code.as_str(), "CHALUPA");
    assert_eq!(o.items[0].modifiers[0].pos_code.as_str(), "SUB-STEAK");
    assert_eq!(o.items[1].pos_code.as_str(), "CINNA-DELIGHTS");
    assert_eq!(o.subtotal, usd(1447));
    assert_eq!(o.items[0].notes, None, "a blank note is dropped");
    assert_eq!(o.customer_name, "Ana L.");
}

#[test]
fn a_doordash_style_scheduled_order_uses_the_pickup_time() {
    let o = adapt(
        Partner::DoorDash,
        &payload("doordash/order-scheduled.json"),
        &catalog(),
    )
    .unwrap();
    assert!(
        matches!(o.timing, Timing::Scheduled { ready_at } if ready_at.to_rfc3339() == "2026-11-22T21:30:00+00:00")
    );
}

#[test]
fn a_grubhub_style_order_parses_decimal_strings_and_option_quantities() {
    let o = adapt(Partner::Grubhub, &payload("grubhub/order.json"), &catalog()).unwrap();
    assert_eq!(o.fulfillment, Fulfillment::Pickup);
    assert_eq!(o.items[0].pos_code.as_str(), "QUESADILLA-CHKN");
    assert_eq!(o.items[0].modifiers.len(), 2);
    assert_eq!(o.items[0].modifiers[1].quantity.get(), 2);
    assert_eq!(o.subtotal, usd(1346));
    assert_eq!(o.tax, usd(108));
    assert!(matches!(
        o.timing,
        Timing::Asap {
            pickup_eta: Some(_)
        }
    ));
}

#[test]
fn an_app_order_maps_skus_and_a_scheduled_pickup() {
    let o = adapt(Partner::ChainApp, &payload("app/order.json"), &catalog()).unwrap();
    assert_eq!(o.items[0].pos_code.as_str(), "CRUNCHWRAP");
    assert_eq!(o.subtotal, usd(599 + 75 + 2 * 199));
    let s = adapt(
        Partner::ChainApp,
        &payload("app/order-scheduled.json"),
        &catalog(),
    )
    .unwrap();
    assert!(matches!(s.timing, Timing::Scheduled { .. }));
}

fn rejection(partner: Partner, rel: &str) -> order_domain::Rejection {
    adapt(partner, &payload(rel), &catalog()).expect_err(rel)
}

#[test]
fn each_rejection_reason_is_typed_and_names_the_problem() {
    let cases = [
        (
            Partner::Grubhub,
            "grubhub/order-unknown-item.json",
            RejectionReason::UnknownItem,
            "line 1: the grubhub item is not on menu",
        ),
        (
            Partner::Grubhub,
            "grubhub/order-unsupported-currency.json",
            RejectionReason::UnsupportedCurrency,
            "EUR",
        ),
        (
            Partner::ChainApp,
            "app/order-price-mismatch.json",
            RejectionReason::PriceMismatch,
            "6.99 USD",
        ),
        (
            Partner::ChainApp,
            "app/order-unknown-modifier.json",
            RejectionReason::UnknownModifier,
            "modifier 1: the app modifier is not on menu",
        ),
        (
            Partner::ChainApp,
            "app/order-empty.json",
            RejectionReason::EmptyOrder,
            "no items",
        ),
        (
            Partner::ChainApp,
            "app/order-paused-store.json",
            RejectionReason::StorePaused,
            "S1003 is paused",
        ),
        (
            Partner::UberEats,
            "ubereats/order-closed-store.json",
            RejectionReason::StorePaused,
            "S1003",
        ),
        (
            Partner::DoorDash,
            "doordash/order-unknown-store.json",
            RejectionReason::UnknownStore,
            "the doordash store id is not a store of the chain",
        ),
        (
            Partner::DoorDash,
            "doordash/order-missing-field.json",
            RejectionReason::MissingField,
            "subtotal",
        ),
    ];
    for (partner, rel, reason, mention) in cases {
        let r = rejection(partner, rel);
        assert_eq!(r.reason, reason, "{rel}: {r}");
        assert!(
            r.detail.contains(mention),
            "{rel}: {:?} should mention {mention:?}",
            r.detail
        );
    }
}

#[test]
fn a_wrong_type_is_an_invalid_field_with_its_path() {
    let mut p = payload("doordash/order.json");
    p["order"]["categories"][0]["items"][1]["quantity"] = Value::from("two");
    let r = adapt(Partner::DoorDash, &p, &catalog()).unwrap_err();
    assert_eq!(r.reason, RejectionReason::InvalidField);
    assert!(
        r.detail.contains("order.categories[0].items[1].quantity"),
        "{}",
        r.detail
    );
}

#[test]
fn a_grubhub_time_without_an_offset_is_refused() {
    let mut p = payload("grubhub/order.json");
    p["order"]["placed_at"] = Value::from("2026-11-22T09:59:00");
    let r = adapt(Partner::Grubhub, &p, &catalog()).unwrap_err();
    assert_eq!(r.reason, RejectionReason::InvalidField, "{r}");
}

fn classify(partner: Partner, rel: &str) -> Webhook {
    let body = serde_json::to_vec(&payload(rel)).unwrap();
    parse_webhook(partner, &body)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .0
}

#[test]
fn order_webhooks_classify_with_their_payload_kind() {
    let cases = [
        (
            Partner::UberEats,
            "ubereats/notification.json",
            PayloadKind::Notification,
        ),
        (Partner::DoorDash, "doordash/order.json", PayloadKind::Full),
        (Partner::Grubhub, "grubhub/order.json", PayloadKind::Full),
        (Partner::ChainApp, "app/order.json", PayloadKind::Full),
    ];
    for (partner, rel, kind) in cases {
        match classify(partner, rel) {
            Webhook::Order(n) => {
                assert_eq!(n.kind, kind, "{rel}");
                assert_eq!(n.kind, partners::payload_kind(partner));
                assert!(n.partner_store_id.is_some());
            }
            other => panic!("{rel}: {other:?}"),
        }
    }
    let Webhook::Order(n) = classify(Partner::UberEats, "ubereats/notification.json") else {
        unreachable!()
    };
    assert_eq!(n.sent_at.unwrap().to_rfc3339(), "2026-11-22T18:00:00+00:00");
}

#[test]
fn cancellation_and_courier_webhooks_classify_for_every_partner() {
    for (partner, dir) in [
        (Partner::UberEats, "ubereats"),
        (Partner::DoorDash, "doordash"),
        (Partner::Grubhub, "grubhub"),
        (Partner::ChainApp, "app"),
    ] {
        assert!(
            matches!(
                classify(partner, &format!("{dir}/cancel.json")),
                Webhook::Cancellation(_)
            ),
            "{dir}"
        );
    }
    // Grubhub and the app report a courier's position; the store decides whether it is near.
    for (partner, dir) in [(Partner::Grubhub, "grubhub"), (Partner::ChainApp, "app")] {
        match classify(partner, &format!("{dir}/courier.json")) {
            Webhook::CourierLocation(c) => {
                assert!(
                    c.location.is_some() && c.eta_seconds.is_some(),
                    "{dir}: {c:?}"
                );
                assert!(
                    catalog()
                        .store_for_partner(partner, &c.partner_store_id)
                        .is_some(),
                    "{dir}"
                );
            }
            other => panic!("{dir}: {other:?}"),
        }
    }
    // Uber Eats and DoorDash say themselves when the courier is at the store, by order.
    for (partner, file, signal) in [
        (Partner::UberEats, "ubereats/release.json", "orders.release"),
        (
            Partner::DoorDash,
            "doordash/courier.json",
            "dasher_status arriving_at_store",
        ),
        (
            Partner::DoorDash,
            "doordash/order-release.json",
            "order release",
        ),
    ] {
        match classify(partner, file) {
            Webhook::CourierArriving(a) => assert_eq!(a.signal, signal, "{file}"),
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn doordash_dasher_statuses_that_do_not_mean_near_are_a_type_the_pipeline_does_not_use() {
    for status in ["dasher_confirmed", "dasher_out_for_delivery", "dropoff"] {
        let body = format!(
            r#"{{"external_order_id":"dd-1","client_order_id":"x","dasher_status":"{status}"}}"#
        );
        let err = parse_webhook(Partner::DoorDash, body.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, WebhookError::UnsupportedType { kind, .. } if kind == &format!("dasher_status {status}")),
            "{err}"
        );
    }
    for status in partners::doordash::DASHER_NEAR_STORE {
        let body = format!(r#"{{"external_order_id":"dd-1","dasher_status":"{status}"}}"#);
        assert!(matches!(
            parse_webhook(Partner::DoorDash, body.as_bytes()).unwrap(),
            (Webhook::CourierArriving(_), _)
        ));
    }
    // DoorDash's cancellation names the order and gives no reason.
    let cancel = br#"{"external_order_id":"dd-2","client_order_id":"doordash.dd-2","store":{"provider_type":"p","merchant_supplied_id":"S1001"},"is_asap":true}"#;
    let (Webhook::Cancellation(c), _) = parse_webhook(Partner::DoorDash, cancel).unwrap() else {
        panic!("a cancellation")
    };
    assert_eq!(c.partner_order_id.as_str(), "dd-2");
    assert_eq!(c.partner_store_id.as_deref(), Some("S1001"));
    assert!(c.reason.unwrap().contains("no reason"));
}

#[test]
fn an_unknown_webhook_type_names_the_type() {
    let body = br#"{"event":{"type":"MenuUpdate"},"order":{"id":"x","store":{"merchant_supplied_id":"S1001"}}}"#;
    let err = parse_webhook(Partner::DoorDash, body).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported doordash webhook type \"MenuUpdate\""
    );
}

#[test]
fn a_body_that_is_not_json_is_named_as_such() {
    let err = parse_webhook(Partner::Grubhub, b"{not json").unwrap_err();
    assert!(
        err.to_string().starts_with("body is not valid JSON"),
        "{err}"
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[0-9]{1,3}\\.[0-9]{1,3}".prop_map(Value::from),
        "2026-11-22T1[0-9]:00:00(Z|-08:00)?".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_A-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How many nodes (objects, arrays and leaves) `v` has, itself included.
fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(nodes).sum(),
        Value::Object(o) => o.values().map(nodes).sum(),
        _ => 0,
    }
}

/// Node `pick` of `v`, in the order [`graft`] counts them.
fn node(v: &Value, pick: usize) -> Option<&Value> {
    fn walk<'a>(v: &'a Value, pick: &mut usize) -> Option<&'a Value> {
        if *pick == 0 {
            return Some(v);
        }
        *pick -= 1;
        match v {
            Value::Array(a) => a.iter().find_map(|x| walk(x, pick)),
            Value::Object(o) => o.values().find_map(|x| walk(x, pick)),
            _ => None,
        }
    }
    let mut pick = pick;
    walk(v, &mut pick)
}

/// Replaces node `pick` of `v` (in depth-first order, 0 being `v` itself) with `with`.
fn graft(v: &mut Value, mut pick: usize, with: Value) {
    fn walk(v: &mut Value, pick: &mut usize, with: &mut Option<Value>) {
        if with.is_none() {
            return;
        }
        if *pick == 0 {
            *v = with.take().unwrap_or(Value::Null);
            return;
        }
        *pick -= 1;
        match v {
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, pick, with)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, pick, with)),
            _ => {}
        }
    }
    let mut with = Some(with);
    walk(v, &mut pick, &mut with);
}

/// Whatever an adapter makes of odd input: a refusal that says why, or an order whose money
/// adds up (lines × quantities = subtotal, subtotal + tax = total) with at least one line and
/// positive quantities.
fn well_formed(
    r: Result<order_domain::Order, order_domain::Rejection>,
) -> Result<(), TestCaseError> {
    match r {
        Err(rej) => prop_assert!(
            !rej.detail.trim().is_empty(),
            "{:?} without a detail",
            rej.reason
        ),
        Ok(o) => {
            prop_assert!(!o.items.is_empty());
            let mut sum = 0_i64;
            for l in &o.items {
                prop_assert!(l.quantity.get() >= 1);
                let each = l.unit_price.amount_minor
                    + l.modifiers
                        .iter()
                        .map(|m| i64::from(m.quantity.get()) * m.unit_price.amount_minor)
                        .sum::<i64>();
                sum += i64::from(l.quantity.get()) * each;
            }
            prop_assert_eq!(o.subtotal.amount_minor, sum);
            prop_assert_eq!(
                o.total.amount_minor,
                o.subtotal.amount_minor + o.tax.amount_minor
            );
        }
    }
    Ok(())
}

const VALID: [(Partner, &str); 4] = [
    (Partner::UberEats, "ubereats/order.json"),
    (Partner::DoorDash, "doordash/order.json"),
    (Partner::Grubhub, "grubhub/order.json"),
    (Partner::ChainApp, "app/order.json"),
];

/// Arbitrary JSON (never an order's shape) is refused with a reason, every case; the
/// classifier never panics on it.
#[test]
fn arbitrary_json_is_refused_with_a_reason() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
    let refused = std::cell::Cell::new(0);
    runner
        .run(&(arb_json(), 0usize..4), |(v, p)| {
            let r = adapt(Partner::ALL[p], &v, &catalog());
            prop_assert!(r.is_err(), "arbitrary JSON made an order: {v}");
            well_formed(r)?;
            refused.set(refused.get() + 1);
            let _ = parse_webhook(Partner::ALL[p], v.to_string().as_bytes());
            Ok(())
        })
        .unwrap();
    assert!(refused.get() >= 256, "{} cases ran", refused.get());
}

/// A valid order with one node (any but the whole document) replaced by arbitrary JSON is
/// refused with a reason or stays well formed. Every case changes the order, and both
/// branches are reached often enough to mean something: counted, not assumed.
#[test]
fn a_valid_order_with_any_part_replaced_is_refused_with_a_reason_or_stays_well_formed() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(512));
    let (changed, orders, refusals) = (
        std::cell::Cell::new(0),
        std::cell::Cell::new(0),
        std::cell::Cell::new(0),
    );
    let bump = |c: &std::cell::Cell<usize>| c.set(c.get() + 1);
    // Half the cases replace the node with arbitrary JSON (mostly refused: wrong types);
    // half replace a leaf with another value of its own kind (often still an order).
    let strategy = (
        0usize..4,
        any::<prop::sample::Index>(),
        arb_json(),
        any::<bool>(),
        (".{0,12}", 0i64..100_000, any::<bool>()),
    );
    runner
        .run(
            &strategy,
            |(case, pick, with, same_kind, (text, number, flag))| {
                let (partner, rel) = VALID[case];
                let original = payload(rel);
                let mut v = original.clone();
                // A node of this sample, never the root: 1..nodes.
                let at = 1 + pick.index(nodes(&v) - 1);
                let with = if same_kind {
                    match node(&original, at) {
                        Some(Value::String(_)) => Value::from(text),
                        Some(Value::Number(_)) => Value::from(number),
                        Some(Value::Bool(_)) => Value::from(flag),
                        _ => with,
                    }
                } else {
                    with
                };
                graft(&mut v, at, with);
                if v != original {
                    bump(&changed);
                }
                let r = adapt(partner, &v, &catalog());
                bump(if r.is_ok() { &orders } else { &refusals });
                well_formed(r)?;
                let _ = parse_webhook(partner, v.to_string().as_bytes());
                Ok(())
            },
        )
        .unwrap();
    // An arbitrary value equal to the node it replaced is the only unchanged case.
    let (changed, orders, refusals) = (changed.get(), orders.get(), refusals.get());
    assert!(changed >= 500, "{changed} of 512 cases changed the order");
    assert!(
        orders >= 50 && refusals >= 50,
        "{orders} stayed orders, {refusals} were refused"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_classifier(body in prop::collection::vec(any::<u8>(), 0..512), p in 0usize..4) {
        let _ = parse_webhook(Partner::ALL[p], &body);
    }
}

/// Uber Eats sends every event type to the one URL, some with bodies of their own shape: the
/// type is read first, so any type the pipeline does not use is `UnsupportedType` (which
/// intake acknowledges and ignores), not a shape error, and the menu refresh request is read
/// in its own shape. The types it uses still need their fields.
#[test]
fn an_uber_event_type_the_pipeline_does_not_use_is_named_whatever_its_body() {
    use partners::WebhookError;
    let refresh = r#"{"event_type":"store.menu_refresh_request","event_id":"e-7","event_time":1795370400,"store_id":"s","partner_store_id":"S1001","webhook_meta":{"client_id":"c"}}"#;
    match parse_webhook(Partner::UberEats, refresh.as_bytes())
        .unwrap()
        .0
    {
        Webhook::MenuRefresh(n) => {
            assert_eq!(
                (n.partner_store_id.as_str(), n.event_id.as_str()),
                ("s", "e-7")
            );
            assert_eq!(n.sent_at.map(|t| t.timestamp()), Some(1_795_370_400));
        }
        other => panic!("{other:?}"),
    }
    // The page's own fields carry no event id: the message id stands in, else the digest.
    let meta_only = r#"{"event_type":"store.menu_refresh_request","store_id":"s","webhook_meta":{"webhook_msg_uuid":"m-1","webhook_msg_timestamp":1795370400}}"#;
    match parse_webhook(Partner::UberEats, meta_only.as_bytes())
        .unwrap()
        .0
    {
        Webhook::MenuRefresh(n) => {
            assert_eq!(n.event_id, "m-1");
            assert_eq!(n.sent_at.map(|t| t.timestamp()), Some(1_795_370_400));
        }
        other => panic!("{other:?}"),
    }
    let bare =
        r#"{"event_type":"store.menu_refresh_request","store_id":"s","event_time":1795370400}"#;
    let digest = |body: &str| match parse_webhook(Partner::UberEats, body.as_bytes()).unwrap().0 {
        Webhook::MenuRefresh(n) => n.event_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(digest(bare).len(), 64);
    assert_eq!(digest(bare), digest(bare));
    assert_ne!(digest(bare), digest(&bare.replace("\"s\"", "\"t\"")));
    // A refresh that names no store (or an empty one) cannot be acted on, and one without any
    // time could be replayed forever: refused, naming the field.
    for (body, field) in [
        (
            r#"{"event_type":"store.menu_refresh_request","event_id":"e","event_time":1}"#,
            "store_id",
        ),
        (
            r#"{"event_type":"store.menu_refresh_request","event_id":"e","event_time":1,"store_id":" "}"#,
            "store_id",
        ),
        (
            r#"{"event_type":"store.menu_refresh_request","event_id":"e","store_id":"s"}"#,
            "event_time",
        ),
    ] {
        let err = parse_webhook(Partner::UberEats, body.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                WebhookError::Shape { .. } | WebhookError::Invalid { .. }
            ),
            "{body}: {err}"
        );
        assert!(err.to_string().contains(field), "{err}");
    }
    let other_shapes = [
        r#"{"event_type":"store.provisioned","event_id":"e","event_time":1,"meta":{"user_id":"s"}}"#,
        r#"{"event_type":"store.deprovisioned","store_id":"s"}"#,
        r#"{"event_type":"orders.scheduled.notification"}"#,
    ];
    for body in other_shapes {
        let err = parse_webhook(Partner::UberEats, body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, WebhookError::UnsupportedType { .. }),
            "{body}: {err}"
        );
    }
    // No type at all, or a used type missing its fields: a shape error (refused, 400).
    for body in [
        r#"{"event_id":"e"}"#,
        r#"{"event_type":"orders.notification","event_id":"e","event_time":1}"#,
    ] {
        let err = parse_webhook(Partner::UberEats, body.as_bytes()).unwrap_err();
        assert!(matches!(err, WebhookError::Shape { .. }), "{body}: {err}");
    }
    // Uber Eats is answered 200 with no body and ignores other types; DoorDash (one endpoint
    // for every subscription) ignores them too, with the 200 its webhook pages ask for; the
    // others refuse them.
    let uber = partners::acknowledgement(Partner::UberEats);
    assert_eq!(
        (uber.status, uber.empty_body, uber.ignores_other_types),
        (200, true, true)
    );
    let doordash = partners::acknowledgement(Partner::DoorDash);
    assert_eq!(
        (
            doordash.status,
            doordash.empty_body,
            doordash.ignores_other_types
        ),
        (200, false, true)
    );
    for p in [Partner::Grubhub, Partner::ChainApp] {
        let a = partners::acknowledgement(p);
        assert_eq!(
            (a.status, a.empty_body, a.ignores_other_types),
            (202, false, false)
        );
    }
}
