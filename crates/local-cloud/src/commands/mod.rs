//! Each subcommand's body, one module per subcommand (or pair), and what they share: the repository root,
//! the cloud's options from the arguments, starting it, and its endpoints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use local_cloud::clock::TimeScale;
use local_cloud::cloud::{Endpoints, LocalCloud, Options};

use crate::cli::CloudArgs;

mod admin;
mod bench;
mod capacity;
mod demo;
mod drill;
mod orders;
mod reconciled;
mod up;

pub(crate) use admin::*;
pub(crate) use bench::*;
pub(crate) use capacity::*;
pub(crate) use demo::*;
pub(crate) use drill::*;
pub(crate) use orders::*;
pub(crate) use reconciled::*;
pub(crate) use up::*;

pub(crate) fn root() -> PathBuf {
    if let Ok(r) = std::env::var("LOCAL_CLOUD_ROOT") {
        return PathBuf::from(r);
    }
    let mut dir = std::env::current_dir().unwrap_or_default();
    loop {
        if dir.join("infra/template.yaml").is_file() {
            return dir;
        }
        if !dir.pop() {
            return std::env::current_dir().unwrap_or_default();
        }
    }
}

pub(crate) fn options(root: &Path, a: &CloudArgs) -> Options {
    let mut o = Options::for_repo(root);
    o.time_scale = TimeScale::new(a.time_scale);
    o.concurrency = a.concurrency.max(1);
    o.concurrency_of = a.concurrency_of.iter().cloned().collect();
    o.persist = a.persist;
    o.dynamodb_endpoint = a.dynamodb_endpoint.clone();
    o.iam = !a.no_iam;
    o.account_concurrency = a.account_concurrency.max(1);
    o.parameter_overrides = a.parameter_overrides.iter().cloned().collect();
    o.quotas = Arc::new(if a.no_quotas {
        local_aws_core::quota::Quotas::unlimited()
    } else {
        // Both were checked when the arguments were parsed.
        local_aws_core::quota::Quotas::aws_defaults(&a.region, a.quota_scale)
            .unwrap_or_else(|_| local_aws_core::quota::Quotas::unlimited())
    });
    if a.release {
        o.bin_dir = root.join("target/release");
    }
    o
}

pub(crate) fn state_file(root: &Path) -> PathBuf {
    root.join(".local/cloud.json")
}

pub(crate) async fn start_with(opts: Options, a: &CloudArgs) -> Result<Arc<LocalCloud>, ExitCode> {
    let cloud = start(opts).await?;
    cloud.bus.set_duplicate_rate(a.bus_duplicate_rate);
    Ok(cloud)
}

pub(crate) async fn start(opts: Options) -> Result<Arc<LocalCloud>, ExitCode> {
    eprintln!(
        "starting the local cloud from {} …",
        opts.template.display()
    );
    LocalCloud::start(opts).await.map_err(|e| {
        eprintln!("local-cloud: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            eprintln!("  caused by: {s}");
            source = s.source();
        }
        ExitCode::FAILURE
    })
}

pub(crate) fn print_endpoints(e: &Endpoints) {
    println!(
        "HTTP API        {}/webhooks/{{ubereats,doordash,grubhub,app}}",
        e.api
    );
    println!(
        "admin           {}  (/orders/<partner>/<id>, /executions, /events, /dead-letters, /stats)",
        e.admin
    );
    println!("EventBridge     {}", e.eventbridge);
    println!("Step Functions  {}", e.sfn);
    println!("DynamoDB        {}", e.dynamodb);
    println!("Secrets Manager {}", e.secrets_manager);
    for (p, url) in &e.partners {
        println!("{:<15} {url}  (simulator; /_sim/calls, /_sim/faults)", p);
    }
    println!(
        "{:<15} {}  (simulator; /_sim/calls, /_sim/faults)",
        "pos", e.pos
    );
}

pub(crate) fn new_seed() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or_default() % 1_000_000_007
}
