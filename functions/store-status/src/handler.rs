//! Lambda invocation ⇄ the store-status use case. A catalogue event from the bus (async invoke).

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::PipelineError;
use pipeline::usecases::store_status::{StoreStatusSummary, StoreStatusSync};
use tracing::Instrument as _;

/// Handles one invocation; a failure is retried by Lambda's asynchronous invocation and,
/// past its retries, sent to the function's failures queue.
pub(crate) async fn handle(
    sync: &StoreStatusSync,
    event: LambdaEvent<serde_json::Value>,
) -> Result<StoreStatusSummary, FunctionError> {
    let (raw, ctx) = event.into_parts();
    // Parsed here rather than by the runtime, so a bad input is reported as InvalidInput.
    let input: order_events::Envelope<serde_json::Value> =
        serde_json::from_value(raw).map_err(|e| {
            reported(PipelineError::InvalidInput(format!(
                "store-status input: {e}"
            )))
        })?;
    let span = tracing::info_span!("store_status", detail_type = %input.detail_type, request_id = %ctx.request_id);
    async { sync.handle(&input).await.map_err(reported) }
        .instrument(span)
        .await
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
