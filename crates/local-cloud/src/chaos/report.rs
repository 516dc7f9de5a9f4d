//! What a chaos (or peak) run found, and how it is printed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::reconcile::Violation;
use super::reconcile::floors::Floor;

/// What a run found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `chaos` or `peak`.
    pub kind: String,
    /// Orders sent.
    pub orders: usize,
    /// Orders not ended past their bound (stranded): invariant 4's "had not ended".
    pub stranded: usize,
    /// The seed.
    pub seed: u64,
    /// Order webhooks delivered (copies included), and follow-ups (couriers, cancellations).
    pub deliveries: usize,
    /// Deliveries intake did not take at first (a killed intake, a throttled API) and the
    /// partner sent again.
    pub redeliveries: usize,
    /// Faults the simulators injected, by kind.
    pub faults: BTreeMap<String, usize>,
    /// Function processes killed mid-invocation, by function.
    pub kills: BTreeMap<String, usize>,
    /// Bus deliveries made twice.
    pub bus_duplicates: usize,
    /// DynamoDB requests refused during the throttling windows.
    pub dynamodb_refused: usize,
    /// Seconds DynamoDB Local was away when it was killed and restarted, if it was.
    pub dynamodb_restart_seconds: Option<f64>,
    /// Orders by scenario and final status.
    pub outcomes: BTreeMap<String, BTreeMap<String, usize>>,
    /// Latency from first webhook to end, by final status: (orders, p50 ms, p99 ms).
    pub latency: BTreeMap<String, (usize, f64, f64)>,
    /// What the plan needed injected at least, and what was (invariant 10).
    pub floors: Vec<Floor>,
    /// AWS's quotas: each one's busiest second, headroom and throttles.
    pub quotas: Vec<crate::quota_report::QuotaRow>,
    /// The quota table, as printed.
    #[serde(skip)]
    pub quota_table: String,
    /// Failed orders, each with the injected faults its verdict found for it (invariant 8).
    pub failures: BTreeMap<String, Vec<String>>,
    /// Broken promises, with the paths the order's executions took.
    pub violations: Vec<(Violation, Vec<Vec<String>>)>,
    /// Seconds from the first webhook to the last order's end.
    pub send_seconds: f64,
    /// Seconds the drain took after that (the redrive's included).
    pub drain_seconds: f64,
    /// Dead letters redriven after the drain, as an operator answering the alarm would.
    pub redriven: usize,
    /// What the run cost on AWS, US$ per million orders, by service (see [`crate::meter`]):
    /// faults, retries and compensation included, so above the bench's clean figure.
    pub cost_per_million: BTreeMap<String, f64>,
    /// What an order took of each quota and function ([`crate::capacity`]).
    pub demand: crate::capacity::Demand,
    /// Orders the sweeper re-drove (a `sweep-` execution ran for each).
    pub swept: usize,
    /// Store statuses the partners were told, by their records: (paused, resumed). A POS
    /// down past `PosPauseAfterSeconds` pauses its stores, and its answering again resumes
    /// them (`pipeline::usecases::pos_watch`).
    pub store_statuses: (usize, usize),
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sum = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
        writeln!(
            f,
            "{} run, seed {} (repeat with --seed {})",
            self.kind, self.seed, self.seed
        )?;
        writeln!(
            f,
            "orders {}   deliveries {} (+{} redelivered after a refusal)   sent and ended in {:.1} s, drained in {:.1} s ({} dead letters redriven)",
            self.orders,
            self.deliveries,
            self.redeliveries,
            self.send_seconds,
            self.drain_seconds,
            self.redriven
        )?;
        writeln!(
            f,
            "faults      {} injected by the simulators: {}",
            sum(&self.faults),
            self.faults
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(
            f,
            "kills       {} processes killed mid-invocation: {}",
            sum(&self.kills),
            self.kills
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(
            f,
            "bus         {} deliveries made twice",
            self.bus_duplicates
        )?;
        writeln!(
            f,
            "DynamoDB    {} requests refused in throttling windows; {}",
            self.dynamodb_refused,
            match self.dynamodb_restart_seconds {
                Some(s) => format!("killed and restarted from disk in {s:.1} s"),
                None => "not restarted".to_owned(),
            }
        )?;
        writeln!(f)?;
        writeln!(f, "{:<22} final status: orders", "scenario")?;
        for (scenario, by) in &self.outcomes {
            writeln!(
                f,
                "{:<22} {}",
                scenario,
                by.iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<12} {:>7} {:>10} {:>10}",
            "ended as", "orders", "p50 ms", "p99 ms"
        )?;
        for (status, (n, p50, p99)) in &self.latency {
            writeln!(f, "{status:<12} {n:>7} {p50:>10.0} {p99:>10.0}")?;
        }
        writeln!(f)?;
        let total: f64 = self.cost_per_million.values().sum();
        writeln!(
            f,
            "cost        US$ {total:.2} per million orders under these faults ({})",
            self.cost_per_million
                .iter()
                .map(|(service, usd)| format!("{service} {usd:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(f)?;
        write!(f, "{}", self.quota_table)?;
        writeln!(f)?;
        writeln!(
            f,
            "floors      {} of {} met: {}",
            self.floors.iter().filter(|x| x.met()).count(),
            self.floors.len(),
            self.floors
                .iter()
                .map(|x| format!("{} {}/{}", x.what, x.got, x.needed))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        if self.failures.is_empty() {
            writeln!(f, "failures    0")?;
        } else {
            writeln!(
                f,
                "failures    {} failed orders, each with the injected faults found for it:",
                self.failures.len()
            )?;
            for (order, why) in &self.failures {
                let shown: Vec<&str> = why.iter().take(3).map(String::as_str).collect();
                writeln!(
                    f,
                    "  {order}: {}{}",
                    if shown.is_empty() {
                        "none (unjustified)".to_owned()
                    } else {
                        shown.join("; ")
                    },
                    if why.len() > 3 {
                        format!(" and {} more", why.len() - 3)
                    } else {
                        String::new()
                    }
                )?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "stranded    {} orders not ended past their bound; the sweeper ended {}",
            self.stranded, self.swept
        )?;
        if self.store_statuses != (0, 0) {
            writeln!(
                f,
                "stores      partners told a store paused {} times and resumed {} times (their records)",
                self.store_statuses.0, self.store_statuses.1
            )?;
        }
        if self.violations.is_empty() {
            writeln!(f, "violations  0: every order kept every promise")?;
        } else {
            let mut by: BTreeMap<u8, usize> = BTreeMap::new();
            for (v, _) in &self.violations {
                *by.entry(v.invariant).or_default() += 1;
            }
            writeln!(
                f,
                "violations  {} ({})",
                self.violations.len(),
                by.iter()
                    .map(|(i, n)| format!("invariant {i}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            for (v, paths) in &self.violations {
                writeln!(f, "  {} [{}] {}", v.order, v.invariant, v.what)?;
                for p in paths {
                    writeln!(f, "      path: {}", p.join(" > "))?;
                }
            }
        }
        Ok(())
    }
}
