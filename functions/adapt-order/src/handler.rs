//! Lambda invocation ⇄ the adapt-order use case. The workflow's input → the canonical order.

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::PipelineError;
use pipeline::io::AdaptInput;
use pipeline::io::AdaptOutput;
use pipeline::usecases::adapt::Adapt;
use tracing::Instrument as _;

/// Handles one invocation; errors carry the stable names the workflow matches on.
pub(crate) async fn handle(
    adapt: &Adapt,
    event: LambdaEvent<serde_json::Value>,
) -> Result<AdaptOutput, FunctionError> {
    let (raw, ctx) = event.into_parts();
    // Parsed here rather than by the runtime, so a bad input is reported as InvalidInput.
    let input: AdaptInput = serde_json::from_value(raw).map_err(|e| {
        reported(PipelineError::InvalidInput(format!(
            "adapt-order input: {e}"
        )))
    })?;
    let span = tracing::info_span!("adapt", correlation_id = %input.received.metadata.correlation_id, partner = %input.received.data.partner, request_id = %ctx.request_id);
    async { adapt.handle(input).await.map_err(reported) }
        .instrument(span)
        .await
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
