//! `local-cloud bench` and `init-times`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use local_cloud::bench::Mode;
use local_cloud::topology::Topology;

use crate::cli::{CloudArgs, Command};

use super::*;

#[allow(clippy::too_many_arguments)]
pub(crate) async fn bench(
    root: &Path,
    a: &CloudArgs,
    mut plan: local_cloud::bench::Plan,
    json: bool,
    topologies: &[Topology],
    (partner_ms, pos_ms): (u64, u64),
) -> ExitCode {
    let (orders, clients) = (plan.orders, plan.clients);
    let mut reports = Vec::new();
    for topology in topologies {
        let mut opts = options(root, a);
        opts.topology = *topology;
        // With partner and POS latency, a function's processes spend the run waiting on them:
        // as many per function as clients, so orders do not queue for a process (Lambda would
        // run them at once), which would inflate latency and the Express workflow's billed
        // duration with a local limit.
        if partner_ms > 0 || pos_ms > 0 {
            opts.concurrency = opts.concurrency.max(clients);
        }
        plan.concurrency = opts.concurrency;
        let cloud = match start(opts).await {
            Ok(c) => c,
            Err(code) => return code,
        };
        if let Some(spread) = &plan.spread {
            let started = std::time::Instant::now();
            match local_cloud::catalogue::load(&cloud, &spread.catalogue.to_string()).await {
                Ok(l) => println!(
                    "loaded a synthetic catalogue: {} stores, {} partner store ids, {} menus in {:.1} s",
                    l.stores,
                    l.aliases,
                    l.menus,
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => {
                    eprintln!("local-cloud: loading the synthetic catalogue: {e}");
                    cloud.stop().await;
                    return ExitCode::FAILURE;
                }
            }
        }
        for p in cloud.partners.values() {
            p.sim
                .set_faults(local_cloud::sim::Faults {
                    latency_ms: partner_ms,
                    ..Default::default()
                })
                .await;
        }
        cloud
            .pos
            .set_faults(local_cloud::sim::Faults {
                latency_ms: pos_ms,
                ..Default::default()
            })
            .await;
        println!(
            "sending {orders} mixed orders ({topology} topology; partners answer in {partner_ms} ms, the POS in {pos_ms} ms) …"
        );
        let report = local_cloud::bench::run(cloud.clone(), root, &plan).await;
        cloud.stop().await;
        match report {
            Ok(r) => {
                print!("{r}");
                if json {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                }
                println!();
                reports.push(r);
            }
            Err(e) => {
                eprintln!("local-cloud: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if reports.len() > 1 {
        print!("{}", local_cloud::bench::comparison(&reports));
    }
    ExitCode::SUCCESS
}

pub(crate) async fn init_times(root: &Path, a: &CloudArgs, runs: usize) -> ExitCode {
    let mut opts = options(root, a);
    opts.concurrency = 1;
    let cloud = match start(opts).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let measured = local_cloud::bench::init_times(&cloud, runs.max(1)).await;
    cloud.stop().await;
    match measured {
        Ok(all) => {
            println!(
                "init time, one process at a time ({runs} restarts each; process start to first poll):"
            );
            println!(
                "{:<28} {:>10} {:>10} {:>10}",
                "function", "median ms", "min ms", "max ms"
            );
            for (name, t) in all {
                println!(
                    "{name:<28} {:>10.1} {:>10.1} {:>10.1}",
                    t[t.len() / 2],
                    t[0],
                    t[t.len() - 1]
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("local-cloud: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `run_bench`'s arguments, checked, and the run.
pub(crate) async fn run_bench(root: &Path, command: Command) -> ExitCode {
    let Command::Bench {
        cloud,
        orders,
        clients,
        burst,
        json,
        topology,
        partner_latency_ms,
        pos_latency_ms,
        stores,
        menus,
    } = command
    else {
        return ExitCode::FAILURE;
    };
    let mode = if burst { Mode::Burst } else { Mode::Closed };
    let spread = if stores == 0 {
        None
    } else {
        let base = std::fs::read_to_string(root.join(local_cloud::catalogue::REPOSITORY_CATALOGUE))
            .map_err(|e| e.to_string())
            .and_then(|base| local_cloud::catalogue::synthetic::generate(&base, stores, menus));
        match base {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("local-cloud: --stores {stores} --menus {menus}: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    if orders == 0 || clients == 0 {
        eprintln!("local-cloud: --orders and --clients must be at least 1");
        return ExitCode::FAILURE;
    }
    let topologies = match topology.as_str() {
        "both" => vec![Topology::StandardOnly, Topology::Split],
        one => match one.parse::<Topology>() {
            Ok(t) => vec![t],
            Err(_) => {
                eprintln!("local-cloud: --topology {one:?}: expected split, standard-only or both");
                return ExitCode::FAILURE;
            }
        },
    };
    let latency = (partner_latency_ms, pos_latency_ms);
    let plan = local_cloud::bench::Plan {
        orders,
        clients,
        concurrency: 0,
        mode,
        within: Duration::from_secs(900),
        spread,
    };
    bench(root, &cloud, plan, json, &topologies, latency).await
}
