//! What every function shares: structured logging that honours Lambda's log controls, EMF
//! metrics, the error → `Diagnostic` mapping with stable names, configuration read once from
//! the environment, and the wiring of each use case to real or in-memory adapters.

pub mod apigw;
pub mod config;
pub mod deferred;
pub mod error;
pub mod metrics;
pub mod samples;
pub mod telemetry;
pub mod wiring;

pub use config::{ConfigError, Env};
pub use error::FunctionError;

/// The invocation's deadline as a UTC time.
pub fn deadline(ctx: &lambda_runtime::Context) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(ctx.deadline())
}
