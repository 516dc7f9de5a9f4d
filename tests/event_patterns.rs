//! Differential test of the event-pattern matcher against moto's (an independent
//! implementation of the same AWS semantics): every pattern of a corpus against every event.
//! Where moto is wrong, the case is listed below with the reason, and our answer is checked
//! against the documented behaviour instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use event_pattern::Pattern;
use serde_json::{Value, json};
use suites::repo_root;

fn patterns() -> Vec<Value> {
    vec![
        json!({"source": ["chain.orders.intake"]}),
        json!({"source": ["chain.orders.intake"], "detail-type": ["Order Received"]}),
        json!({"source": [{"prefix": "chain."}], "detail-type": [{"suffix": "Requested"}]}),
        json!({"detail-type": [{"prefix": {"equals-ignore-case": "ORDER "}}]}),
        json!({"detail-type": [{"suffix": {"equals-ignore-case": "UPDATED"}}]}),
        json!({"detail-type": [{"equals-ignore-case": "order received"}]}),
        json!({"detail-type": [{"anything-but": "Order Received"}]}),
        json!({"detail-type": [{"anything-but": ["Order Received", "Order Held"]}]}),
        json!({"detail-type": [{"anything-but": {"prefix": "Order"}}]}),
        json!({"detail-type": [{"anything-but": {"suffix": "Updated"}}]}),
        json!({"detail-type": [{"anything-but": {"equals-ignore-case": ["order received", "ORDER HELD"]}}]}),
        json!({"detail-type": [{"anything-but": {"wildcard": "Order *ed"}}]}),
        json!({"detail-type": [{"wildcard": "Order *"}]}),
        json!({"detail-type": [{"wildcard": "*Location*"}]}),
        json!({"detail": {"data": {"partner": ["doordash", "grubhub"]}}}),
        json!({"detail": {"data": {"etaSeconds": [{"numeric": ["<=", 120]}]}}}),
        json!({"detail": {"data": {"etaSeconds": [{"numeric": [">", 60, "<", 600]}]}}}),
        json!({"detail": {"data": {"etaSeconds": [{"numeric": ["=", 90]}]}}}),
        json!({"detail": {"data": {"etaSeconds": [{"anything-but": [90, 120]}]}}}),
        json!({"detail": {"data": {"partnerOrderId": [{"exists": true}]}}}),
        json!({"detail": {"data": {"partnerOrderId": [{"exists": false}]}}}),
        json!({"detail": {"data": {"reason": [null]}}}),
        json!({"detail": {"data": {"reason": [""]}}}),
        json!({"detail": {"data": {"sourceIp": [{"cidr": "10.0.0.0/24"}]}}}),
        json!({"detail": {"data": {"sourceIp": [{"cidr": "2001:db8::/32"}]}}}),
        json!({"resources": ["arn:aws:states:us-east-1:123456789012:stateMachine:orders"]}),
        json!({"resources": [{"prefix": "arn:aws:states"}]}),
        json!({"$or": [{"detail-type": ["Order Received"]}, {"detail": {"data": {"partner": ["app"]}}}]}),
        json!({"source": ["chain.orders.intake"], "$or": [{"detail": {"data": {"etaSeconds": [{"numeric": ["<", 100]}]}}}, {"detail-type": ["Order Cancellation Requested"]}]}),
        json!({"detail": {"data": {"tags": ["vip"]}}}),
        json!({"detail": {"data": {"tags": [{"prefix": "v"}]}}}),
        json!({"detail": {"metadata": {"schemaVersion": [1]}}}),
        json!({"detail": {"metadata": {"schemaVersion": ["1"]}}}),
        json!({"detail": {"data": {"storeId": [{"equals-ignore-case": "s1001"}], "partner": [{"anything-but": "app"}]}}}),
        json!({"detail": {"data": {"items": {"posCode": ["CRUNCHWRAP"]}}}}),
    ]
}

fn event(detail_type: &str, source: &str, data: Value) -> Value {
    json!({
        "version": "0",
        "id": "0d3c8f2e-0000-4000-8000-000000000001",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-22T18:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:states:us-east-1:123456789012:stateMachine:orders"],
        "detail": { "metadata": { "schemaVersion": 1, "correlationId": "c" }, "data": data },
    })
}

fn events() -> Vec<Value> {
    // The repository's own event samples, plus shapes that exercise the operators.
    let dir = repo_root().join("events/samples");
    let mut out: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap()
        })
        .collect();
    out.sort_by_key(|v: &Value| v["detail-type"].as_str().unwrap_or_default().to_owned());
    out.extend([
        event("Courier Location Updated", "chain.orders.intake", json!({"partner": "doordash", "etaSeconds": 90, "partnerOrderId": "dd-1", "storeId": "S1001"})),
        event("Courier Location Updated", "chain.orders.intake", json!({"partner": "grubhub", "etaSeconds": 1500, "storeId": "S1002"})),
        event("Order Cancellation Requested", "chain.orders.intake", json!({"partner": "app", "reason": null, "partnerOrderId": "a-1"})),
        event("Order Cancellation Requested", "chain.orders.intake", json!({"partner": "app", "reason": "", "sourceIp": "10.0.0.7"})),
        event("Webhook Rejected", "chain.orders.intake", json!({"partner": "ubereats", "sourceIp": "2001:db8::7", "tags": ["vip", "late"]})),
        event("order received", "chain.orders.intake", json!({"partner": "DoorDash", "tags": ["new"]})),
        event("Order Updated", "chain.orders.other", json!({"partner": "grubhub", "etaSeconds": 120})),
        event("Order Held", "chain.orders.pipeline", json!({"items": [{"posCode": "TACO-SOFT"}, {"posCode": "CRUNCHWRAP"}]})),
    ]);
    out
}

/// Cases where moto 5.2 departs from EventBridge's documented behaviour.
///
/// moto flattens nested objects but stops at arrays, so a nested pattern never reaches the
/// objects inside an event array. EventBridge (its event-ruler engine) matches fields of
/// objects inside arrays: `{"items": {"posCode": ["X"]}}` matches an event whose `items`
/// array holds an object with `posCode: "X"`. For those cases the documented answer is
/// asserted here instead of moto's.
fn moto_is_wrong(pattern: &Value, event: &Value) -> Option<bool> {
    let nested_in_array = pattern
        .pointer("/detail/data/items")
        .is_some_and(Value::is_object)
        && event
            .pointer("/detail/data/items")
            .is_some_and(Value::is_array);
    nested_in_array.then(|| {
        let items = event
            .pointer("/detail/data/items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        items.iter().any(|i| i["posCode"] == "CRUNCHWRAP")
    })
}

fn moto(cases: &[Value]) -> Vec<Value> {
    let python = repo_root().join(".venv/bin/python");
    if !python.is_file() {
        panic!(
            "moto is not installed ({} is missing): run `make setup` (scripts/setup.sh) first",
            python.display()
        );
    }
    let mut child = Command::new(python)
        .arg(repo_root().join("scripts/moto_pattern_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(cases.to_vec()).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the moto oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

#[test]
fn the_matcher_agrees_with_moto_on_every_pattern_and_event() {
    let patterns = patterns();
    let events = events();
    let cases: Vec<Value> = patterns
        .iter()
        .flat_map(|p| {
            events
                .iter()
                .map(move |e| json!({ "pattern": p, "event": e }))
        })
        .collect();
    let answers = moto(&cases);
    assert_eq!(answers.len(), cases.len());
    let mut disagreements = Vec::new();
    let mut matched = 0;
    let mut documented_differences = 0;
    for (case, theirs) in cases.iter().zip(&answers) {
        let (pattern, event) = (&case["pattern"], &case["event"]);
        let ours = Pattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(event);
        matched += usize::from(ours);
        let Some(theirs) = theirs.as_bool() else {
            disagreements.push(format!("moto refused {pattern}: {theirs}"));
            continue;
        };
        match moto_is_wrong(pattern, event) {
            Some(documented) => {
                documented_differences += 1;
                assert_eq!(ours, documented, "{pattern} on {}", event["detail"]["data"]);
            }
            None if ours != theirs => disagreements.push(format!(
                "{pattern} on {} {}: ours {ours}, moto {theirs}",
                event["detail-type"], event["detail"]["data"]
            )),
            None => {}
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        documented_differences > 0,
        "the corpus exercises the documented difference"
    );
    // The corpus is not trivially all-false or all-true.
    assert!(
        matched > cases.len() / 10 && matched < cases.len() * 9 / 10,
        "{matched} of {}",
        cases.len()
    );
}
