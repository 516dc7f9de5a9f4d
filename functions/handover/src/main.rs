//! `handover` Lambda: takes the handover queue's messages (an SQS event source mapping with
//! partial batch responses) and starts the Standard workflow for each.
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
    let use_case = wiring::handover(&env, &backend).await?;
    let use_case = &use_case;
    // The reader the pre-traffic check reads this function's samples with: the handler's.
    pretraffic::run(
        pretraffic::reads::<aws_lambda_events::sqs::SqsEvent>,
        move |event| handler::handle(use_case, event),
    )
    .await
}
