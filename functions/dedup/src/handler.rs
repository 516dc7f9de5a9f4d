//! Lambda invocation ⇄ the dedup use case. Dedup's input is kept as JSON: the idempotency key is computed from its fields.

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::io::DedupOutput;
use pipeline::usecases::dedup::Dedup;
use tracing::Instrument as _;

/// Handles one invocation; errors carry the stable names the workflow matches on.
pub(crate) async fn handle(
    dedup: &Dedup,
    event: LambdaEvent<serde_json::Value>,
) -> Result<DedupOutput, FunctionError> {
    let (input, ctx) = event.into_parts();
    let cid = pointer(&input, "/received/metadata/correlationId");
    let span = tracing::info_span!("dedup", correlation_id = %cid, request_id = %ctx.request_id);
    async {
        dedup
            .handle(&input, lambda_support::deadline(&ctx))
            .await
            .map_err(reported)
    }
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
