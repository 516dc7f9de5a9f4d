//! `local-cloud chaos` and `peak`: runs reconciled order by order.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{CloudArgs, Command};

use super::*;

/// A run reconciled order by order (`chaos`, `peak`): its own stage and state (on disk when
/// DynamoDB Local is to be killed), the report printed, and the exit status the verdict's.
pub(crate) async fn reconciled(
    root: &Path,
    a: &CloudArgs,
    settings: local_cloud::chaos::Settings,
    stage: &str,
    json: bool,
    capacity_at: Option<f64>,
) -> ExitCode {
    let seed = settings.seed;
    let mut opts = options(root, a);
    opts.stage = stage.to_owned();
    if let Some(minutes) = settings.sweep_grace_minutes {
        opts.parameter_overrides
            .insert("SweepGraceMinutes".to_owned(), minutes.to_string());
    }
    if let Some(seconds) = settings.pos_pause_after_seconds {
        opts.parameter_overrides
            .insert("PosPauseAfterSeconds".to_owned(), seconds.to_string());
    }
    opts.state_dir = root.join(format!("target/local-cloud-{stage}/{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&opts.state_dir);
    opts.persist = settings.crash_dynamodb || opts.persist;
    let state_dir = opts.state_dir.clone();
    let cloud = match start(opts).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let report = local_cloud::chaos::run(cloud.clone(), root, &settings).await;
    cloud.stop().await;
    // A run that broke a promise keeps its functions' logs and DynamoDB's data for the
    // post-mortem; a clean one leaves nothing behind.
    let broken = report.as_ref().map_or(true, |r| !r.violations.is_empty());
    if broken {
        eprintln!(
            "local-cloud: the run's logs and data are kept in {}",
            state_dir.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&state_dir);
    }
    match report {
        Ok(r) => {
            print!("{r}");
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            }
            if stage == "peak"
                && let Err(e) = save_demand(root, &r.demand)
            {
                eprintln!("local-cloud: the demand could not be kept for `capacity`: {e}");
            }
            if let Some(rate) = capacity_at {
                print_capacity(&r.demand, &a.region, rate, false);
            }
            if r.dynamodb_restart_seconds.is_some_and(f64::is_nan) {
                eprintln!(
                    "local-cloud: DynamoDB Local could not be killed and restarted (see the log above)"
                );
                ExitCode::FAILURE
            } else if r.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "local-cloud: {} broken promises; repeat the plan with --seed {seed}",
                    r.violations.len()
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("local-cloud: the {stage} run could not finish: {e} (seed {seed})");
            ExitCode::FAILURE
        }
    }
}

/// `run_chaos`'s arguments, checked, and the run.
pub(crate) async fn run_chaos(root: &Path, command: Command) -> ExitCode {
    let Command::Chaos {
        cloud,
        orders,
        seed,
        in_flight,
        fault_rate,
        no_dynamodb_crash,
        json,
    } = command
    else {
        return ExitCode::FAILURE;
    };
    let seed = seed.unwrap_or_else(new_seed);
    let mut settings = local_cloud::chaos::Settings::new(orders, seed);
    settings.in_flight = in_flight;
    settings.fault_rate = fault_rate;
    settings.crash_dynamodb = !no_dynamodb_crash && cloud.dynamodb_endpoint.is_none();
    println!(
        "chaos: {orders} orders, seed {seed}, {in_flight} in flight, {:.0} % of partner and POS calls failing …",
        fault_rate * 100.0
    );
    reconciled(root, &cloud, settings, "chaos", json, None).await
}

/// `run_peak`'s arguments, checked, and the run.
pub(crate) async fn run_peak(root: &Path, command: Command) -> ExitCode {
    let Command::Peak {
        cloud,
        rate,
        minutes,
        outage_at,
        outage_minutes,
        seed,
        json,
    } = command
    else {
        return ExitCode::FAILURE;
    };
    let seed = seed.unwrap_or_else(new_seed);
    let plan = local_cloud::peak::PeakPlan {
        rate,
        minutes,
        outage_at,
        outage_minutes,
        quota_scale: if cloud.no_quotas {
            1.0
        } else {
            cloud.quota_scale
        },
    };
    println!("{}", plan.describe(&cloud.region, seed));
    reconciled(root, &cloud, plan.settings(seed), "peak", json, Some(rate)).await
}
