//! Lambda invocation ⇄ the release-order use case. A courier or cancellation event from the bus (async invoke).

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::PipelineError;
use pipeline::io::ReleaseSummary;
use pipeline::usecases::release::Releaser;
use tracing::Instrument as _;

/// Handles one invocation; errors carry the stable names the workflow matches on.
pub(crate) async fn handle(
    releaser: &Releaser,
    event: LambdaEvent<serde_json::Value>,
) -> Result<ReleaseSummary, FunctionError> {
    let (raw, ctx) = event.into_parts();
    // Parsed here rather than by the runtime, so a bad input is reported as InvalidInput.
    let input: order_events::Envelope<serde_json::Value> =
        serde_json::from_value(raw).map_err(|e| {
            reported(PipelineError::InvalidInput(format!(
                "release-order input: {e}"
            )))
        })?;
    let cid = pointer(&input.detail, "/metadata/correlationId");
    let span = tracing::info_span!("release", detail_type = %input.detail_type, correlation_id = %cid, request_id = %ctx.request_id);
    async { releaser.handle(&input).await.map_err(reported) }
        .instrument(span)
        .await
}

fn pointer(v: &serde_json::Value, p: &str) -> String {
    v.pointer(p)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("-")
        .to_owned()
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
