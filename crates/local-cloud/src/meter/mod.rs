//! The meter: every billable unit a run uses, counted as AWS bills it, and priced from
//! [`prices::PRICES`].
//!
//! Counted where the local cloud sees the call:
//!
//! * DynamoDB: each request through the functions' endpoint and the workflows' own DynamoDB
//!   tasks asks DynamoDB Local for its `ConsumedCapacity` (AWS's rules: 1 KB write units, 4 KB
//!   read units, half for an eventually consistent read), removed from the answer again when
//!   the caller did not ask for it; a write refused by its condition still costs a write unit
//!   (AWS: "a minimum of 1"; the existing item's size is not known here).
//! * HTTP API requests (512 KB units) and Secrets Manager calls.
//!
//! Read from the records a run leaves ([`usage`]):
//!
//! * Step Functions: Standard state transitions (each state entered, and each retry of a
//!   task), Express requests and duration (rounded up to 100 ms) × memory (64 MB, the smallest
//!   step, which these states stay far below), the duration less what its Lambda invocations
//!   waited on this machine for a free process or a core
//!   ([`step_functions_local::Execution::not_billed`]);
//! * Lambda: requests and billed duration (each rounded up to 1 ms, with the init phase, which
//!   Lambda bills) × the function's configured memory, with the CPU time its processes used
//!   stretched to the share of a vCPU that memory buys ([`lambda_gb_seconds`]);
//! * EventBridge: each event put, in 64 KB chunks as AWS counts an entry's size;
//! * CloudWatch Logs: the bytes the functions logged, and the workflows' ERROR-level records
//!   (their failure events, without execution data, as the template configures them).

pub mod prices;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use prices::*;

/// The memory at which a function has the equivalent of one vCPU, MB; Lambda allocates CPU in
/// proportion to memory ("Configuring Lambda function memory",
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>, read 2026-12-01).
pub const ONE_VCPU_MB: f64 = 1769.0;

/// A function's GB-seconds on AWS: `wall_ms` (billed here: invocations and inits, each rounded
/// up to 1 ms) at `memory_mb`, with the `cpu_ms` it spent computing taking as much longer as
/// the function's share of a vCPU is below the whole core it had here (`ONE_VCPU_MB /
/// memory_mb` times as long; no shorter above one vCPU, which one thread cannot use). Assumes
/// a core here computes as fast as a Graviton vCPU.
pub fn lambda_gb_seconds(wall_ms: f64, cpu_ms: f64, memory_mb: f64) -> f64 {
    let stretch = (ONE_VCPU_MB / memory_mb - 1.0).max(0.0);
    (wall_ms + cpu_ms * stretch) / 1000.0 * memory_mb / 1024.0
}

/// Counters for what the local cloud sees as it happens.
#[derive(Debug, Default)]
pub struct Meter {
    /// Per table: (read units, write units, requests).
    dynamodb: Mutex<BTreeMap<String, (f64, f64, u64)>>,
    http_api_units: AtomicU64,
    secrets_calls: AtomicU64,
}

/// DynamoDB operations that read (the rest write).
const READS: [&str; 6] = [
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "ExecuteStatement",
];

impl Meter {
    /// Prepares a DynamoDB request: asks for its consumed capacity. Returns whether the
    /// caller asked itself (then the answer keeps it).
    pub fn ask_capacity(request: &mut Value) -> bool {
        let asked = request
            .get("ReturnConsumedCapacity")
            .and_then(Value::as_str)
            .is_some_and(|v| v != "NONE");
        if !asked && let Some(o) = request.as_object_mut() {
            o.insert("ReturnConsumedCapacity".into(), Value::from("TOTAL"));
        }
        asked
    }

    /// Counts one DynamoDB answer: `answer` is the body on success, `error_type` the error's
    /// type otherwise. Removes the capacity from a successful answer the caller did not ask
    /// it for.
    pub fn dynamodb(
        &self,
        operation: &str,
        request: &Value,
        answer: Result<&mut Value, &str>,
        asked: bool,
    ) {
        let table = request
            .get("TableName")
            .and_then(Value::as_str)
            .unwrap_or("(several)")
            .to_owned();
        let read = READS.contains(&operation);
        let units: Vec<(String, f64)> = match answer {
            Ok(body) => {
                let capacity = match body.get("ConsumedCapacity") {
                    Some(Value::Array(list)) => list.clone(),
                    Some(one) => vec![one.clone()],
                    None => Vec::new(),
                };
                if !asked && let Some(o) = body.as_object_mut() {
                    o.remove("ConsumedCapacity");
                }
                capacity
                    .iter()
                    .map(|c| {
                        (
                            c["TableName"].as_str().unwrap_or(&table).to_owned(),
                            c["CapacityUnits"].as_f64().unwrap_or(0.0),
                        )
                    })
                    .collect()
            }
            Err(e) if e.ends_with("ConditionalCheckFailedException") && !read => {
                vec![(table.clone(), 1.0)]
            }
            Err(_) => Vec::new(),
        };
        let mut tables = self.dynamodb.lock().unwrap_or_else(|e| e.into_inner());
        tables.entry(table).or_default().2 += 1;
        for (t, u) in units {
            let e = tables.entry(t).or_default();
            if read {
                e.0 += u;
            } else {
                e.1 += u;
            }
        }
    }

    /// Counts one HTTP API request of `bytes` (each 512 KB is one request on the bill).
    pub fn http_api_request(&self, bytes: usize) {
        let units = bytes.div_ceil(512 * 1024).max(1) as u64;
        self.http_api_units.fetch_add(units, Ordering::Relaxed);
    }
}

/// What the emulated services count through `local_aws_core::usage`.
impl local_aws_core::usage::UsageSink for Meter {
    fn count(&self, unit: &'static str, n: u64) {
        match unit {
            local_aws_core::usage::SECRETS_MANAGER_API_CALL => {
                self.secrets_calls.fetch_add(n, Ordering::Relaxed);
            }
            other => tracing::warn!(unit = other, "a usage unit the meter does not price"),
        }
    }
}

/// Quantities of billable units, per unit and detail (a function, a table, a state machine).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    lines: BTreeMap<(String, String), f64>,
}

impl Usage {
    /// Adds `quantity` of `unit` for `detail`.
    pub fn add(&mut self, unit: &str, detail: &str, quantity: f64) {
        *self
            .lines
            .entry((unit.to_owned(), detail.to_owned()))
            .or_default() += quantity;
    }

    /// The total of `unit`.
    pub fn total(&self, unit: &str) -> f64 {
        self.lines
            .iter()
            .filter(|((u, _), _)| u == unit)
            .map(|(_, q)| q)
            .sum()
    }

    /// Every line: `(unit, detail, quantity)`.
    pub fn lines(&self) -> impl Iterator<Item = (&str, &str, f64)> {
        self.lines
            .iter()
            .map(|((u, d), q)| (u.as_str(), d.as_str(), *q))
    }

    /// What was used since `before` (a snapshot of the same run).
    pub fn since(&self, before: &Usage) -> Usage {
        let mut out = self.clone();
        for (k, q) in &before.lines {
            *out.lines.entry(k.clone()).or_default() -= q;
        }
        out.lines.retain(|_, q| q.abs() > 1e-12);
        out
    }

    /// Divided by `n` (per order).
    pub fn per(&self, n: f64) -> Usage {
        let mut out = self.clone();
        out.lines.values_mut().for_each(|q| *q /= n.max(1.0));
        out
    }

    /// What it costs, by service (US dollars).
    pub fn cost(&self) -> BTreeMap<&'static str, f64> {
        let mut out = BTreeMap::new();
        for ((unit, _), q) in &self.lines {
            if let Some(p) = price(unit) {
                *out.entry(p.service).or_default() += q * p.usd;
            }
        }
        out
    }
}

/// Billed Express duration: rounded up to 100 ms, at 64 MB (Step Functions pricing).
pub fn express_gb_seconds(duration: std::time::Duration) -> f64 {
    let tenths = (duration.as_secs_f64() * 10.0).ceil();
    tenths / 10.0 * (64.0 / 1024.0)
}

/// An EventBridge entry's billed events: its size (Source, DetailType, Detail and Resources
/// in UTF-8 bytes) in 64 KB chunks (EventBridge pricing).
pub fn eventbridge_events(event: &Value) -> f64 {
    let len = |k: &str| event[k].as_str().map_or(0, str::len);
    let detail = event["detail"].to_string().len();
    let resources: usize = event["resources"].as_array().map_or(0, |r| {
        r.iter().filter_map(Value::as_str).map(str::len).sum()
    });
    let size = len("source") + len("detail-type") + detail + resources;
    size.div_ceil(64 * 1024).max(1) as f64
}

impl Meter {
    /// Adds what this meter counted itself (each table's reads and writes, the HTTP API's
    /// billed requests, the Secrets Manager calls) to `u`.
    pub fn add_counted(&self, u: &mut Usage) {
        let tables = self
            .dynamodb
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (table, (reads, writes, _)) in tables {
            u.add(DYNAMODB_RRU, &table, reads);
            u.add(DYNAMODB_WRU, &table, writes);
        }
        u.add(
            HTTP_API_REQUEST,
            "api",
            self.http_api_units.load(Ordering::Relaxed) as f64,
        );
        u.add(
            SECRETS_CALL,
            "secrets",
            self.secrets_calls.load(Ordering::Relaxed) as f64,
        );
    }
}

/// DynamoDB requests so far, all tables.
pub fn dynamodb_requests(meter: &Meter) -> u64 {
    meter
        .dynamodb
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|t| t.2)
        .sum()
}

/// DynamoDB requests so far to the tables named `tables`.
pub fn dynamodb_requests_to(meter: &Meter, tables: &[&str]) -> u64 {
    meter
        .dynamodb
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(t, _)| tables.contains(&t.as_str()))
        .map(|(_, t)| t.2)
        .sum()
}

/// The sum of each metric the functions' logs carry as CloudWatch Embedded Metric Format
/// documents (as CloudWatch Logs extracts them: a line that is a JSON object with
/// `_aws.CloudWatchMetrics`, each metric's value under its name), by metric name, across
/// dimensions. Lines that are not EMF are skipped.
pub fn emf_sums(log_dir: &Path) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(log_dir) else {
        return sums;
    };
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines().filter(|l| l.contains("\"_aws\"")) {
            let Ok(doc) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let directives = doc["_aws"]["CloudWatchMetrics"].as_array();
            for metric in directives
                .into_iter()
                .flatten()
                .flat_map(|d| d["Metrics"].as_array().cloned().unwrap_or_default())
            {
                if let Some(name) = metric["Name"].as_str()
                    && let Some(v) = doc[name].as_f64()
                {
                    *sums.entry(name.to_owned()).or_insert(0.0) += v;
                }
            }
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emf_metrics_are_summed_by_name_across_files_and_dimensions_and_other_lines_skipped() {
        let dir = std::env::temp_dir().join(format!("local-cloud-emf-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = |name: &str, v: f64, service: &str| {
            let mut d = json!({
                "service": service,
                "_aws": {"Timestamp": 0, "CloudWatchMetrics": [{
                    "Namespace": "N", "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"}]}]}
            });
            d[name] = json!(v);
            d.to_string()
        };
        std::fs::write(
            dir.join("a.log"),
            format!(
                "{}\n{{\"level\":\"INFO\",\"message\":\"not a metric\"}}\n{}\nplain text\n",
                doc("CatalogueLookups", 7.0, "a"),
                doc("CatalogueCacheMisses", 2.0, "a")
            ),
        )
        .unwrap();
        std::fs::write(dir.join("b.log"), doc("CatalogueLookups", 5.0, "b") + "\n").unwrap();
        let sums = emf_sums(&dir);
        assert_eq!(sums.get("CatalogueLookups"), Some(&12.0));
        assert_eq!(sums.get("CatalogueCacheMisses"), Some(&2.0));
        assert_eq!(sums.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn computing_takes_longer_on_a_smaller_share_of_a_vcpu_and_waiting_does_not() {
        // 1 s waiting on a partner: 1 s whatever the memory.
        assert_eq!(lambda_gb_seconds(1000.0, 0.0, 128.0), 0.125);
        // 10 ms computing at 128 MB: 10 ms × 1769 / 128 in all.
        let at_128 = lambda_gb_seconds(10.0, 10.0, 128.0);
        assert!((at_128 - 10.0 * 1769.0 / 128.0 / 1000.0 * 0.125).abs() < 1e-12);
        // The same CPU (inside the same wall time here) costs the same GB-seconds at any memory
        // below one vCPU...
        let (at_256, at_128) = (
            lambda_gb_seconds(10.0, 10.0, 256.0),
            lambda_gb_seconds(10.0, 10.0, 128.0),
        );
        assert!((at_256 - at_128).abs() < 1e-9, "{at_256} {at_128}");
        // ...and is not shortened above it.
        assert_eq!(lambda_gb_seconds(10.0, 10.0, 2048.0), 0.01 * 2.0);
    }

    #[test]
    fn express_duration_rounds_up_to_100_ms_at_64_mb() {
        let gb_s = |ms| express_gb_seconds(std::time::Duration::from_millis(ms));
        assert!((gb_s(1) - 0.1 * 0.0625).abs() < 1e-12);
        assert!((gb_s(100) - 0.1 * 0.0625).abs() < 1e-12);
        assert!((gb_s(101) - 0.2 * 0.0625).abs() < 1e-12);
    }

    #[test]
    fn an_event_is_billed_in_64_kb_chunks() {
        let event = |n: usize| json!({"source": "s", "detail-type": "d", "detail": {"x": "a".repeat(n)}, "resources": []});
        assert_eq!(eventbridge_events(&event(10)), 1.0);
        assert_eq!(eventbridge_events(&event(64 * 1024)), 2.0);
    }

    #[test]
    fn dynamodb_capacity_is_counted_per_table_and_hidden_unless_asked() {
        let m = Meter::default();
        let mut request = json!({"TableName": "orders", "Key": {}});
        let asked = Meter::ask_capacity(&mut request);
        assert!(!asked);
        assert_eq!(request["ReturnConsumedCapacity"], "TOTAL");
        let mut body =
            json!({"Item": {}, "ConsumedCapacity": {"TableName": "orders", "CapacityUnits": 0.5}});
        m.dynamodb("GetItem", &request, Ok(&mut body), asked);
        assert!(body.get("ConsumedCapacity").is_none());
        m.dynamodb(
            "PutItem",
            &request,
            Err("ConditionalCheckFailedException"),
            asked,
        );
        let mut tx = json!({"ConsumedCapacity": [{"TableName": "orders", "CapacityUnits": 2.0}, {"TableName": "held", "CapacityUnits": 2.0}]});
        m.dynamodb("TransactWriteItems", &json!({}), Ok(&mut tx), true);
        assert!(tx.get("ConsumedCapacity").is_some(), "asked for: kept");
        let t = m.dynamodb.lock().unwrap().clone();
        assert_eq!(t["orders"], (0.5, 3.0, 2));
        assert_eq!(t["held"].1, 2.0);
        let mut u = Usage::default();
        u.add(DYNAMODB_WRU, "orders", 1_000_000.0);
        u.add(SFN_TRANSITION, "wf", 1_000_000.0);
        let cost = u.cost();
        assert!((cost["Amazon DynamoDB"] - 0.625).abs() < 1e-9);
        assert!((cost["AWS Step Functions"] - 25.0).abs() < 1e-9);
        assert_eq!(u.since(&u).lines().count(), 0);
    }
}
