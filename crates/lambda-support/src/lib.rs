//! What every function shares: structured logging that honours Lambda's log controls, EMF
//! metrics, the error → `Diagnostic` mapping with stable names, configuration read once from
//! the environment, and the wiring of each use case to real or in-memory adapters.
//!
//! Every function's `main` runs tokio's current-thread runtime: a Lambda execution
//! environment serves one invocation at a time, and at 128 MB it has about a fourteenth of a
//! vCPU (one vCPU at 1,769 MB, AWS Lambda Developer Guide, "Memory and computing power"), so
//! worker threads would only add their start-up (and a read of the cgroup's CPU quota) to every
//! cold start.

pub mod apigw;
mod clients;
pub mod config;
pub mod deferred;
pub mod error;
pub mod metrics;
pub mod pretraffic;
pub mod samples;
pub mod secrets;
pub mod telemetry;
pub mod wiring;

pub use config::{ConfigError, Env};
pub use error::FunctionError;

/// The invocation's deadline as a UTC time.
pub fn deadline(ctx: &lambda_runtime::Context) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(ctx.deadline())
}
