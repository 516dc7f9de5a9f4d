//! Why an order failed, from the injectors' own records: each partner and POS simulator's
//! log of the faults it drew (with the request they hit), the killer's log of the
//! invocations its kills interrupted (their payloads), and the DynamoDB injector's log of the
//! requests it refused and the restart it made. None of these is written by the pipeline.
//!
//! A fault is an order's when its record names the order (its id or its partner's id, as a
//! path segment, a key, or a string in a body or payload). A fault whose record names no
//! order of the run (a token fetch, a catalogue read, the DynamoDB restart) is every order's
//! that was in flight while it lasted, for a partner's fault only that partner's orders.

use std::collections::{BTreeSet, HashMap};

use order_domain::Partner;
use serde_json::Value;

use super::OrderFacts;

/// One fault the run injected, as its injector recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// Who injected what (`pos 500`, `kill orders-chaos-pos`, `DynamoDB refused`, …).
    pub what: String,
    /// When it began, epoch seconds.
    pub from: f64,
    /// When it ended, epoch seconds (`from` for a single request).
    pub until: f64,
    /// The partner whose simulator injected it, if a partner's did.
    pub partner: Option<Partner>,
    /// Every identifier its record carries (see [`names_in`]).
    pub names: BTreeSet<String>,
}

impl Injection {
    /// A fault at one instant.
    pub fn at(
        what: impl Into<String>,
        at: f64,
        partner: Option<Partner>,
        names: BTreeSet<String>,
    ) -> Self {
        Self {
            what: what.into(),
            from: at,
            until: at,
            partner,
            names,
        }
    }
}

/// Every identifier in `v`: each string, the strings inside strings that hold JSON (bus
/// details, payloads), and each part of a string split at the separators ids are joined
/// with in paths and keys (`/ : # ? & = , |` and spaces).
pub fn names_in(v: &Value) -> BTreeSet<String> {
    let mut strings = Vec::new();
    super::collect_strings(v, &mut strings);
    let mut out = BTreeSet::new();
    for s in strings {
        for part in s.split(['/', ':', '#', '?', '&', '=', ',', '|', ' ']) {
            if !part.is_empty() {
                out.insert(percent_decode(part));
            }
        }
        out.insert(s);
    }
    out
}

/// `%2E` and the like decoded (ids travel percent-encoded in paths); invalid escapes kept.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// For each order, the injections that are its (see the module's rule).
pub fn attribute<'a>(
    orders: &[OrderFacts],
    injections: &'a [Injection],
) -> HashMap<String, Vec<&'a Injection>> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, o) in orders.iter().enumerate() {
        by_name.insert(o.order_id.as_str(), i);
        by_name.insert(o.partner_order_id.as_str(), i);
    }
    let mut out: HashMap<String, Vec<&Injection>> = HashMap::new();
    for f in injections {
        let named: BTreeSet<usize> = f
            .names
            .iter()
            .filter_map(|n| by_name.get(n.as_str()).copied())
            .collect();
        if named.is_empty() {
            for o in orders.iter().filter(|o| {
                let end = o.ended.unwrap_or(f64::INFINITY);
                f.from <= end && f.until >= o.first_sent && f.partner.is_none_or(|p| p == o.partner)
            }) {
                out.entry(o.order_id.clone()).or_default().push(f);
            }
        } else {
            for i in named {
                out.entry(orders[i].order_id.clone()).or_default().push(f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_found_in_paths_keys_bodies_and_json_inside_strings() {
        let names = names_in(&json!({
            "path": "/v1/eats/orders/U-1%2Dx/accept_pos_order",
            "key": "ubereats#U-2",
            "Item": { "orderId": { "S": "app.A-3" } },
            "payload": "{\"received\":{\"data\":{\"partnerOrderId\":\"D-4\"}}}"
        }));
        for n in ["U-1-x", "U-2", "app.A-3", "D-4"] {
            assert!(names.contains(n), "{n} in {names:?}");
        }
    }

    fn order(id: &str, partner: Partner, from: f64, to: f64) -> OrderFacts {
        OrderFacts {
            order_id: format!("{}.{id}", partner.as_str()),
            partner,
            partner_order_id: id.to_owned(),
            store_id: "S1001".to_owned(),
            scenario: crate::chaos::plan::Scenario::Immediate,
            first_sent: from,
            ended: Some(to),
            courier_sent: None,
            release_at: None,
            bound_seconds: 60.0,
            stranded: false,
        }
    }

    #[test]
    fn a_fault_naming_an_order_is_its_alone_and_one_naming_none_is_every_order_in_flight() {
        let orders = [
            order("A-1", Partner::ChainApp, 100.0, 110.0),
            order("A-10", Partner::ChainApp, 100.0, 110.0),
            order("D-1", Partner::DoorDash, 105.0, 120.0),
        ];
        let named = Injection::at(
            "app 500",
            200.0,
            Some(Partner::ChainApp),
            names_in(&json!("/api/orders/A-1/accept")),
        );
        let token = Injection::at(
            "app 429",
            108.0,
            Some(Partner::ChainApp),
            names_in(&json!("/oauth/token")),
        );
        let restart = Injection {
            what: "DynamoDB restart".into(),
            from: 111.0,
            until: 113.0,
            partner: None,
            names: BTreeSet::new(),
        };
        let all = [named.clone(), token.clone(), restart.clone()];
        let by = attribute(&orders, &all);
        // Named: A-1's only (not A-10's, whose id it begins), whenever it happened.
        assert_eq!(by["app.A-1"], vec![&named, &token]);
        assert_eq!(by["app.A-10"], vec![&token]);
        // Unnamed: only in-flight orders, and a partner's only its own.
        assert_eq!(by["doordash.D-1"], vec![&restart]);
    }
}
