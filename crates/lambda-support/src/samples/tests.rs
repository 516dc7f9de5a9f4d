use super::*;
use serde_json::json;

#[test]
fn every_expectation_states_what_it_publishes_even_nothing() {
    let e = serde_json::from_value::<Expect>(json!({ "status": 200 })).unwrap_err();
    assert!(e.to_string().contains("publishes"), "{e}");
    let none: Expect = serde_json::from_value(json!({ "status": 200, "publishes": [] })).unwrap();
    let ok = Ok(json!({ "statusCode": 200 }));
    check(&none, &ok, &[]).unwrap();
    let e = check(&none, &ok, &["Order Received".to_owned()]).unwrap_err();
    assert!(e.contains("expected to publish []"), "{e}");
}

#[test]
fn containment_ignores_extra_keys_but_not_different_values() {
    let actual = json!({"a": 1, "b": {"c": [1, 2], "d": "x"}});
    assert!(contains(&json!({"b": {"d": "x"}}), &actual).is_ok());
    assert_eq!(
        contains(&json!({"b": {"d": "y"}}), &actual).unwrap_err(),
        "/b/d: expected \"y\", got \"x\""
    );
    assert_eq!(
        contains(&json!({"z": null}), &actual).unwrap_err(),
        "/z is missing"
    );
    assert!(contains(&json!({"b": {"c": [1]}}), &actual).is_err());
    assert!(contains(&json!([{"a": 1}, {}]), &json!([{"a": 1, "b": 2}, {"c": 3}])).is_ok());
}

#[test]
fn an_expected_error_must_match_its_name_and_message() {
    let expect = Expect {
        error_type: Some("OrderRejected".into()),
        message_contains: Some("UnknownItem".into()),
        ..Default::default()
    };
    let ok: Result<Value, (String, String)> =
        Err(("OrderRejected".into(), "UnknownItem: x".into()));
    assert!(check(&expect, &ok, &[]).is_ok());
    let wrong: Result<Value, (String, String)> =
        Err(("OrderRejected".into(), "PriceMismatch: x".into()));
    assert!(check(&expect, &wrong, &[]).is_err());
    assert!(check(&expect, &Ok(json!({})), &[]).is_err());
}
