//! `local-cloud upgrade-drill`: a release deployed over the previous one while orders are held.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use local_cloud::deploy::Release;
use local_cloud::deploy::drill::{DrillPlan, crossings, deploys};

use crate::cli::Command;

use super::*;

/// The drill's arguments, checked, and the drill: the previous release started, the chaos mix
/// sent, the deploys made meanwhile, then every order reconciled and every execution's
/// history read. Exits non-zero on a broken promise, a good release rolled back, a broken
/// one not rolled back, an execution calling a function by version, or no execution across a
/// deploy.
pub(crate) async fn run_upgrade_drill(root: &Path, command: Command) -> ExitCode {
    let Command::UpgradeDrill {
        cloud: a,
        from,
        from_bin,
        orders,
        seed,
        broken,
        deploy_after,
        minutes_scale,
    } = command
    else {
        return ExitCode::FAILURE;
    };
    let seed = seed.unwrap_or_else(new_seed);
    // The previous release's template (its definitions beside it) and build; this
    // checkout's tools, development secrets, catalogue and samples.
    let mut opts = options(root, &a);
    opts.template = from.join("infra/template.yaml");
    opts.bin_dir = from_bin.unwrap_or_else(|| from.join("target/debug"));
    opts.stage = "drill".to_owned();
    opts.state_dir = root.join(format!("target/local-cloud-drill/{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&opts.state_dir);
    let state_dir = opts.state_dir.clone();
    let release = Release {
        root: root.to_owned(),
        bin_dir: if a.release {
            root.join("target/release")
        } else {
            root.join("target/debug")
        },
    };
    println!(
        "upgrade drill: {orders} orders on the release in {} (build {}), seed {seed}; {} deployed over it after {deploy_after} s, then a build whose {broken} fails every call …",
        from.display(),
        opts.bin_dir.display(),
        release.root.display(),
    );
    let cloud = match start(opts).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    // What this release writes, read by the running release's readers first.
    let readers = local_cloud::deploy::drill::previous_readers(&cloud, root).await;
    let mut settings = local_cloud::chaos::Settings::new(orders, seed);
    settings.fault_rate = 0.0;
    settings.duplicate_rate = 0.0;
    settings.crash_dynamodb = false;
    settings.disruptions = false;
    let plan = DrillPlan {
        release,
        broken: broken.clone(),
        broken_dir: state_dir.join("broken-build"),
        deploy_after: Duration::from_secs_f64(deploy_after),
        minutes_scale,
    };
    let deploying = tokio::spawn(deploys(cloud.clone(), plan));
    let report = local_cloud::chaos::run(cloud.clone(), root, &settings).await;
    let deployed = match deploying.await {
        Ok(d) => d,
        Err(e) => Err(e.to_string()),
    };
    let published: Vec<(u32, f64)> = deployed
        .as_ref()
        .map(|d| {
            vec![
                (d.good.version, d.good.published_at),
                (d.broken.version, d.broken.published_at),
            ]
        })
        .unwrap_or_default();
    let kept = crossings(&cloud, &published).await;
    let replay = local_cloud::deploy::drill::replay_archive(&cloud, Duration::from_secs(300)).await;
    let pruned = local_cloud::deploy::prune::prune(&cloud).await;
    cloud.stop().await;

    let mut failures = Vec::new();
    match &readers {
        Ok(r) => {
            println!(
                "readers     the previous release read {} samples of what this release writes; refused {}",
                r.read,
                r.refused.len()
            );
            for why in &r.refused {
                println!("  {why}");
            }
            if !r.refused.is_empty() || r.read == 0 {
                failures.push(format!(
                    "the previous release's readers refused {} of this release's samples",
                    r.refused.len()
                ));
            }
        }
        Err(e) => failures.push(format!("the previous release's readers: {e}")),
    }
    match &report {
        Ok(r) => {
            print!("{r}");
            if !r.violations.is_empty() {
                failures.push(format!("{} broken promises", r.violations.len()));
            }
        }
        Err(e) => failures.push(format!("the run could not finish: {e}")),
    }
    match &deployed {
        Ok(d) => {
            println!("deploy      the new release: {}", d.good);
            println!("deploy      the broken build ({broken}): {}", d.broken);
            if d.good.rolled_back.is_some() {
                failures.push("the new release was rolled back".to_owned());
            }
            if d.broken.rolled_back.is_none() {
                failures.push(format!(
                    "the build whose {broken} fails every call was not rolled back"
                ));
            }
        }
        Err(e) => failures.push(format!("a deploy could not be made: {e}")),
    }
    println!(
        "versions    executions by the workflow version they started on: {:?}; {} were running when a deploy published a newer one",
        kept.by_version, kept.across
    );
    for p in &kept.pinned {
        println!("  {p}");
    }
    if !kept.pinned.is_empty() {
        failures.push(format!(
            "{} executions called a function by version, where a rollback cannot reach them",
            kept.pinned.len()
        ));
    }
    match replay {
        Ok((events, pos, answers)) => {
            println!(
                "replay      the whole archive ({events} events of both releases) into the new release: {pos} new POS orders, {answers} new partner answers"
            );
            if pos != 0 || answers != 0 {
                failures.push(
                    "the archive's replay changed what the POS or a partner holds".to_owned(),
                );
            }
        }
        Err(e) => failures.push(format!("the archive's replay did not settle: {e}")),
    }
    println!("prune       {pruned}");
    if let Ok(d) = &deployed {
        // After the run nothing runs: every version the aliases left goes, the broken
        // build's first.
        let broken_gone = pruned.functions.iter().any(|(_, v)| *v == d.broken.version);
        if !broken_gone || !pruned.kept.is_empty() {
            failures.push("the prune after the run kept a version nothing can call".to_owned());
        }
    }
    if kept.across == 0 {
        failures.push(
            "no execution ran across a deploy: the drill did not test one (send more orders or deploy sooner)"
                .to_owned(),
        );
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&state_dir);
        println!("upgrade drill: passed");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "local-cloud: the upgrade drill failed: {} (seed {seed}; logs kept in {})",
            failures.join("; "),
            state_dir.display()
        );
        ExitCode::FAILURE
    }
}
