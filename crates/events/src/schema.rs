//! JSON Schemas of the catalogue, generated from the types. The files under
//! `events/schemas/` are these, committed; a test keeps them equal.

use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use crate::catalogue::*;
use crate::{BusEvent, Detail};

/// The schema of a whole event as EventBridge carries it: `source` and `detail-type` fixed to
/// the type's constants, `detail` the type's [`Detail`].
pub fn event_schema<E: BusEvent + JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let detail = generator.into_root_schema_for::<Detail<E>>();
    let mut detail = match detail.to_value() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let defs = detail.remove("$defs").unwrap_or_else(|| json!({}));
    detail.remove("$schema");
    detail.remove("title");
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("https://schemas.chain.example/orders/{}.json", crate::slug(E::DETAIL_TYPE)),
        "title": E::DETAIL_TYPE,
        "description": format!("`{}` from `{}` on the order bus.", E::DETAIL_TYPE, E::SOURCE),
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": { "const": E::SOURCE },
            "detail-type": { "const": E::DETAIL_TYPE },
            "detail": Value::Object(detail),
        },
        "$defs": defs,
    })
}

/// Every event's schema, by detail-type.
pub fn catalogue() -> Vec<(&'static str, Value)> {
    fn one<E: BusEvent + JsonSchema>() -> (&'static str, Value) {
        (E::DETAIL_TYPE, event_schema::<E>())
    }
    vec![
        one::<OrderReceived>(),
        one::<WebhookRejected>(),
        one::<crate::MenuRefreshRequested>(),
        one::<CourierArriving>(),
        one::<CourierLocationUpdated>(),
        one::<OrderCancellationRequested>(),
        one::<OrderDuplicateIgnored>(),
        one::<OrderHeld>(),
        one::<OrderReleased>(),
        one::<OrderSentToPos>(),
        one::<OrderRejected>(),
        one::<OrderCancelled>(),
        one::<OrderFailed>(),
        one::<crate::StorePaused>(),
        one::<crate::StoreResumed>(),
        one::<crate::MenuPublished>(),
        one::<crate::ItemAvailabilityChanged>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ALL_EVENTS, Metadata, OutboundEvent};
    use order_domain::{OrderId, Partner, PosOrderId, StoreId};

    #[test]
    fn the_catalogue_has_one_schema_per_event_type() {
        let names: Vec<_> = catalogue().into_iter().map(|(n, _)| n).collect();
        let all: Vec<_> = ALL_EVENTS
            .iter()
            .chain(&crate::CATALOGUE_CHANGE_EVENTS)
            .map(|(_, d)| *d)
            .collect();
        assert_eq!(names, all);
    }

    #[test]
    fn an_event_built_by_the_code_validates_and_a_wrong_one_does_not() {
        let schema = event_schema::<OrderSentToPos>();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let event = OutboundEvent::new(
            Metadata::new(
                "c-1",
                "doordash.x/order-sent-to-pos",
                "2026-11-22T18:00:00Z".parse().unwrap(),
            ),
            OrderSentToPos {
                order_id: OrderId::parse("doordash.x").unwrap(),
                store_id: StoreId::parse("S1001").unwrap(),
                partner: Partner::DoorDash,
                pos_order_id: PosOrderId::parse("P-1").unwrap(),
            },
        )
        .unwrap();
        let envelope = event.to_envelope(
            "id-1",
            "2026-11-22T18:00:00Z".parse().unwrap(),
            "000000000000",
            "us-east-1",
        );
        assert!(
            validator.is_valid(&envelope),
            "{:?}",
            validator
                .iter_errors(&envelope)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );

        let mut wrong = envelope.clone();
        wrong["detail"]["data"]["storeId"] = json!("S 1001");
        assert!(!validator.is_valid(&wrong));
        let mut wrong_type = envelope;
        wrong_type["detail-type"] = json!("Order Failed");
        assert!(!validator.is_valid(&wrong_type));
    }
}
