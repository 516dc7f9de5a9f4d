//! Lambda invocation ⇄ the hold-order use case. Store a held order's task token, or release it when its hold times out.

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::PipelineError;
use pipeline::io::HoldInput;
use pipeline::io::HoldOutput;
use pipeline::usecases::hold::HoldKeeper;
use tracing::Instrument as _;

/// Handles one invocation; errors carry the stable names the workflow matches on.
pub(crate) async fn handle(
    keeper: &HoldKeeper,
    event: LambdaEvent<serde_json::Value>,
) -> Result<HoldOutput, FunctionError> {
    let (raw, ctx) = event.into_parts();
    // Parsed here rather than by the runtime, so a bad input is reported as InvalidInput.
    let input: HoldInput = serde_json::from_value(raw).map_err(|e| {
        reported(PipelineError::InvalidInput(format!(
            "hold-order input: {e}"
        )))
    })?;
    let (order_id, correlation_id) = match &input {
        HoldInput::Hold {
            order_id,
            correlation_id,
            ..
        }
        | HoldInput::Expire {
            order_id,
            correlation_id,
            ..
        } => (order_id.clone(), correlation_id.clone()),
    };
    let span =
        tracing::info_span!("hold", %order_id, %correlation_id, request_id = %ctx.request_id);
    async { keeper.handle(&input).await.map_err(reported) }
        .instrument(span)
        .await
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
