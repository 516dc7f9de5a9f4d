//! Fuzz targets: every decoder that takes bytes from outside the pipeline, one function per
//! target, each of which must return for any input (no panic, no hang). The coverage-guided
//! runs drive these through cargo-afl (`fuzz/`, `make fuzz`); the unit tests below run every
//! seed and a few thousand mutations of each in CI.
//!
//! | target | input | decoders |
//! |---|---|---|
//! | `webhook-<partner>` | `name: value` header lines, a blank line, the body | signature check, webhook classification, adapter |
//! | `apigw-request` | an API Gateway HTTP API (payload v2) event, JSON | event decoding, `webhook_parts`, then the partner's decoders |
//! | `function-input` | a selector byte, then JSON | every function's input type |
//! | `event-pattern` | pattern JSON, a NUL byte, event JSON | pattern parser and matcher |
//! | `asl-definition` | ASL JSON | definition parser and validation |
//! | `asl-path` | a path or intrinsic call | JSONPath parser, selection and update; intrinsic parser and evaluation |

use std::path::Path;
use std::sync::OnceLock;

use order_domain::{Catalog, Partner};
use serde_json::{Value, json};

/// One fuzz target.
#[derive(Clone, Copy)]
pub struct Target {
    /// Its name (`make fuzz TARGET=<name>`).
    pub name: &'static str,
    /// Runs one input; returns whatever happens, except a panic.
    pub run: fn(&[u8]),
    /// Seed inputs from the repository at the given root.
    pub seeds: fn(&Path) -> Vec<Vec<u8>>,
}

/// Every target.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "webhook-ubereats",
            run: |d| webhook(Partner::UberEats, d),
            seeds: |r| webhook_seeds(r, Partner::UberEats),
        },
        Target {
            name: "webhook-doordash",
            run: |d| webhook(Partner::DoorDash, d),
            seeds: |r| webhook_seeds(r, Partner::DoorDash),
        },
        Target {
            name: "webhook-grubhub",
            run: |d| webhook(Partner::Grubhub, d),
            seeds: |r| webhook_seeds(r, Partner::Grubhub),
        },
        Target {
            name: "webhook-app",
            run: |d| webhook(Partner::ChainApp, d),
            seeds: |r| webhook_seeds(r, Partner::ChainApp),
        },
        Target {
            name: "apigw-request",
            run: apigw_request,
            seeds: |r| json_files(&r.join("events/intake")),
        },
        Target {
            name: "function-input",
            run: function_input,
            seeds: function_input_seeds,
        },
        Target {
            name: "event-pattern",
            run: event_pattern,
            seeds: event_pattern_seeds,
        },
        Target {
            name: "asl-definition",
            run: asl_definition,
            seeds: asl_definition_seeds,
        },
        Target {
            name: "asl-path",
            run: asl_path,
            seeds: |_| ASL_PATHS.iter().map(|p| p.as_bytes().to_vec()).collect(),
        },
        Target {
            name: "money",
            run: money,
            seeds: |_| money_seeds(),
        },
    ]
}

/// Three little-endian `i64`s: two amounts and a tolerance. Comparing and summing amounts
/// never panics (debug builds check overflow) and `within` agrees with exact arithmetic.
fn money(data: &[u8]) {
    use order_domain::{Currency, Money};
    let mut words = data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    let (Some(a), Some(b), Some(tolerance)) = (words.next(), words.next(), words.next()) else {
        return;
    };
    let (x, y) = (Money::new(a, Currency::USD), Money::new(b, Currency::USD));
    let exact = (i128::from(a) - i128::from(b)).abs() <= i128::from(tolerance);
    assert_eq!(x.within(y, tolerance), exact, "{a} {b} {tolerance}");
    assert_eq!(x.within(y, tolerance), y.within(x, tolerance));
    let _ = x.checked_add(y);
    let _ = x.checked_mul(u32::try_from(tolerance & 0xffff_ffff).unwrap_or(0));
}

fn money_seeds() -> Vec<Vec<u8>> {
    [
        [i64::MIN, 0, 1],
        [i64::MIN, i64::MAX, i64::MAX],
        [1_072, 1_070, 2],
        [0, 0, 0],
    ]
    .iter()
    .map(|w| w.iter().flat_map(|n| n.to_le_bytes()).collect())
    .collect()
}

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    targets().into_iter().find(|t| t.name == name)
}

/// The secret the webhook targets verify against (any fixed value: the point is the decoding,
/// and seeds signed with it reach past the signature check).
pub const SECRET: &str = "fuzz-secret";

/// The embedded catalogue (`None` only if it does not load, which its own tests catch).
fn catalog() -> Option<&'static Catalog> {
    static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().ok()).as_ref()
}

/// Splits `name: value` lines, a blank line, and the body; without a blank line it is all body.
pub fn split_headers(data: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let Some(at) = data.windows(2).position(|w| w == b"\n\n") else {
        return (Vec::new(), data);
    };
    let headers = String::from_utf8_lossy(&data[..at])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (headers, &data[at + 2..])
}

/// A partner's decoders, in the order intake and adapt-order apply them.
fn partner_decoders(partner: Partner, headers: &[(String, String)], body: &[u8]) {
    if let Ok(v) = partners::auth::verify(partner, headers, body, SECRET)
        && let Some(at) = v.signed_at
    {
        let _ = partners::auth::check_replay_window(at, chrono::Utc::now(), 300);
    }
    if let Ok((webhook, payload)) = partners::parse_webhook(partner, body) {
        let _ = webhook.sent_at();
        if matches!(webhook, partners::Webhook::Order(_))
            && let Some(c) = catalog()
        {
            let _ = partners::adapt(partner, &payload, c);
        }
    }
    // Adapt-order also takes an order fetched from the partner's API as JSON.
    if let (Ok(v), Some(c)) = (serde_json::from_slice::<Value>(body), catalog()) {
        let _ = partners::adapt(partner, &v, c);
    }
}

fn webhook(partner: Partner, data: &[u8]) {
    let (headers, body) = split_headers(data);
    partner_decoders(partner, &headers, body);
}

fn apigw_request(data: &[u8]) {
    let Ok(request) =
        serde_json::from_slice::<aws_lambda_events::apigw::ApiGatewayV2httpRequest>(data)
    else {
        return;
    };
    let Ok(parts) = lambda_support::apigw::webhook_parts(request) else {
        return;
    };
    if let Ok(partner) = parts.partner.parse::<Partner>() {
        partner_decoders(partner, &parts.headers, &parts.body);
    }
}

fn function_input(data: &[u8]) {
    use order_events::{
        CourierArriving, CourierLocationUpdated, Detail, OrderCancellationRequested,
    };
    use pipeline::io::{AcceptInput, AdaptInput, DedupInput, HoldInput, PosInput};
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    match selector % 8 {
        0 => drop(serde_json::from_slice::<DedupInput>(json)),
        1 => drop(serde_json::from_slice::<AdaptInput>(json)),
        2 => drop(serde_json::from_slice::<AcceptInput>(json)),
        3 => drop(serde_json::from_slice::<HoldInput>(json)),
        4 => drop(serde_json::from_slice::<PosInput>(json)),
        5 => drop(serde_json::from_slice::<Detail<OrderCancellationRequested>>(json)),
        6 => drop(serde_json::from_slice::<Detail<CourierArriving>>(json)),
        _ => drop(serde_json::from_slice::<Detail<CourierLocationUpdated>>(
            json,
        )),
    }
}

fn event_pattern(data: &[u8]) {
    let (pattern, event) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"{}"[..]),
    };
    let (Ok(pattern), Ok(event)) = (
        serde_json::from_slice::<Value>(pattern),
        serde_json::from_slice::<Value>(event),
    ) else {
        return;
    };
    if let Ok(p) = event_pattern::Pattern::parse(&pattern) {
        let _ = p.matches(&event);
    }
}

fn asl_definition(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = asl::model::Definition::parse(text);
    }
}

/// A state input and context object for the path and intrinsic targets.
fn sample_input() -> &'static (Value, Value) {
    static INPUT: OnceLock<(Value, Value)> = OnceLock::new();
    INPUT.get_or_init(|| {
        (
            json!({
                "order": { "id": "app.A-1", "items": [{ "qty": 2, "sku": "a" }, { "qty": 1, "sku": "b" }] },
                "n": 3, "s": "a,b,c", "list": [1, 2, 3, [4, 5]], "nested": { "deep": { "x": null } }
            }),
            json!({ "Execution": { "Id": "arn:x", "Input": {} }, "State": { "Name": "S", "EnteredTime": "2026-11-22T18:00:00Z" }, "Task": { "Token": "t" } }),
        )
    })
}

fn asl_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (input, context) = sample_input();
    if let Ok(path) = asl::path::JsonPath::parse(text) {
        let _ = path.select(input, context);
        let _ = path.value(input, context);
        let mut target = input.clone();
        let _ = path.set(&mut target, json!(1));
    }
    if let Ok(call) = asl::intrinsics::Call::parse(text) {
        let _ = call.eval(input, context);
    }
}

/// Paths and intrinsic calls from the workflow and the ASL specification's examples.
pub const ASL_PATHS: [&str; 16] = [
    "$",
    "$$.Execution.Id",
    "$.order.items[0].qty",
    "$.order.items[*].sku",
    "$.list[1:3]",
    "$.list[-1:]",
    "$['order']['id']",
    "$..qty",
    "$.order.items[?(@.qty > 1)]",
    "States.Format('{} and {}', $.n, $.s)",
    "States.StringSplit($.s, ',')",
    "States.ArrayLength($.list)",
    "States.MathAdd($.n, -1)",
    "States.JsonToString($.order)",
    "States.ArrayPartition($.list, 2)",
    "States.UUID()",
];

fn json_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json")
                && let Ok(bytes) = std::fs::read(&p)
            {
                out.push(bytes);
            }
        }
    }
    out.sort();
    out
}

/// Each partner sample, signed with [`SECRET`] as the partner would sign it.
fn webhook_seeds(root: &Path, partner: Partner) -> Vec<Vec<u8>> {
    json_files(&root.join("events/partners").join(partner.as_str()))
        .into_iter()
        .map(|body| {
            let at = chrono::Utc::now();
            let mut seed = Vec::new();
            for (k, v) in partners::auth::sign(partner, &body, SECRET, at, "nonce-1") {
                seed.extend_from_slice(format!("{k}: {v}\n").as_bytes());
            }
            seed.extend_from_slice(b"\n");
            seed.extend_from_slice(&body);
            seed
        })
        .collect()
}

fn function_input_seeds(root: &Path) -> Vec<Vec<u8>> {
    let dirs = [
        "dedup",
        "adapt-order",
        "accept-order",
        "hold-order",
        "pos",
        "release-order",
        "release-order",
    ];
    let mut out = Vec::new();
    for (selector, dir) in dirs.iter().enumerate() {
        for body in json_files(&root.join("events").join(dir)) {
            let mut seed = vec![u8::try_from(selector).unwrap_or(0)];
            seed.extend_from_slice(&body);
            out.push(seed);
        }
    }
    out
}

fn event_pattern_seeds(root: &Path) -> Vec<Vec<u8>> {
    let events = json_files(&root.join("events/samples"));
    let patterns = [
        json!({"source": ["chain.orders.intake"], "detail-type": ["Order Received"]}),
        json!({"detail-type": [{"prefix": "Order"}], "detail": {"data": {"partner": [{"anything-but": "app"}]}}}),
        json!({"detail": {"data": {"total": [{"numeric": [">", 0, "<=", 100]}]}}}),
        json!({"detail": {"data": {"reason": [{"exists": false}]}}}),
        json!({"detail-type": [{"wildcard": "Order *"}, {"equals-ignore-case": "order held"}]}),
        json!({"$or": [{"source": ["a"]}, {"detail": {"x": [{"cidr": "10.0.0.0/24"}]}}]}),
    ];
    let mut out = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        let mut seed = p.to_string().into_bytes();
        seed.push(0);
        seed.extend_from_slice(
            events
                .get(i % events.len().max(1))
                .map_or(&b"{}"[..], |e| e),
        );
        out.push(seed);
    }
    out
}

fn asl_definition_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut out = json_files(&root.join("statemachines"));
    for case in json_files(&root.join("crates/local-cloud/tests/sfn-corpus")) {
        if let Ok(v) = serde_json::from_slice::<Value>(&case) {
            out.push(v["definition"].to_string().into_bytes());
        }
    }
    out
}

/// A seeded mutator for the smoke runs: bit flips, byte changes, truncation, duplication and
/// splices of interesting tokens.
pub fn mutate(rng: &mut fastrand::Rng, seed: &[u8]) -> Vec<u8> {
    const TOKENS: [&[u8]; 12] = [
        b"null",
        b"-1",
        b"1e309",
        b"\"\"",
        b"[]",
        b"{}",
        b"\xff",
        b"\x00",
        b"99999999999999999999",
        b"[[[[[[[[",
        b"\"\\u0000\"",
        b"$..",
    ];
    let mut v = seed.to_vec();
    for _ in 0..rng.usize(1..=4) {
        let len = v.len();
        match rng.u8(0..6) {
            0 if len > 0 => {
                let i = rng.usize(0..len);
                v[i] ^= 1 << rng.u8(0..8);
            }
            1 if len > 0 => {
                let i = rng.usize(0..len);
                v[i] = rng.u8(..);
            }
            2 if len > 0 => v.truncate(rng.usize(0..len)),
            3 if len > 0 => {
                let (a, b) = (rng.usize(0..len), rng.usize(0..len));
                let (a, b) = (a.min(b), a.max(b));
                let chunk = v[a..b].to_vec();
                v.splice(a..a, chunk);
            }
            _ => {
                let at = rng.usize(0..=len);
                let t = TOKENS[rng.usize(0..TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn every_target_has_seeds_from_the_repository() {
        for t in targets() {
            let seeds = (t.seeds)(&root());
            assert!(seeds.len() >= 3, "{}: {} seeds", t.name, seeds.len());
        }
    }

    #[test]
    fn signed_seeds_get_past_the_signature_check() {
        for p in Partner::ALL {
            for seed in webhook_seeds(&root(), p) {
                let (headers, body) = split_headers(&seed);
                assert!(
                    partners::auth::verify(p, &headers, body, SECRET).is_ok(),
                    "{p}: {}",
                    String::from_utf8_lossy(&seed)
                );
            }
        }
    }

    /// The CI smoke of every target: every seed, then 5,000 seeded mutations of the seeds.
    /// A panic fails the test with the target and the input (hex) to add as a regression.
    #[test]
    fn every_target_survives_its_seeds_and_their_mutations() {
        let mut rng = fastrand::Rng::with_seed(20_261_201);
        for t in targets() {
            let seeds = (t.seeds)(&root());
            let mut inputs = seeds.clone();
            inputs.extend((0..5_000).map(|i| mutate(&mut rng, &seeds[i % seeds.len()])));
            for input in inputs {
                let result = std::panic::catch_unwind(|| (t.run)(&input));
                assert!(
                    result.is_ok(),
                    "{} panicked on {}",
                    t.name,
                    input.iter().map(|b| format!("{b:02x}")).collect::<String>()
                );
            }
        }
    }
}
