//! The whole order pipeline on one machine, with no AWS account and no Docker, from the same
//! `infra/template.yaml` and workflow definition that deploy to AWS and with the real function
//! binaries:
//!
//! * [`apigw`]: the template's HTTP API routes, as payload-v2 events to intake;
//! * [`dynamodb`]: AWS's DynamoDB Local, started and stopped here, with the template's tables,
//!   reached through [`dynamodb_proxy`];
//! * [`iam`]: the template's roles and resource policies, enforced on every call;
//! * [`lambda`]: each function's binary as processes behind a Lambda Runtime API;
//! * [`eventbridge`]: the `eventbridge-local` crate: PutEvents, the template's rules (matched
//!   by the `event-pattern` crate), delivery with retries and dead letters, archive and replay;
//!   [`bus_targets`] is what its rules reach here;
//! * [`sfn`]: the `step-functions-local` crate: an ASL interpreter and the Step Functions API;
//! * [`secrets`]: Secrets Manager with the development secrets;
//! * [`sim`]: partner and POS simulators with fault injection;
//! * [`cloud`]: all of it started together; [`demo`] and [`bench`] drive it.

pub mod admin;
pub mod apigw;
pub mod app;
pub mod bench;
pub mod bus_targets;
pub mod capacity;
pub mod catalogue;
pub mod chaos;
pub mod cloud;
pub mod demo;
pub mod deploy;
pub mod dynamodb;
pub mod dynamodb_proxy;
pub mod iam;
pub mod lambda;
pub mod meter;
pub mod peak;
pub mod queues;
pub mod quota_report;
pub mod sim;
pub mod topology;
pub mod webhooks;

pub use cloud::{LocalCloud, Options};
pub use eventbridge_local as eventbridge;
pub use local_aws_core::{aws_json, clock, seeded};
pub use step_functions_local as sfn;

/// Makes rustls use ring (the workspace's one crypto provider) before any HTTP client is built.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain HTTP client for loopback calls (never proxied).
pub fn loopback_client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// Kills `pid` once this process is gone, however it goes (even by SIGKILL), so no JVM is
/// left behind.
pub fn watchdog(pid: u32) {
    let me = std::process::id();
    let script =
        format!("while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null");
    let _ = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
