//! `local-cloud bench`: a burst of mixed orders through the whole local pipeline with the
//! simulators at zero latency, then orders per second, p50/p99 order latency (webhook sent →
//! its executions ended), and each function's init time and peak RSS. It prints figures; it
//! asserts nothing.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use order_domain::Partner;
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

use crate::cloud::{LocalCloud, eventually};
use crate::lambda::FunctionStats;
use crate::webhooks::Payload;

/// One kind of order in the mix.
struct Kind {
    partner: Partner,
    sample: &'static str,
    fetched: Option<&'static str>,
    /// A pickup/ready time to set so the order is not held: (pointer, minutes from now).
    time: Option<(&'static str, i64)>,
    /// Deliveries of the same webhook.
    copies: usize,
}

/// The mix: every partner's immediate orders (one fetched on notification), a rejected order
/// and a duplicated one, in proportion.
fn mix() -> Vec<(Kind, u32)> {
    let k = |partner, sample, time, weight| {
        (
            Kind {
                partner,
                sample,
                fetched: None,
                time,
                copies: 1,
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
            Some(("/order/estimated_pickup_time", 5)),
            25,
        ),
        (
            Kind {
                partner: Partner::UberEats,
                sample: "events/partners/ubereats/notification.json",
                fetched: Some("events/partners/ubereats/order.json"),
                time: Some(("/estimated_ready_for_pickup_at", 5)),
                copies: 1,
            },
            20,
        ),
        k(
            Partner::Grubhub,
            "events/partners/grubhub/order.json",
            Some(("/order/fulfillment_info/estimated_pickup_at", 5)),
            15,
        ),
        k(
            Partner::Grubhub,
            "events/partners/grubhub/order-unknown-item.json",
            Some(("/order/fulfillment_info/estimated_pickup_at", 5)),
            5,
        ),
        (
            Kind {
                partner: Partner::ChainApp,
                sample: "events/partners/app/order.json",
                fetched: None,
                time: None,
                copies: 2,
            },
            5,
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
    /// Orders whose executions all ended in time.
    pub completed: usize,
    /// Seconds from the first webhook to the last execution's end.
    pub wall_seconds: f64,
    /// Completed orders per second.
    pub orders_per_second: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Per function.
    pub functions: Vec<(String, FunctionStats)>,
    /// Processes per function.
    pub concurrency: usize,
    /// Webhooks in flight at once.
    pub clients: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sends `orders` orders with `clients` webhooks in flight and measures.
pub async fn run(
    cloud: Arc<LocalCloud>,
    root: &Path,
    orders: usize,
    clients: usize,
    concurrency: usize,
    within: Duration,
) -> Result<Report, String> {
    let mix = mix();
    let total_weight: u32 = mix.iter().map(|(_, w)| w).sum();
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    // Build every payload first, so the measurement is of the pipeline.
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
        let timed = |p: Payload| match kind.time {
            Some((pointer, minutes)) if p.json.pointer(pointer).is_some() => p
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
        let p = p.rename(id.as_str(), &new_id);
        if let Some(f) = kind.fetched {
            let order = timed(
                Payload::load(kind.partner, &root.join(f))
                    .map_err(|e| e.to_string())?
                    .rebase(now),
            )?
            .rename(id.as_str(), &new_id);
            if let Some(sim) = cloud.partners.get(&kind.partner) {
                sim.book.add(&new_id, order.json).await;
            }
        }
        let body = p.body();
        let headers =
            crate::webhooks::sign(kind.partner, &body, cloud.webhook_secret(kind.partner));
        prepared.push((kind.partner, new_id, body, headers, kind.copies));
    }

    // Executions' ends, by partner order id.
    let ended: Arc<Mutex<HashMap<String, (usize, Instant)>>> = Arc::default();
    let mut progress = cloud.sfn.subscribe();
    let ended_w = ended.clone();
    let listener = tokio::spawn(async move {
        loop {
            match progress.recv().await {
                Ok(p) => {
                    let terminal = p.what == "SUCCEEDED"
                        || p.what.starts_with("FAILED")
                        || p.what == "TIMED_OUT";
                    if let (true, Some(order)) = (terminal, p.order) {
                        let mut m = ended_w.lock().await;
                        let e = m.entry(order).or_insert((0, Instant::now()));
                        e.0 += 1;
                        e.1 = Instant::now();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("bench missed {n} progress notices")
                }
                Err(_) => break,
            }
        }
    });

    let sent: Arc<Mutex<HashMap<String, (usize, Instant)>>> = Arc::default();
    let gate = Arc::new(Semaphore::new(clients.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (partner, id, body, headers, copies) in prepared {
        for _ in 0..copies {
            let permit = gate
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| e.to_string())?;
            let (cloud, sent, id, body, headers) = (
                cloud.clone(),
                sent.clone(),
                id.clone(),
                body.clone(),
                headers.clone(),
            );
            tasks.push(tokio::spawn(async move {
                sent.lock()
                    .await
                    .entry(id.clone())
                    .or_insert((0, Instant::now()))
                    .0 += 1;
                let r = cloud.post_webhook(partner, body, &headers).await;
                drop(permit);
                match r {
                    Ok((202, _)) => Ok(()),
                    Ok((status, body)) => Err(format!("{id}: HTTP {status} {body}")),
                    Err(e) => Err(format!("{id}: {e}")),
                }
            }));
        }
    }
    let mut webhooks = 0;
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
        webhooks += 1;
    }
    let sent = sent.lock().await.clone();
    // Orders still running after `within` are left out of the figures (`completed` says so).
    let _ = eventually(within, "every order's executions to end", || async {
        let m = ended.lock().await;
        sent.iter()
            .all(|(id, (n, _))| m.get(id).is_some_and(|(e, _)| e >= n))
            .then_some(())
    })
    .await;
    listener.abort();
    let ended = ended.lock().await.clone();
    let mut latencies: Vec<f64> = Vec::new();
    let mut last = started;
    for (id, (n, at)) in &sent {
        if let Some((_, end)) = ended.get(id).filter(|(e, _)| e >= n) {
            latencies.push(end.duration_since(*at).as_secs_f64() * 1000.0);
            last = last.max(*end);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let wall = last.duration_since(started).as_secs_f64();
    let stats = cloud.lambda.stats().await;
    Ok(Report {
        orders,
        webhooks,
        completed: latencies.len(),
        wall_seconds: wall,
        orders_per_second: if wall > 0.0 {
            latencies.len() as f64 / wall
        } else {
            0.0
        },
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        functions: stats.into_iter().collect(),
        concurrency,
        clients,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} orders ({} webhooks, {} clients, {} processes per function): {} completed in {:.1} s",
            self.orders,
            self.webhooks,
            self.clients,
            self.concurrency,
            self.completed,
            self.wall_seconds
        )?;
        writeln!(f, "throughput  {:.1} orders/s", self.orders_per_second)?;
        writeln!(
            f,
            "latency     p50 {:.0} ms   p99 {:.0} ms   max {:.0} ms",
            self.p50_ms, self.p99_ms, self.max_ms
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<28} {:>12} {:>12} {:>12} {:>9}",
            "function", "init (ms)", "peak RSS", "invocations", "restarts"
        )?;
        for (name, s) in &self.functions {
            let mut init = s.init_times_ms.clone();
            init.sort_by(f64::total_cmp);
            let median = percentile(&init, 50.0);
            writeln!(
                f,
                "{:<28} {:>12.1} {:>9.1} MB {:>12} {:>9}",
                name,
                median,
                s.peak_rss_kb as f64 / 1024.0,
                s.invocations,
                s.restarts
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn the_mix_uses_real_samples() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (k, _) in mix() {
            let p = Payload::load(k.partner, &root.join(k.sample)).unwrap();
            p.partner_order_id().unwrap();
            if let Some((pointer, _)) = k.time {
                let fetched = k
                    .fetched
                    .map(|f| Payload::load(k.partner, &root.join(f)).unwrap());
                let found = p.json.pointer(pointer).is_some()
                    || fetched.is_some_and(|f| f.json.pointer(pointer).is_some());
                assert!(found, "{} has {pointer}", k.sample);
            }
        }
    }
}
