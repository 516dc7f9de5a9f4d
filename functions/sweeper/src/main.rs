//! `sweeper` Lambda: run by an EventBridge schedule, it ends the orders left open past their
//! deadline and grace (`pipeline::usecases::sweep`).
//!
//! `main` wires the use case once per cold start; [`handler`] translates each invocation.

mod handler;

use lambda_runtime::{Error, service_fn};
use lambda_support::wiring::{self, Backend};
use lambda_support::{Env, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let env = Env::from_process();
    let backend = Backend::from_env(&env).await?;
    let use_case = wiring::sweeper(&env, &backend).await?;
    let use_case = &use_case;
    lambda_runtime::run(service_fn(move |event| handler::handle(use_case, event))).await
}
