//! `catalog-admin` Lambda: the catalogue admin route of the HTTP API (IAM-authorised): the
//! operators' changes to stores and menus, made and announced on the order bus.
//!
//! `main` wires the use case once per cold start; [`handler`] translates each request.

mod handler;

use lambda_runtime::Error;
use lambda_support::wiring::{self, Backend};
use lambda_support::{Env, pretraffic, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let env = Env::from_process();
    let backend = Backend::from_env(&env).await?;
    let use_case = wiring::catalog_admin(&env, &backend).await?;
    let use_case = &use_case;
    // The reader the pre-traffic check reads this function's samples with: the handler's.
    pretraffic::run(
        pretraffic::reads::<aws_lambda_events::apigw::ApiGatewayV2httpRequest>,
        move |event| handler::handle(use_case, event),
    )
    .await
}
