//! Examples from the EventBridge documentation ("Event patterns", "Content filtering",
//! "Comparison operators"), plus the refusals.

use serde_json::{Value, json};

use super::Pattern;

fn check(pattern: Value, event: Value) -> bool {
    Pattern::parse(&pattern)
        .unwrap_or_else(|e| panic!("{e}"))
        .matches(&event)
}

/// The documentation's sample EC2 event, used by many of its examples.
fn ec2_event() -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {
            "instance-id": "i-1234567890abcdef0",
            "state": "terminated",
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.123",
            "FileName": "image.PNG"
        }
    })
}

#[test]
fn exact_values_and_and_or() {
    let e = ec2_event();
    assert!(check(
        json!({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}),
        e.clone()
    ));
    assert!(
        check(
            json!({"detail": {"state": ["pending", "terminated"]}}),
            e.clone()
        ),
        "values in a list are OR"
    );
    assert!(
        !check(
            json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}}),
            e.clone()
        ),
        "keys are AND"
    );
    assert!(
        !check(json!({"source": ["AWS.EC2"]}), e),
        "exact matching is case sensitive"
    );
}

#[test]
fn a_field_the_event_lacks_does_not_match() {
    assert!(!check(json!({"detail": {"missing": ["x"]}}), ec2_event()));
    assert!(!check(json!({"nowhere": {"deeper": ["x"]}}), ec2_event()));
}

#[test]
fn any_element_of_an_event_array_can_match() {
    let e = ec2_event();
    assert!(check(
        json!({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}),
        e.clone()
    ));
    let e2 = json!({"detail": {"tags": ["blue", "green"]}});
    assert!(check(
        json!({"detail": {"tags": ["green", "red"]}}),
        e2.clone()
    ));
    assert!(!check(json!({"detail": {"tags": ["red"]}}), e2));
}

#[test]
fn nested_objects_inside_arrays_match_element_wise() {
    let e = json!({"detail": {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 7}]}});
    assert!(check(
        json!({"detail": {"items": {"sku": ["b"], "qty": [{"numeric": [">", 5]}]}}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"items": {"sku": ["a"], "qty": [{"numeric": [">", 5]}]}}}),
        e
    ));
}

#[test]
fn null_and_empty_string_match_themselves() {
    let e = json!({"detail": {"responseElements": null, "LastName": ""}});
    assert!(check(
        json!({"detail": {"responseElements": [null]}}),
        e.clone()
    ));
    assert!(check(json!({"detail": {"LastName": [""]}}), e.clone()));
    assert!(!check(json!({"detail": {"LastName": [null]}}), e));
}

#[test]
fn numbers_match_by_value_not_by_text() {
    let e = json!({"detail": {"n": 300, "s": "300"}});
    assert!(check(json!({"detail": {"n": [300.0]}}), e.clone()));
    assert!(!check(json!({"detail": {"n": ["300"]}}), e.clone()));
    assert!(!check(json!({"detail": {"s": [300]}}), e));
}

#[test]
fn prefix_matching_with_and_without_case() {
    assert!(check(
        json!({"time": [{"prefix": "2017-12-22"}]}),
        ec2_event()
    ));
    assert!(!check(json!({"time": [{"prefix": "2018"}]}), ec2_event()));
    let e = json!({"detail": {"service": "EventBridge"}});
    assert!(check(
        json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"service": [{"prefix": "eventb"}]}}),
        e
    ));
}

#[test]
fn suffix_matching_with_and_without_case() {
    let e = ec2_event();
    assert!(check(
        json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"FileName": [{"suffix": ".png"}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"FileName": [{"suffix": ".PNG"}]}}),
        e
    ));
}

#[test]
fn equals_ignore_case() {
    let e = json!({"detail": {"name": "Alice"}});
    assert!(check(
        json!({"detail": {"name": [{"equals-ignore-case": "ALICE"}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"name": [{"equals-ignore-case": "alicia"}]}}),
        e
    ));
}

#[test]
fn anything_but_values() {
    let e = ec2_event();
    assert!(check(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"state": [{"anything-but": "terminated"}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"c-count": [{"anything-but": 123}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"c-count": [{"anything-but": [5, 6]}]}}),
        e.clone()
    ));
    assert!(
        !check(json!({"detail": {"absent": [{"anything-but": "x"}]}}), e),
        "anything-but needs the field"
    );
}

#[test]
fn anything_but_prefix_suffix_ignore_case_and_wildcard() {
    let e = ec2_event();
    assert!(check(
        json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED", "stopped"]}}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": "running"}}]}}),
        e
    ));
    let path = json!({"detail": {"FilePath": "/usr/lib/libc.so"}});
    assert!(!check(
        json!({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}),
        path.clone()
    ));
    assert!(check(
        json!({"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/bin/*", "*.txt"]}}]}}),
        path
    ));
}

#[test]
fn numeric_ranges_and_equality() {
    let e = ec2_event();
    assert!(check(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"c-count": [{"numeric": [">", 5]}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"d-count": [{"numeric": ["<", 10]}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}),
        e.clone()
    ));
    assert!(
        !check(json!({"detail": {"state": [{"numeric": [">", 0]}]}}), e),
        "numeric needs a number"
    );
}

#[test]
fn exists_true_and_false() {
    let e = ec2_event();
    assert!(check(
        json!({"detail": {"state": [{"exists": true}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"state": [{"exists": false}]}}),
        e.clone()
    ));
    assert!(check(
        json!({"detail": {"c-count-missing": [{"exists": false}]}}),
        e.clone()
    ));
    assert!(
        check(
            json!({"no-such-object": {"field": [{"exists": false}]}}),
            e.clone()
        ),
        "an absent parent is an absent field"
    );
    assert!(
        !check(json!({"detail": [{"exists": true}]}), e),
        "exists applies to leaves, not objects"
    );
}

#[test]
fn wildcards() {
    let e = json!({"detail": {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders", "file": "dir/a*b.png"}});
    assert!(check(
        json!({"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-west-2:*"}]}}),
        e.clone()
    ));
    assert!(
        check(
            json!({"detail": {"file": [{"wildcard": "dir/a\\*b.png"}]}}),
            e.clone()
        ),
        "an escaped star is a star"
    );
    assert!(!check(
        json!({"detail": {"file": [{"wildcard": "dir/a\\*c*"}]}}),
        e.clone()
    ));
    assert!(check(json!({"detail": {"file": [{"wildcard": "*"}]}}), e));
}

#[test]
fn cidr_for_ipv4_and_ipv6() {
    let e = ec2_event();
    assert!(check(
        json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
        e.clone()
    ));
    assert!(!check(
        json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}),
        e.clone()
    ));
    let v6 = json!({"detail": {"ip": "2001:db8::1f"}});
    assert!(check(
        json!({"detail": {"ip": [{"cidr": "2001:db8::/64"}]}}),
        v6.clone()
    ));
    assert!(!check(
        json!({"detail": {"ip": [{"cidr": "2001:db9::/64"}]}}),
        v6
    ));
    assert!(
        !check(json!({"detail": {"state": [{"cidr": "0.0.0.0/0"}]}}), e),
        "not an address"
    );
}

#[test]
fn or_at_the_top_and_nested() {
    let e = ec2_event();
    let p = json!({"detail": {"$or": [
        {"c-count": [{"numeric": [">", 10]}]},
        {"d-count": [{"numeric": ["<", 10]}]},
        {"x-limit": [{"numeric": ["=", 3.018e2]}]}
    ]}});
    assert!(check(p, e.clone()));
    let top = json!({"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]}, {"detail": {"state": ["terminated"]}}]});
    assert!(check(top, e.clone()));
    let none = json!({"$or": [{"region": ["eu-west-1"]}, {"detail": {"state": ["running"]}}]});
    assert!(!check(none, e));
}

#[test]
fn invalid_patterns_are_refused_with_their_place() {
    let cases = [
        (json!(["not", "an", "object"]), "must be a JSON object"),
        (json!({"source": "aws.ec2"}), "must be an array"),
        (json!({"source": []}), "must not be empty"),
        (
            json!({"detail": {"n": [{"numeric": [">", "five"]}]}}),
            "not a number",
        ),
        (
            json!({"detail": {"n": [{"numeric": ["<", 5, ">", 1]}]}}),
            "lower bound",
        ),
        (
            json!({"detail": {"n": [{"numeric": ["~", 5]}]}}),
            "unknown numeric operator",
        ),
        (
            json!({"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}}),
            "prefix length",
        ),
        (
            json!({"detail": {"x": [{"contains": "y"}]}}),
            "unknown operator",
        ),
        (
            json!({"detail": {"x": [{"anything-but": ["a", 1]}]}}),
            "only strings or only numbers",
        ),
        (
            json!({"detail": {"x": [{"wildcard": "a**b"}]}}),
            "two * in a row",
        ),
        (json!({"$or": [{"a": ["b"]}]}), "at least two"),
    ];
    for (pattern, expected) in cases {
        let e = Pattern::parse(&pattern).expect_err(&pattern.to_string());
        assert!(e.to_string().contains(expected), "{pattern}: {e}");
    }
    let e = Pattern::parse(&json!({"detail": {"state": [{"prefix": 5}]}})).unwrap_err();
    assert_eq!(e.path, "detail.state[0]");
}

/// Issue 9's inputs, each with AWS's answer, and their siblings of the same kind.
#[test]
fn anything_but_matches_values_its_string_forms_cannot_describe() {
    for op in [
        json!({"prefix": "init"}),
        json!({"suffix": "ing"}),
        json!({"wildcard": "*/dir/*"}),
        json!({"equals-ignore-case": "running"}),
        json!({"prefix": ["init", "start"]}),
    ] {
        let p = json!({"detail": {"state": [{"anything-but": op}]}});
        for v in [json!(null), json!(12), json!(true), json!(1.5)] {
            assert!(
                check(p.clone(), json!({"detail": {"state": v}})),
                "{p} on {v}"
            );
        }
        // Still nothing for an absent field.
        assert!(!check(p.clone(), json!({"detail": {}})), "{p} on nothing");
    }
    assert!(check(
        json!({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/dir/*"}}]}}),
        json!({"detail": {"FilePath": 123}})
    ));
    // The plain value forms already did.
    assert!(check(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        json!({"detail": {"state": null}})
    ));
}

#[test]
fn anything_but_prefix_and_suffix_take_lists() {
    let suffixes =
        json!({"detail": {"FileName": [{"anything-but": {"suffix": [".txt", ".jpg"]}}]}});
    assert!(check(
        suffixes.clone(),
        json!({"detail": {"FileName": "file.txt.bak"}})
    ));
    assert!(!check(
        suffixes.clone(),
        json!({"detail": {"FileName": "file.txt"}})
    ));
    assert!(!check(suffixes, json!({"detail": {"FileName": "a.jpg"}})));
    let prefixes = json!({"detail": {"Region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}});
    assert!(check(
        prefixes.clone(),
        json!({"detail": {"Region": "ap-south-1"}})
    ));
    assert!(!check(
        prefixes.clone(),
        json!({"detail": {"Region": "eu-west-1"}})
    ));
    assert!(!check(prefixes, json!({"detail": {"Region": "us-east-1"}})));
}

#[test]
fn an_empty_anything_but_prefix_or_suffix_is_refused() {
    for op in ["prefix", "suffix"] {
        for operand in [json!(""), json!(["a", ""])] {
            let p = json!({"detail": {"FileName": [{"anything-but": {op: operand}}]}});
            let e = Pattern::parse(&p).unwrap_err();
            assert_eq!(e.path, "detail.FileName[0]", "{p}");
            assert!(e.problem.contains("cannot be empty"), "{e}");
        }
    }
    // An empty plain prefix is a valid pattern (every string starts with "").
    assert!(check(
        json!({"detail": {"FileName": [{"prefix": ""}]}}),
        json!({"detail": {"FileName": "x"}})
    ));
}

#[test]
fn exists_looks_at_leaf_values_only() {
    let absent = json!({"detail": {"c": [{"exists": false}]}});
    let present = json!({"detail": {"c": [{"exists": true}]}});
    for (event, leaf) in [
        (json!({"c": {"a": 1}}), false),
        (json!({"c": {}}), false),
        (json!({"c": []}), false),
        (json!({"c": [{"a": 1}]}), false),
        (json!({"c": 1}), true),
        (json!({"c": null}), true),
        (json!({"c": [1, {"a": 1}]}), true),
        (json!({}), false),
    ] {
        let e = json!({ "detail": event });
        assert_eq!(
            check(present.clone(), e.clone()),
            leaf,
            "exists true on {e}"
        );
        assert_eq!(
            check(absent.clone(), e.clone()),
            !leaf,
            "exists false on {e}"
        );
    }
}

#[test]
fn dotted_keys_name_nested_fields_in_patterns_and_events() {
    let nested_event = json!({"detail": {"state": {"status": "running"}}});
    let dotted_event = json!({"detail": {"state.status": "running"}});
    let dotted_pattern = json!({"detail": {"state.status": ["running"]}});
    let nested_pattern = json!({"detail": {"state": {"status": ["running"]}}});
    for p in [&dotted_pattern, &nested_pattern] {
        for e in [&nested_event, &dotted_event] {
            assert!(check(p.clone(), e.clone()), "{p} on {e}");
        }
        assert!(!check(
            p.clone(),
            json!({"detail": {"state": {"status": "stopped"}}})
        ));
    }
    // From the top, across levels, and merged with the nested form of the same path.
    assert!(check(
        json!({"detail.state.status": ["running"]}),
        nested_event.clone()
    ));
    let both = json!({"detail": {"state.status": "stopped", "state": {"status": "running"}}});
    assert!(check(nested_pattern.clone(), both.clone()));
    assert!(check(
        json!({"detail": {"state.status": ["stopped"]}}),
        both
    ));
    // A dotted key and a leaf at its first segment are two fields, both required.
    let p = json!({"detail": {"state.status": ["running"], "state": [{"exists": false}]}});
    assert!(check(p, nested_event));
}

#[test]
fn a_wildcard_too_complex_for_eventbridge_is_refused() {
    let e = Pattern::parse(&json!({"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}))
        .unwrap_err();
    assert_eq!(e.path, "EventBusArn");
    assert!(e.problem.starts_with("Rule is too complex"), "{e}");
    // The same inside anything-but, and spread over one field's conditions.
    assert!(
        Pattern::parse(&json!({"a": [{"anything-but": {"wildcard": "*:*:*:*:*:event-bus/*"}}]}))
            .is_err()
    );
    assert!(
        Pattern::parse(&json!({"a": [{"wildcard": "*:*:*:x"}, {"wildcard": "*:*:*:y"}]})).is_err()
    );
    // The documentation's wildcards pass.
    for w in [
        "*.png",
        "dir/*.png",
        "*/lib/*",
        "*Title*",
        "arn:aws:events:*:*:event-bus/*",
    ] {
        assert!(
            Pattern::parse(&json!({"a": [{"wildcard": w}]})).is_ok(),
            "{w}"
        );
    }
}
