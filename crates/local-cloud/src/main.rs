//! `local-cloud`: the order pipeline on this machine.
//!
//! ```text
//! local-cloud up                 start everything, print the endpoints, show orders' progress
//! local-cloud demo               run the sample orders through it and print their outcomes
//! local-cloud send <file>        sign a partner webhook sample and send it to a running `up`
//! local-cloud status <p> <id>    what became of a partner's order (in a running `up`)
//! local-cloud bench              1,000 mixed orders: throughput, latency, init times, RSS
//! local-cloud chaos              10,000 orders under faults, reconciled from independent records
//! local-cloud peak               a peak through a POS outage against AWS's quotas (scaled)
//! local-cloud capacity           what a rate asks of a region's quotas, from a peak run's demand
//! ```
//!
//! This file only dispatches: the arguments are in [`cli`], each subcommand's body in
//! [`commands`].

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use commands::*;

#[tokio::main]
async fn main() -> ExitCode {
    let level = match std::env::var("LOCAL_CLOUD_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("info") => tracing::Level::INFO,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::WARN,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    local_cloud::install_crypto();
    let cli = Cli::parse();
    let root = root();
    match cli.command {
        Command::Up {
            cloud,
            port,
            admin_port,
        } => up(&root, &cloud, port, admin_port).await,
        Command::Demo { cloud, timeout } => run_demo(&root, &cloud, timeout).await,
        Command::Send {
            file,
            partner,
            verbatim,
            wait,
        } => send(&root, &file, partner, verbatim, wait).await,
        Command::Status {
            order_id: (partner, id),
        } => status(&root, partner, &id).await,
        Command::Replay { from, to } => {
            admin_post(
                &root,
                "replay",
                serde_json::json!({ "from": from, "to": to }),
            )
            .await
        }
        Command::Redrive => admin_post(&root, "redrive", serde_json::json!({})).await,
        Command::Deploy {
            root: release,
            bin_dir,
            minutes_scale,
        } => {
            let release = release.unwrap_or_else(|| root.clone());
            let bin_dir = bin_dir.unwrap_or_else(|| release.join("target/debug"));
            let mut body = serde_json::json!({ "root": release, "binDir": bin_dir });
            if let Some(m) = minutes_scale {
                body["minutesScale"] = serde_json::json!(m);
            }
            admin_post(&root, "deploy", body).await
        }
        drill @ Command::UpgradeDrill { .. } => run_upgrade_drill(&root, drill).await,
        Command::PruneVersions => admin_post(&root, "versions/prune", serde_json::json!({})).await,
        bench @ Command::Bench { .. } => run_bench(&root, bench).await,
        Command::InitTimes { cloud, runs } => init_times(&root, &cloud, runs).await,
        chaos @ Command::Chaos { .. } => run_chaos(&root, chaos).await,
        peak @ Command::Peak { .. } => run_peak(&root, peak).await,
        capacity @ Command::Capacity { .. } => run_capacity(&root, capacity).await,
    }
}
