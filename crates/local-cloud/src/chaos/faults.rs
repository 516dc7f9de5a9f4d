//! What a chaos run does to the cloud besides the simulators' faults: kills function processes
//! mid-invocation, and makes DynamoDB refuse requests and restart. Each keeps its own record
//! (what the verdict justifies failures by).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;

use super::{Ctx, Settings, epoch_now};

/// The killer's own record: kills by function, and each kill's time and the payloads of the
/// invocations it interrupted.
#[derive(Debug, Clone, Default)]
pub struct KillLog {
    /// Processes killed mid-invocation, by function.
    pub counts: BTreeMap<String, usize>,
    /// Each kill: when (epoch seconds), the function, the payloads it interrupted.
    pub kills: Vec<(f64, String, Vec<Value>)>,
}

/// Kills a busy process of each function in turn, spread over the orders.
pub(super) async fn kill_loop(
    ctx: Arc<Ctx>,
    s: Settings,
    seed: u64,
    done: Arc<AtomicBool>,
    kills: Arc<Mutex<KillLog>>,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut functions: Vec<String> = ctx
        .cloud
        .app
        .functions
        .iter()
        .map(|f| f.name.clone())
        .collect();
    rng.shuffle(&mut functions);
    let target = s.kills(functions.len());
    if target == 0 {
        return;
    }
    let every = (s.orders / target.max(1)).max(1);
    let mut next_at = every;
    while !done.load(Ordering::Relaxed) {
        if ctx.started_orders.load(Ordering::Relaxed) < next_at {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        next_at += every;
        // The functions the orders have used so far, those killed least first (a function
        // that is hard to catch busy, intake's few milliseconds, is tried again each time
        // until it is caught); the first caught busy within 5 s is killed.
        let stats = ctx.cloud.lambda.stats().await;
        let counts = kills.lock().await.counts.clone();
        let mut turn: Vec<&String> = functions
            .iter()
            .filter(|f| stats.get(*f).is_some_and(|s| s.invocations > 0))
            .collect();
        turn.sort_by_key(|f| counts.get(*f).copied().unwrap_or(0));
        for name in turn {
            let caught = crate::cloud::eventually(Duration::from_secs(5), "busy", || async {
                ctx.cloud.lambda.busy(name).await.then_some(())
            })
            .await
            .is_ok();
            if caught {
                // Somewhere inside the invocation, not always at its start.
                tokio::time::sleep(Duration::from_millis(rng.u64(0..30))).await;
                let at = epoch_now();
                let killed = ctx.cloud.lambda.kill_recording(name).await;
                // Counted only when it interrupted an invocation: a process that had just
                // answered was killed idle.
                if !killed.invocations.is_empty() {
                    let mut log = kills.lock().await;
                    *log.counts.entry(name.clone()).or_default() += 1;
                    log.kills.push((at, name.clone(), killed.invocations));
                    break;
                }
            }
            if done.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

/// The DynamoDB refusal windows a run opens.
pub const REFUSAL_WINDOWS: usize = 3;

/// Three windows of refused DynamoDB requests, at a quarter, half and three quarters of the
/// orders, and one crash and restart of DynamoDB Local at two thirds. Returns when the crash
/// began (epoch seconds) and how long the restart took (NaN if it failed).
pub(super) async fn dynamodb_storms(
    ctx: Arc<Ctx>,
    s: Settings,
    done: Arc<AtomicBool>,
) -> Option<(f64, f64)> {
    if !s.disruptions {
        return None;
    }
    let mut marks: Vec<(usize, &str)> = vec![
        (s.orders / 4, "throttle"),
        (s.orders / 2, "throttle"),
        (s.orders * 3 / 4, "throttle"),
    ];
    if s.crash_dynamodb {
        marks.push((s.orders * 2 / 3, "crash"));
    }
    marks.sort();
    let mut restart = None;
    for (at, what) in marks {
        while ctx.started_orders.load(Ordering::Relaxed) < at.max(1) {
            if done.load(Ordering::Relaxed) {
                return restart;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match what {
            "crash" => {
                let at = epoch_now();
                match ctx.cloud.crash_dynamodb().await {
                    Ok(took) => restart = Some((at, took.as_secs_f64())),
                    Err(e) => {
                        tracing::error!("chaos: DynamoDB Local was not restarted: {e}");
                        restart = Some((at, f64::NAN));
                    }
                }
            }
            _ => ctx
                .cloud
                .dynamo_throttle
                .refuse_for(Duration::from_secs(3), 0.3),
        }
    }
    restart
}
