//! Lambda invocation ⇄ the pos use case. Send an order to its store's POS, or void it.

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::PipelineError;
use pipeline::io::PosInput;
use pipeline::io::PosOutput;
use pipeline::usecases::pos::PosSender;
use tracing::Instrument as _;

/// Handles one invocation; errors carry the stable names the workflow matches on.
pub(crate) async fn handle(
    sender: &PosSender,
    event: LambdaEvent<serde_json::Value>,
) -> Result<PosOutput, FunctionError> {
    let (raw, ctx) = event.into_parts();
    // Parsed here rather than by the runtime, so a bad input is reported as InvalidInput.
    let input: PosInput = serde_json::from_value(raw)
        .map_err(|e| reported(PipelineError::InvalidInput(format!("pos input: {e}"))))?;
    let (order_id, correlation_id) = match &input {
        PosInput::Send {
            order,
            correlation_id,
            ..
        }
        | PosInput::Void {
            order,
            correlation_id,
            ..
        } => (order.id.clone(), correlation_id.clone()),
    };
    let span = tracing::info_span!("pos", %order_id, %correlation_id, request_id = %ctx.request_id);
    async { sender.handle(&input).await.map_err(reported) }
        .instrument(span)
        .await
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
