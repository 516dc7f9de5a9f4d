//! `store-status` Lambda: tells the partners a store paused or resumed in the catalogue, as
//! the catalogue has it now.
//!
//! `main` wires the use case once per cold start; [`handler`] translates each invocation.

mod handler;

use lambda_runtime::Error;
use lambda_support::wiring::{self, Backend};
use lambda_support::{Env, pretraffic, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let env = Env::from_process();
    let backend = Backend::from_env(&env).await?;
    let use_case = wiring::store_status(&env, &backend).await?;
    let use_case = &use_case;
    // The reader the pre-traffic check reads this function's samples with: the handler's.
    pretraffic::run(
        pretraffic::reads::<order_events::Envelope<serde_json::Value>>,
        move |event| handler::handle(use_case, event),
    )
    .await
}
