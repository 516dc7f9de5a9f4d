//! `local-cloud chaos`: many orders, many faults, one verdict. Sends orders of every kind
//! (see [`plan::Scenario`]) through signed webhooks, each delivered one to three times, while
//! the partner and POS simulators fail about a fifth of their calls in mixed ways (5xx, 429
//! with `Retry-After`, answers after the caller gave up, hanging connections, and answers lost
//! after the effect), the bus delivers a share of events twice, function processes are killed
//! mid-invocation, DynamoDB refuses requests for a few seconds at a time and is killed once and
//! restarted from disk. Then it waits for the pipeline to drain and reconciles every order from
//! independent records ([`reconcile`]). The seed fixes the plan (orders, deliveries, follow-ups,
//! kills, windows); which individual calls fail is drawn as they happen.

mod faults;
mod flow;
use flow::flow;
pub mod plan;
pub mod reconcile;
mod records;
mod report;
mod watch;

pub use faults::{KillLog, REFUSAL_WINDOWS};
pub use report::Report;

use faults::{dynamodb_storms, kill_loop};
use records::{collect, invocations, invoked_during};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use order_domain::{OrderStatus, Partner};
use tokio::sync::{Mutex, Semaphore};

use crate::cloud::LocalCloud;
use crate::sim::Faults;
use plan::{Delivery, Planned, Planner, Scenario};
use reconcile::floors::Injected;
use reconcile::{ENDINGS, OrderFacts};

/// How a run is made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Orders to send.
    pub orders: usize,
    /// The seed of the plan.
    pub seed: u64,
    /// Orders in flight at once.
    pub in_flight: usize,
    /// Share of partner and POS calls that fail (split over the fault kinds).
    pub fault_rate: f64,
    /// Share of bus deliveries made twice.
    pub duplicate_rate: f64,
    /// Kill DynamoDB Local once and restart it from disk (the cloud must persist).
    pub crash_dynamodb: bool,
    /// Longest wait for the pipeline to drain after the last order.
    pub drain: Duration,
    /// What the orders are like (the chaos mix, or a peak's).
    pub profile: plan::Profile,
    /// Orders a second, sent whatever is in flight (a peak); without it, `in_flight` orders
    /// at a time (the chaos run).
    pub rate: Option<f64>,
    /// The POS fails every call from this long after the first order, for this long.
    pub pos_outage: Option<(Duration, Duration)>,
    /// Kill function processes and make DynamoDB refuse requests (the chaos run).
    pub disruptions: bool,
    /// Strand one order on purpose (its Express execution timed out as it enters Adapt, the
    /// record made and nothing else) and run the sweeper with this grace, minutes (the
    /// template's `SweepGraceMinutes`): the run shows the sweeper ending it, and no other.
    pub sweep_grace_minutes: Option<u32>,
    /// The template's `PosPauseAfterSeconds` for the run: a POS outage longer than this (and
    /// a sweeper run) pauses the stores with their partners; their orders meanwhile are
    /// refused (`StorePaused`), which the verdict justifies from the partners' own records of
    /// the pause.
    pub pos_pause_after_seconds: Option<u32>,
}

impl Settings {
    /// The defaults of `local-cloud chaos` for `orders` orders.
    pub fn new(orders: usize, seed: u64) -> Self {
        Self {
            orders,
            seed,
            in_flight: 24,
            fault_rate: 0.2,
            duplicate_rate: 0.05,
            crash_dynamodb: true,
            drain: Duration::from_secs(300),
            profile: plan::Profile::Chaos,
            rate: None,
            pos_outage: None,
            disruptions: true,
            sweep_grace_minutes: None,
            pos_pause_after_seconds: None,
        }
    }

    /// A peak of `orders` orders at `rate` a second (already scaled), the POS down for
    /// `outage` from `outage_at` after the first order: no random faults, no kills, no
    /// DynamoDB storms; AWS's quotas (scaled) are what binds.
    pub fn peak(
        orders: usize,
        seed: u64,
        rate: f64,
        pos_outage: Option<(Duration, Duration)>,
    ) -> Self {
        Self {
            fault_rate: 0.0,
            duplicate_rate: 0.0,
            crash_dynamodb: false,
            drain: Duration::from_secs(1800),
            profile: plan::Profile::Peak,
            rate: Some(rate),
            pos_outage,
            disruptions: false,
            ..Self::new(orders, seed)
        }
    }

    /// Function kills to aim for: one per 200 orders, at least two per function (none when
    /// the run makes no disruptions).
    pub fn kills(&self, functions: usize) -> usize {
        if !self.disruptions {
            return 0;
        }
        (self.orders / 200).max(2 * functions)
    }
}

/// The partner and POS faults for a total failure share of `rate`: 5xx 25 %, 429 20 %, late
/// answers 15 %, hanging connections 5 %, lost answers 35 % of it; each request's draw keyed
/// by `seed` (see [`Faults::seed`]).
pub fn sim_faults(rate: f64, seed: u64) -> Faults {
    Faults {
        seed: Some(seed),
        error_rate: rate * 0.25,
        throttle_rate: rate * 0.20,
        retry_after_seconds: 1,
        timeout_rate: rate * 0.15,
        // Later than the clients' 5 s request timeout (`http_clients::HttpSettings`).
        timeout_after_ms: 6_000,
        hang_rate: rate * 0.05,
        lost_answer_rate: rate * 0.35,
        ..Faults::default()
    }
}

struct Ctx {
    cloud: Arc<LocalCloud>,
    root: PathBuf,
    run: String,
    deliveries: AtomicUsize,
    redeliveries: AtomicUsize,
    started_orders: AtomicUsize,
    /// When the POS outage ends, epoch seconds (the orders' bound waits it out).
    outage_ends: Option<f64>,
    /// The partner order id of the order stranded on purpose, once prepared.
    strand: std::sync::Mutex<Option<String>>,
    /// The strands injected.
    strand_log: std::sync::Mutex<Vec<reconcile::justify::Injection>>,
    /// Seconds the stranded order may take beyond an order's bound: the sweeper's grace, two
    /// of its (scaled) five-minute periods, and its execution.
    strand_bound: f64,
    /// Seconds a queued message may wait to come back when the invocation that took it
    /// failed (a handover function killed mid-batch): the longest visibility timeout of the
    /// queues a function polls, as the template sets it (SQS hides a received message that
    /// long; it is not scaled). An order whose handover was in that batch ends that much later.
    redelivery: f64,
    /// The statuses of the orders the flows wait on.
    statuses: Arc<watch::StatusWatch>,
}

/// The state the order stranded on purpose times out entering (the generated workflows'
/// name for the adapt-order step): after dedup made its record, before anything else.
pub const STRAND_AT: &str = "Adapt";

/// The sweeper's schedule in the template (`rate(5 minutes)`), seconds, unscaled.
const SWEEP_PERIOD_SECONDS: f64 = 300.0;

/// How many more visibility timeouts an order past its bound is waited for while its handover
/// is still queued (each a refused or killed receive the queue brings back).
const QUEUED_REDELIVERIES: u32 = 5;

/// The longest visibility timeout among the queues an event source mapping polls, seconds.
fn redelivery_seconds(app: &crate::app::App) -> f64 {
    app.queue_triggers
        .iter()
        .filter_map(|(_, m)| app.queue_specs.iter().find(|q| q.name == m.queue))
        .map(|q| q.visibility_timeout.as_secs_f64())
        .fold(0.0, f64::max)
}

fn epoch_now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Runs the chaos described by `s` against `cloud` (started from the repository at `root`).
pub async fn run(cloud: Arc<LocalCloud>, root: &Path, s: &Settings) -> Result<Report, String> {
    let mut planner = Planner::for_profile(s.seed, s.profile);
    let mut planned: Vec<Planned> = (0..s.orders).map(|i| planner.order(i)).collect();
    // The first plain immediate order (one webhook, no follow-up) is the one stranded.
    let strands = match s.sweep_grace_minutes {
        Some(_) => planned
            .iter_mut()
            .find(|p| {
                p.scenario == Scenario::Immediate && p.extra.is_empty() && p.follow_up.is_none()
            })
            .map(|p| p.stranded = true)
            .map_or(0, |()| 1),
        None => 0,
    };
    let ctx = Arc::new(Ctx {
        cloud: cloud.clone(),
        root: root.to_owned(),
        run: format!("{:x}", s.seed % 0xff_ffff),
        deliveries: AtomicUsize::new(0),
        redeliveries: AtomicUsize::new(0),
        started_orders: AtomicUsize::new(0),
        outage_ends: s
            .pos_outage
            .map(|(at, length)| epoch_now() + (at + length).as_secs_f64()),
        strand: std::sync::Mutex::new(None),
        strand_log: std::sync::Mutex::default(),
        strand_bound: s.sweep_grace_minutes.map_or(0.0, |m| {
            f64::from(m) * 60.0 + 2.0 * SWEEP_PERIOD_SECONDS / cloud.time_scale.factor() + 60.0
        }),
        redelivery: redelivery_seconds(&cloud.app),
        statuses: Arc::default(),
    });
    if strands > 0 {
        let strand_ctx = ctx.clone();
        cloud
            .sfn
            .time_out_when(Some(Arc::new(move |kind, state, input| {
                if kind != crate::sfn::WorkflowType::Express || state != STRAND_AT {
                    return false;
                }
                let Some(id) = input
                    .pointer("/detail/data/partnerOrderId")
                    .and_then(serde_json::Value::as_str)
                else {
                    return false;
                };
                let lock = |m| std::sync::PoisonError::into_inner(m);
                let hit = strand_ctx.strand.lock().unwrap_or_else(lock).as_deref() == Some(id);
                if hit {
                    strand_ctx
                        .strand_log
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(reconcile::justify::Injection::at(
                            format!("Express execution timed out entering {STRAND_AT} (injected)"),
                            epoch_now(),
                            None,
                            std::collections::BTreeSet::from([id.to_owned()]),
                        ));
                }
                hit
            })));
    }
    for name in ["pos", "ubereats", "doordash", "grubhub", "app"] {
        let seed = crate::seeded::keyed_seed(s.seed, &[name.as_bytes()]);
        cloud.set_faults(name, sim_faults(s.fault_rate, seed)).await;
    }
    cloud.bus.set_duplicate_seed(Some(s.seed));
    cloud.bus.set_duplicate_rate(s.duplicate_rate);

    let done = Arc::new(AtomicBool::new(false));
    let kills: Arc<Mutex<KillLog>> = Arc::default();
    let killer = tokio::spawn(kill_loop(
        ctx.clone(),
        s.clone(),
        planner.u64(0..u64::MAX),
        done.clone(),
        kills.clone(),
    ));
    let storms = tokio::spawn(dynamodb_storms(ctx.clone(), s.clone(), done.clone()));
    let outage = s.pos_outage.map(|(at, length)| {
        let cloud = cloud.clone();
        tokio::spawn(async move {
            tokio::time::sleep(at).await;
            let from = epoch_now();
            cloud
                .set_faults(
                    "pos",
                    Faults {
                        error_rate: 1.0,
                        ..Faults::default()
                    },
                )
                .await;
            tokio::time::sleep(length).await;
            cloud.set_faults("pos", Faults::default()).await;
            (from, epoch_now())
        })
    });

    let watching = ctx.statuses.spawn(cloud.clone());
    let usage_before = cloud.usage().await;
    let invocations_before = invocations(&cloud).await;
    let started = Instant::now();
    // A peak sends at its rate whatever is in flight; the chaos run keeps `in_flight`.
    let gate = Arc::new(Semaphore::new(if s.rate.is_some() {
        Semaphore::MAX_PERMITS
    } else {
        s.in_flight.max(1)
    }));
    let mut flows = Vec::with_capacity(planned.len());
    for (i, p) in planned.into_iter().enumerate() {
        if let Some(rate) = s.rate {
            let due = started + Duration::from_secs_f64(i as f64 / rate.max(0.001));
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let ctx = ctx.clone();
        ctx.started_orders.fetch_add(1, Ordering::Relaxed);
        flows.push(tokio::spawn(async move {
            let facts = flow(&ctx, &p).await;
            drop(permit);
            facts
        }));
    }
    let mut facts = Vec::with_capacity(flows.len());
    for f in flows {
        facts.push(f.await.map_err(|e| e.to_string())??);
    }
    watching.abort();
    let send_seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let restart = storms.await.map_err(|e| e.to_string())?;
    killer.await.map_err(|e| e.to_string())?;
    let outage_window = match outage {
        Some(o) => Some(o.await.map_err(|e| e.to_string())?),
        None => None,
    };
    // Faults off for the drain: what is still running finishes on a healthy system.
    for name in ["pos", "ubereats", "doordash", "grubhub", "app"] {
        cloud.set_faults(name, Faults::default()).await;
    }
    cloud.bus.set_duplicate_rate(0.0);
    let drain_started = Instant::now();
    drain(&cloud, s.drain).await;
    // What the dead-letter alarms' runbook does once the outage is over: redrive the dead
    // letters (docs/operations.md), then let what they start finish.
    let redriven = cloud.redrive().await;
    if redriven > 0 {
        drain(&cloud, s.drain).await;
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();

    let cost_per_million = cloud
        .usage()
        .await
        .since(&usage_before)
        .per(s.orders as f64)
        .cost()
        .into_iter()
        .map(|(service, usd)| (service.to_owned(), usd * 1e6))
        .collect();
    let quota_rows = crate::quota_report::rows(&cloud.quotas);
    let demand = crate::capacity::Demand::measured(
        format!(
            "{} run, seed {}{}",
            format!("{:?}", s.profile).to_lowercase(),
            s.seed,
            s.pos_outage.map_or(String::new(), |(_, length)| format!(
                ", the POS down {:.0} s of it",
                length.as_secs_f64()
            ))
        ),
        s.orders,
        &quota_rows,
        cloud.quotas.scale(),
        &cloud.lambda.stats().await,
    );
    let kills = kills.lock().await.clone();
    cloud.sfn.time_out_when(None);
    let strand_log = std::mem::take(
        &mut *ctx
            .strand_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let mut records = collect(&cloud, facts, &kills, restart).await?;
    // A pause is due when the outage outlasts the threshold by more than a few sweeper
    // periods (every five minutes, at the time scale).
    records.pause_expected =
        s.pos_outage
            .zip(s.pos_pause_after_seconds)
            .is_some_and(|((_, length), after)| {
                length.as_secs_f64() >= f64::from(after) + 3.0 * 300.0 / cloud.time_scale.factor()
            });
    // What the partners were told of stores, by their own records.
    let store_statuses = (
        records
            .store_statuses
            .iter()
            .filter(|(_, s)| !s.online)
            .count(),
        records
            .store_statuses
            .iter()
            .filter(|(_, s)| s.online)
            .count(),
    );
    let swept = records
        .executions
        .iter()
        .filter(|e| reconcile::is_sweep(&e.name))
        .map(|e| e.partner_order_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let strands_made = strand_log.len();
    records.injections.extend(strand_log);
    if let Some((from, until)) = outage_window {
        records.injections.push(reconcile::justify::Injection {
            what: "POS outage".to_owned(),
            from,
            until,
            partner: None,
            names: Default::default(),
        });
    }
    let mut violations = reconcile::check(&records);
    let mut faults = BTreeMap::new();
    let mut exposed_requests = 0;
    for name in ["pos", "ubereats", "doordash", "grubhub", "app"] {
        if let Some(sim) = cloud.sim(name) {
            for (k, n) in sim.injected().await {
                *faults.entry(k.to_owned()).or_default() += n;
            }
            exposed_requests += sim.exposed_requests();
        }
    }
    let windows = cloud.dynamo_throttle.windows();
    let refused = cloud.dynamo_throttle.refused_requests();
    let injected = Injected {
        faults: faults.clone(),
        exposed_requests,
        kills: kills.counts.clone(),
        invoked: if s.disruptions {
            invoked_during(&cloud, &invocations_before).await
        } else {
            Default::default()
        },
        refusal_windows: windows
            .iter()
            .map(|(from, until)| {
                refused
                    .iter()
                    .filter(|(at, _)| at >= from && at <= until)
                    .count()
            })
            .collect(),
        restart_seconds: restart.map(|(_, took)| took),
        outage_refusals: match cloud.sim("pos") {
            Some(pos) if outage_window.is_some() => {
                pos.injected().await.get("500").copied().unwrap_or(0)
            }
            _ => 0,
        },
        strands: strands_made,
    };
    let floors = reconcile::floors::floors(
        &reconcile::floors::Plan {
            faults: sim_faults(s.fault_rate, 0),
            refusal_windows: if s.disruptions { REFUSAL_WINDOWS } else { 0 },
            restart: s.crash_dynamodb,
            outage: s.pos_outage.is_some(),
            strands,
        },
        &injected,
    );
    violations.extend(reconcile::floors::check_floors(&floors));
    let causes = reconcile::justify::attribute(&records.orders, &records.injections);
    let failures = records
        .orders
        .iter()
        .filter(|o| {
            records
                .table
                .get(&o.order_id)
                .and_then(|i| i["status"].as_str())
                == Some("Failed")
        })
        .map(|o| {
            let why = causes
                .get(&o.order_id)
                .into_iter()
                .flatten()
                .map(|f| f.what.clone())
                .collect();
            (o.order_id.clone(), why)
        })
        .collect();
    let mut outcomes: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut latencies: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for o in &records.orders {
        let status = records
            .table
            .get(&o.order_id)
            .and_then(|i| i["status"].as_str())
            .unwrap_or("(none)")
            .to_owned();
        *outcomes
            .entry(o.scenario.name().to_owned())
            .or_default()
            .entry(status.clone())
            .or_default() += 1;
        if let Some(end) = o.ended {
            latencies
                .entry(status)
                .or_default()
                .push((end - o.first_sent) * 1000.0);
        }
    }
    let latency = latencies
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            (k, (n, percentile(&v, 50.0), percentile(&v, 99.0)))
        })
        .collect();
    let violations: Vec<(reconcile::Violation, Vec<Vec<String>>)> = violations
        .into_iter()
        .map(|v| {
            let paths = records
                .orders
                .iter()
                .find(|o| o.order_id == v.order)
                .map(|o| {
                    records
                        .executions
                        .iter()
                        .filter(|e| e.partner_order_id == o.partner_order_id)
                        .map(|e| e.path.clone())
                        .collect()
                })
                .unwrap_or_default();
            (v, paths)
        })
        .collect();
    let stranded = violations
        .iter()
        .filter(|(v, _)| v.invariant == 4 && v.what.starts_with("had not ended"))
        .count();
    Ok(Report {
        kind: match s.profile {
            plan::Profile::Chaos => "chaos",
            plan::Profile::Peak => "peak",
        }
        .to_owned(),
        stranded,
        orders: s.orders,
        seed: s.seed,
        deliveries: ctx.deliveries.load(Ordering::Relaxed),
        redeliveries: ctx.redeliveries.load(Ordering::Relaxed),
        faults,
        kills: kills.counts,
        bus_duplicates: cloud.bus.duplicated(),
        dynamodb_refused: cloud.dynamo_throttle.refused(),
        dynamodb_restart_seconds: restart.map(|(_, took)| took),
        outcomes,
        latency,
        floors,
        quota_table: crate::quota_report::table(&cloud.quotas, &quota_rows),
        quotas: quota_rows,
        failures,
        violations,
        send_seconds,
        drain_seconds,
        redriven,
        cost_per_million,
        demand,
        swept,
        store_statuses,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Waits until no execution runs and no function is busy (three checks running), or `within`.
async fn drain(cloud: &LocalCloud, within: Duration) {
    let deadline = Instant::now() + within;
    let mut quiet = 0;
    while Instant::now() < deadline && quiet < 3 {
        let mut idle = true;
        for e in cloud.sfn.executions().await {
            if e.status().await == crate::sfn::Status::Running {
                idle = false;
                break;
            }
        }
        for f in &cloud.app.functions {
            if idle && cloud.lambda.busy(&f.name).await {
                idle = false;
            }
        }
        if idle && cloud.pending_work().await > 0 {
            idle = false;
        }
        quiet = if idle { quiet + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests;
