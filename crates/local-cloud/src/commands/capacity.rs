//! `local-cloud capacity`: what a rate asks of a region's quotas, from a peak run's demand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::Command;

use super::*;

/// Where a peak run leaves the demand it measured, for `capacity`.
pub(crate) fn demand_path(root: &Path) -> PathBuf {
    root.join("target/capacity/demand.json")
}

pub(crate) fn save_demand(
    root: &Path,
    demand: &local_cloud::capacity::Demand,
) -> Result<(), String> {
    let path = demand_path(root);
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(demand)?)
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn load_demand(root: &Path) -> Option<local_cloud::capacity::Demand> {
    let bytes = std::fs::read(demand_path(root)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The capacity table at `rate` in `region` and, when that is one of Step Functions' large
/// regions, in a smaller one too (what binds first differs).
pub(crate) fn print_capacity(
    demand: &local_cloud::capacity::Demand,
    region: &str,
    rate: f64,
    json: bool,
) -> bool {
    let mut regions = vec![region.to_owned()];
    if local_aws_core::quota::STEP_FUNCTIONS_LARGE.contains(&region) {
        regions.push("eu-central-1".to_owned());
    }
    for r in &regions {
        match local_cloud::capacity::plan(demand, r, rate) {
            Ok(rows) => {
                print!("{}", local_cloud::capacity::table(r, rate, demand, &rows));
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&rows).unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                eprintln!("local-cloud: {e}");
                return false;
            }
        }
    }
    true
}

/// `run_capacity`'s arguments, checked, and the run.
pub(crate) async fn run_capacity(root: &Path, command: Command) -> ExitCode {
    let Command::Capacity {
        mut cloud,
        rate,
        measure,
        json,
    } = command
    else {
        return ExitCode::FAILURE;
    };
    if measure || load_demand(root).is_none() {
        // The peak CI's profile without its outage: a minute of the peak's mix at a
        // 250th of the peak against quotas divided by 250.
        let plan = local_cloud::peak::PeakPlan {
            rate: 500.0,
            minutes: 1.0,
            outage_at: 0.0,
            outage_minutes: 0.0,
            quota_scale: 250.0,
        };
        cloud.quota_scale = plan.quota_scale;
        cloud.no_quotas = false;
        let seed = new_seed();
        println!(
            "capacity: measuring what an order takes: {}",
            plan.describe(&cloud.region, seed)
        );
        let code = reconciled(root, &cloud, plan.settings(seed), "peak", false, None).await;
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    let Some(demand) = load_demand(root) else {
        eprintln!(
            "local-cloud: no demand in {} (run `make peak-ci` or `capacity --measure`)",
            demand_path(root).display()
        );
        return ExitCode::FAILURE;
    };
    if print_capacity(&demand, &cloud.region, rate, json) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
