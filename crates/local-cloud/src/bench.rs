//! `local-cloud bench`: mixed orders through the whole local pipeline, then orders per second,
//! p50/p99 order latency (webhook sent → its executions ended), each function's init time and
//! peak RSS, and what the run would cost on AWS ([`crate::meter`]): per million orders by
//! service, and the calls one immediate order makes, measured alone after the run. The
//! simulators answer at the latencies the caller sets (the CLI's default is a partner's
//! ~150 ms and a POS's ~250 ms, since on AWS those durations are what the functions and the
//! Express workflow are billed for). By default each client sends an order and
//! waits for it to end before sending the next (closed loop: latency is the pipeline's, with
//! `clients` orders in flight); `--burst` sends them all as fast as intake takes them (latency is
//! mostly queueing, throughput the pipeline's capacity). It prints figures; it asserts nothing.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use order_domain::Partner;
use serde::Serialize;
use tokio::sync::{Mutex, Notify, Semaphore};

use crate::catalogue::synthetic::Synthetic;
use crate::cloud::{LocalCloud, eventually};
use crate::lambda::FunctionStats;
use crate::webhooks::Payload;

/// One kind of order in the mix.
struct Kind {
    partner: Partner,
    sample: &'static str,
    fetched: Option<&'static str>,
    /// The pickup or ready time to set: (pointer, when).
    time: Option<(&'static str, Pickup)>,
    /// Deliveries of the same webhook.
    copies: usize,
    /// Scheduled for later: held, then released by time.
    held: bool,
}

/// When an order's pickup or ready time is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pickup {
    /// This many minutes from now.
    In(i64),
    /// When the partner's courier arrives: drawn per order from the peak run's distribution
    /// ([`crate::chaos::plan::courier_pickup_minutes`]: 8 to 30 minutes, most likely 15; about
    /// 73 % of delivery orders then wait on a hold), as real partners' estimates give it. The
    /// bench priced only orders sent at once before: its held share and cost rested on a mix
    /// no partner sends.
    Courier,
}

/// How the orders are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Each client sends an order, waits for it to end, sends the next.
    Closed,
    /// Every order as fast as intake answers, `clients` webhooks in flight.
    Burst,
}

/// The mix: every partner's immediate orders (one fetched on notification), a rejected order,
/// a duplicated one and a scheduled one (held a quarter of an hour, released by time), in
/// proportion.
fn mix() -> Vec<(Kind, u32)> {
    let k = |partner, sample, time, weight| {
        (
            Kind {
                partner,
                sample,
                fetched: None,
                time,
                copies: 1,
                held: false,
            },
            weight,
        )
    };
    vec![
        k(
            Partner::ChainApp,
            "events/partners/app/order.json",
            None,
            30,
        ),
        k(
            Partner::DoorDash,
            "events/partners/doordash/order.json",
            Some(("/order/estimated_pickup_time", Pickup::Courier)),
            25,
        ),
        (
            Kind {
                partner: Partner::UberEats,
                sample: "events/partners/ubereats/notification.json",
                fetched: Some("events/partners/ubereats/order.json"),
                time: Some(("/estimated_ready_for_pickup_at", Pickup::Courier)),
                copies: 1,
                held: false,
            },
            20,
        ),
        k(
            Partner::Grubhub,
            "events/partners/grubhub/order.json",
            Some((
                "/order/fulfillment_info/estimated_pickup_at",
                Pickup::Courier,
            )),
            12,
        ),
        k(
            Partner::Grubhub,
            "events/partners/grubhub/order-unknown-item.json",
            Some(("/order/fulfillment_info/estimated_pickup_at", Pickup::In(5))),
            5,
        ),
        (
            Kind {
                partner: Partner::ChainApp,
                sample: "events/partners/app/order.json",
                fetched: None,
                time: None,
                copies: 2,
                held: false,
            },
            5,
        ),
        (
            Kind {
                partner: Partner::DoorDash,
                sample: "events/partners/doordash/order-scheduled.json",
                fetched: None,
                time: Some(("/order/estimated_pickup_time", Pickup::In(15))),
                copies: 1,
                held: true,
            },
            3,
        ),
    ]
}

/// Figures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Orders sent.
    pub orders: usize,
    /// Webhooks sent (duplicates included).
    pub webhooks: usize,
    /// How they were sent.
    pub mode: Mode,
    /// Orders whose executions all ended in time.
    pub completed: usize,
    /// Seconds from the first webhook to the last execution's end.
    pub wall_seconds: f64,
    /// Completed orders per second.
    pub orders_per_second: f64,
    /// Median latency of the orders not held, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of the orders not held, ms.
    pub p99_ms: f64,
    /// Largest latency of the orders not held, ms.
    pub max_ms: f64,
    /// Held orders that completed (their latency is mostly the planned hold).
    pub held: usize,
    /// Median latency of the held orders, ms.
    pub held_p50_ms: f64,
    /// Per function.
    pub functions: Vec<(String, FunctionStats)>,
    /// Processes per function.
    pub concurrency: usize,
    /// Webhooks in flight at once.
    pub clients: usize,
    /// The workflow topology measured.
    pub topology: crate::topology::Topology,
    /// What the run used, per order, as AWS would bill it: `(unit, detail, quantity)`.
    pub usage_per_order: Vec<(String, String, f64)>,
    /// US dollars per million orders, by service.
    pub cost_per_million: std::collections::BTreeMap<String, f64>,
    /// US dollars per million orders.
    pub total_per_million: f64,
    /// One immediate order, sent alone after the run: what it used (`(what, count)`).
    pub critical_path: Vec<(String, f64)>,
    /// The catalogue's reads and cache.
    pub catalogue: Catalogue,
}

/// How the run's orders read the store catalogue.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalogue {
    /// Stores the orders were spread over (0: the repository's catalogue, unspread).
    pub stores: usize,
    /// Catalogue table requests per completed order, counted by the local cloud's DynamoDB
    /// front (the meter), not by the functions.
    pub reads_per_order: f64,
    /// Catalogue lookups per completed order, as the functions' containers report them
    /// (`CatalogueLookups` in their EMF logs).
    pub lookups_per_order: f64,
    /// Lookups the containers' caches answered without a read (`1 - CatalogueCacheMisses /
    /// CatalogueLookups`, from the same reports).
    pub hit_ratio: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One order, ready to send.
struct Prepared {
    partner: Partner,
    id: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    copies: usize,
    held: bool,
}

/// When each order was sent and how many of its executions have ended (and when the last did).
#[derive(Default)]
struct Ledger {
    sent: HashMap<String, (usize, Instant)>,
    ended: HashMap<String, (usize, Instant)>,
}

/// What a bench run sends and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Orders.
    pub orders: usize,
    /// Clients (closed loop) or webhooks in flight (burst).
    pub clients: usize,
    /// Processes per function.
    pub concurrency: usize,
    /// How the orders are sent.
    pub mode: Mode,
    /// Orders still running after this long are left out of the figures.
    pub within: Duration,
    /// A chain-scale catalogue, already loaded into the cloud's tables: each order goes to a
    /// store picked at random among the copies of the store its sample names.
    pub spread: Option<Synthetic>,
}

/// Sends the plan's orders and measures.
pub async fn run(cloud: Arc<LocalCloud>, root: &Path, plan: &Plan) -> Result<Report, String> {
    let Plan {
        orders,
        clients,
        concurrency,
        mode,
        within,
        ref spread,
    } = *plan;
    let prepared = prepare(&cloud, root, orders, spread.as_ref()).await?;
    let held_ids: std::collections::HashSet<String> = prepared
        .iter()
        .filter(|p| p.held)
        .map(|p| p.id.clone())
        .collect();
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let changed = Arc::new(Notify::new());
    let mut progress = cloud.sfn.subscribe();
    let (ledger_w, changed_w, cloud_w) = (ledger.clone(), changed.clone(), cloud.clone());
    let before = cloud.usage().await;
    let catalogue_tables: Vec<String> = crate::catalogue::tables(&cloud.app)
        .map(|(s, m)| vec![s.to_owned(), m.to_owned()])
        .unwrap_or_default();
    let catalogue_tables: Vec<&str> = catalogue_tables.iter().map(String::as_str).collect();
    let reads_before = crate::meter::dynamodb_requests_to(&cloud.meter, &catalogue_tables);
    let emf_before = crate::meter::emf_sums(&cloud.log_dir);
    let listener = tokio::spawn(async move {
        loop {
            match progress.recv().await {
                Ok(p) => {
                    let terminal = p.what == "SUCCEEDED"
                        || p.what.starts_with("FAILED")
                        || p.what == "TIMED_OUT";
                    if let (true, Some(order)) = (terminal, p.label) {
                        // An order has ended when its runs have: an Express execution that
                        // handed over ends with its Standard continuation.
                        let mut ended = 0;
                        for run in cloud_w.runs_of(&order).await {
                            if run.status().await.0 != "RUNNING" {
                                ended += 1;
                            }
                        }
                        let mut l = ledger_w.lock().await;
                        let e = l.ended.entry(order).or_insert((0, Instant::now()));
                        if ended > e.0 {
                            *e = (ended, Instant::now());
                        }
                        drop(l);
                        changed_w.notify_waiters();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("bench missed {n} progress notices")
                }
                Err(_) => break,
            }
        }
    });

    let started = Instant::now();
    let deadline = started + within;
    let webhooks = match mode {
        Mode::Burst => burst(&cloud, prepared, clients, &ledger).await?,
        Mode::Closed => closed(&cloud, prepared, clients, &ledger, &changed, deadline).await?,
    };
    // Orders still running after `within` are left out of the figures (`completed` says so).
    let _ = eventually(
        deadline.saturating_duration_since(Instant::now()),
        "every order's executions to end",
        || async { ledger.lock().await.all_ended().then_some(()) },
    )
    .await;
    let used = cloud.usage().await.since(&before);
    let catalogue_reads =
        crate::meter::dynamodb_requests_to(&cloud.meter, &catalogue_tables) - reads_before;
    // The containers report their catalogue lookups every few seconds
    // (`CATALOG_METRICS_SECONDS` in the local cloud): wait for the last report, then read them
    // from the logs.
    tokio::time::sleep(Duration::from_secs(
        crate::app::LOCAL_CATALOG_METRICS_SECONDS + 1,
    ))
    .await;
    let emf_after = crate::meter::emf_sums(&cloud.log_dir);
    let emf = |name: &str| {
        emf_after.get(name).copied().unwrap_or(0.0) - emf_before.get(name).copied().unwrap_or(0.0)
    };
    let (lookups, misses) = (emf("CatalogueLookups"), emf("CatalogueCacheMisses"));
    // One immediate order alone: the calls on its path.
    let alone = prepare(&cloud, root, 1, None).await?;
    // Measured on its own: not one of the run's orders.
    let alone_id = alone.first().map(|p| p.id.clone()).unwrap_or_default();
    let (requests_before, usage_before) = (
        crate::meter::dynamodb_requests(&cloud.meter),
        cloud.usage().await,
    );
    closed(
        &cloud,
        alone,
        1,
        &ledger,
        &changed,
        Instant::now() + Duration::from_secs(120),
    )
    .await?;
    let one = cloud.usage().await.since(&usage_before);
    let critical_path = vec![
        (
            "Standard state transitions".to_owned(),
            one.total(crate::meter::prices::SFN_TRANSITION),
        ),
        (
            "Express executions".to_owned(),
            one.total(crate::meter::prices::SFN_EXPRESS_REQUEST),
        ),
        (
            "Lambda invocations".to_owned(),
            one.total(crate::meter::prices::LAMBDA_REQUEST),
        ),
        (
            "DynamoDB requests".to_owned(),
            (crate::meter::dynamodb_requests(&cloud.meter) - requests_before) as f64,
        ),
        (
            "EventBridge events".to_owned(),
            one.total(crate::meter::prices::EVENTBRIDGE_EVENT),
        ),
        (
            "cost, US$ per million such orders".to_owned(),
            one.cost().values().sum::<f64>() * 1e6,
        ),
    ];
    listener.abort();
    let ledger = ledger.lock().await;
    let (mut latencies, mut held) = (Vec::new(), Vec::new());
    let mut last = started;
    for (id, (n, at)) in ledger.sent.iter().filter(|(id, _)| **id != alone_id) {
        if let Some((_, end)) = ledger.ended.get(id).filter(|(e, _)| e >= n) {
            let ms = end.duration_since(*at).as_secs_f64() * 1000.0;
            if held_ids.contains(id) {
                held.push(ms);
            } else {
                latencies.push(ms);
            }
            last = last.max(*end);
        }
    }
    latencies.sort_by(f64::total_cmp);
    held.sort_by(f64::total_cmp);
    let completed = latencies.len() + held.len();
    let wall = last.duration_since(started).as_secs_f64();
    let stats = cloud.lambda.stats().await;
    let per_order = used.per(completed as f64);
    let cost_per_million: std::collections::BTreeMap<String, f64> = per_order
        .cost()
        .into_iter()
        .map(|(service, usd)| (service.to_owned(), usd * 1e6))
        .collect();
    let per = |n: f64| {
        if completed > 0 {
            n / completed as f64
        } else {
            f64::NAN
        }
    };
    let catalogue = Catalogue {
        stores: spread.as_ref().map_or(0, Synthetic::stores),
        reads_per_order: per(catalogue_reads as f64),
        lookups_per_order: per(lookups),
        hit_ratio: if lookups > 0.0 {
            1.0 - misses / lookups
        } else {
            f64::NAN
        },
    };
    Ok(Report {
        catalogue,
        topology: cloud.topology,
        usage_per_order: per_order
            .lines()
            .map(|(u, d, q)| (u.to_owned(), d.to_owned(), q))
            .collect(),
        total_per_million: cost_per_million.values().sum(),
        cost_per_million,
        critical_path,
        orders,
        webhooks,
        mode,
        completed,
        wall_seconds: wall,
        orders_per_second: if wall > 0.0 {
            completed as f64 / wall
        } else {
            0.0
        },
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        held: held.len(),
        held_p50_ms: percentile(&held, 50.0),
        functions: stats.into_iter().collect(),
        concurrency,
        clients,
    })
}

impl Ledger {
    fn all_ended(&self) -> bool {
        self.sent
            .iter()
            .all(|(id, (n, _))| self.ended.get(id).is_some_and(|(e, _)| e >= n))
    }
}

/// Builds every payload first, so the measurement is of the pipeline.
async fn prepare(
    cloud: &LocalCloud,
    root: &Path,
    orders: usize,
    spread: Option<&Synthetic>,
) -> Result<Vec<Prepared>, String> {
    let mix = mix();
    let total_weight: u32 = mix.iter().map(|(_, w)| w).sum();
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    // The pickups are drawn from a fixed seed: two benches price the same mix.
    let mut rng = fastrand::Rng::with_seed(20_261_207);
    let mut prepared = Vec::with_capacity(orders);
    for i in 0..orders {
        let slot = u32::try_from(i).unwrap_or(u32::MAX) % total_weight;
        let mut acc = 0;
        let (kind, _) = mix
            .iter()
            .find(|(_, w)| {
                acc += w;
                slot < acc
            })
            .ok_or("empty mix")?;
        let now = Utc::now();
        let minutes = match kind.time {
            Some((_, Pickup::In(m))) => m,
            Some((_, Pickup::Courier)) => crate::chaos::plan::courier_pickup_minutes(&mut rng),
            None => 0,
        };
        let timed = |p: Payload| match kind.time {
            Some((pointer, _)) if p.json.pointer(pointer).is_some() => p
                .at(pointer, now + TimeDelta::minutes(minutes))
                .map_err(|e| e.to_string()),
            _ => Ok(p),
        };
        let p = timed(
            Payload::load(kind.partner, &root.join(kind.sample))
                .map_err(|e| e.to_string())?
                .rebase(now),
        )?;
        let id = p.partner_order_id().map_err(|e| e.to_string())?;
        let new_id = format!("{}-{run}-{i}", id.as_str());
        let mut p = p.rename(id.as_str(), &new_id);
        let mut fetched = match kind.fetched {
            Some(f) => Some(timed(
                Payload::load(kind.partner, &root.join(f))
                    .map_err(|e| e.to_string())?
                    .rebase(now),
            )?),
            None => None,
        };
        if let Some(spread) = spread {
            let texts: Vec<&serde_json::Value> = std::iter::once(&p.json)
                .chain(fetched.as_ref().map(|f| &f.json))
                .collect();
            if let Some((from, to)) = spread.respread(kind.partner, &texts, fastrand::usize(..)) {
                p = p.rename_exact(&from, &to);
                fetched = fetched.map(|f| f.rename_exact(&from, &to));
            }
        }
        if let Some(order) = fetched {
            let order = order.rename(id.as_str(), &new_id);
            if let Some(sim) = cloud.partners.get(&kind.partner) {
                sim.book.add(&new_id, order.json).await;
            }
        }
        let body = p.body();
        let headers =
            crate::webhooks::sign(kind.partner, &body, cloud.webhook_secret(kind.partner));
        prepared.push(Prepared {
            partner: kind.partner,
            id: new_id,
            body,
            headers,
            copies: kind.copies,
            // A courier's pickup far enough out to leave a hold after preparation is held.
            held: kind.held
                || (matches!(kind.time, Some((_, Pickup::Courier)))
                    && minutes - crate::chaos::plan::S1001_PREP_MINUTES
                        > crate::chaos::plan::MIN_HOLD_MINUTES),
        });
    }
    Ok(prepared)
}

/// Sends one delivery of an order's webhook; it must be accepted.
async fn send(cloud: &LocalCloud, p: &Prepared, ledger: &Mutex<Ledger>) -> Result<(), String> {
    ledger
        .lock()
        .await
        .sent
        .entry(p.id.clone())
        .or_insert((0, Instant::now()))
        .0 += 1;
    match cloud
        .post_webhook(p.partner, p.body.clone(), &p.headers)
        .await
    {
        Ok((status, _)) if status == partners::acknowledgement(p.partner).status => Ok(()),
        Ok((status, body)) => Err(format!("{}: HTTP {status} {body}", p.id)),
        Err(e) => Err(format!("{}: {e}", p.id)),
    }
}

/// Every order as fast as intake answers, `clients` webhooks in flight. Returns webhooks sent.
async fn burst(
    cloud: &Arc<LocalCloud>,
    prepared: Vec<Prepared>,
    clients: usize,
    ledger: &Arc<Mutex<Ledger>>,
) -> Result<usize, String> {
    let gate = Arc::new(Semaphore::new(clients.max(1)));
    let mut tasks = Vec::new();
    for p in prepared.into_iter().map(Arc::new) {
        for _ in 0..p.copies {
            let permit = gate
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| e.to_string())?;
            let (cloud, ledger, p) = (cloud.clone(), ledger.clone(), p.clone());
            tasks.push(tokio::spawn(async move {
                let r = send(&cloud, &p, &ledger).await;
                drop(permit);
                r
            }));
        }
    }
    let webhooks = tasks.len();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(webhooks)
}

/// `clients` clients, each sending an order (all its copies at once) and waiting for its
/// executions to end before the next. Returns webhooks sent.
async fn closed(
    cloud: &Arc<LocalCloud>,
    prepared: Vec<Prepared>,
    clients: usize,
    ledger: &Arc<Mutex<Ledger>>,
    changed: &Arc<Notify>,
    deadline: Instant,
) -> Result<usize, String> {
    let queue = Arc::new(Mutex::new(prepared.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (cloud, ledger, changed, queue) = (
            cloud.clone(),
            ledger.clone(),
            changed.clone(),
            queue.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut webhooks = 0;
            loop {
                let Some(p) = queue.lock().await.next() else {
                    return Ok::<usize, String>(webhooks);
                };
                let sends = (0..p.copies).map(|_| send(&cloud, &p, &ledger));
                for r in futures::future::join_all(sends).await {
                    r?;
                    webhooks += 1;
                }
                loop {
                    let notified = changed.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    let ended = ledger
                        .lock()
                        .await
                        .ended
                        .get(&p.id)
                        .is_some_and(|(e, _)| *e >= p.copies);
                    if ended {
                        break;
                    }
                    if tokio::time::timeout_at(deadline.into(), notified)
                        .await
                        .is_err()
                    {
                        return Err(format!(
                            "{} had not ended when the bench ran out of time",
                            p.id
                        ));
                    }
                }
            }
        }));
    }
    let mut webhooks = 0;
    for t in tasks {
        webhooks += t.await.map_err(|e| e.to_string())??;
    }
    Ok(webhooks)
}

/// Each function's init time, one process at a time: with one process per function and
/// nothing else running, each function's process is killed `runs` times; each restart's time
/// from process start to its first Runtime API poll is measured. Returns, per function, the
/// times in ms (sorted).
pub async fn init_times(
    cloud: &LocalCloud,
    runs: usize,
) -> Result<Vec<(String, Vec<f64>)>, String> {
    let mut out = Vec::new();
    for f in &cloud.app.functions {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let before = cloud.lambda.stats().await[&f.name].init_times_ms.len();
            if cloud.lambda.kill(&f.name).await == 0 {
                return Err(format!("{} has no process to restart", f.name));
            }
            let time = eventually(
                Duration::from_secs(30),
                "the restarted process's first poll",
                || async {
                    let stats = cloud.lambda.stats().await;
                    let all = &stats[&f.name].init_times_ms;
                    (all.len() > before).then(|| all[all.len() - 1])
                },
            )
            .await?;
            times.push(time);
        }
        times.sort_by(f64::total_cmp);
        out.push((f.name.clone(), times));
    }
    Ok(out)
}

mod report;
pub use report::comparison;

#[cfg(test)]
mod tests;
