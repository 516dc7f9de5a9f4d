//! Lambda invocation ⇄ the accept-order use case. Accept, deny or cancel with the partner.

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::error::reported;
use pipeline::PipelineError;
use pipeline::io::AcceptInput;
use pipeline::io::AcceptOutput;
use pipeline::usecases::accept::PartnerConversation;
use tracing::Instrument as _;

/// Handles one invocation; errors carry the stable names the workflow matches on.
pub(crate) async fn handle(
    conversation: &PartnerConversation,
    event: LambdaEvent<serde_json::Value>,
) -> Result<AcceptOutput, FunctionError> {
    let (raw, ctx) = event.into_parts();
    // Parsed here rather than by the runtime, so a bad input is reported as InvalidInput.
    let input: AcceptInput = serde_json::from_value(raw).map_err(|e| {
        reported(PipelineError::InvalidInput(format!(
            "accept-order input: {e}"
        )))
    })?;
    let span = tracing::info_span!("accept", correlation_id = %correlation(&input), request_id = %ctx.request_id);
    async { conversation.handle(&input).await.map_err(reported) }
        .instrument(span)
        .await
}

fn correlation(input: &AcceptInput) -> &str {
    match input {
        AcceptInput::Accept { correlation_id, .. } | AcceptInput::Cancel { correlation_id, .. } => {
            correlation_id
        }
        AcceptInput::Deny { received, .. } | AcceptInput::DenyUnclaimed { received, .. } => {
            &received.metadata.correlation_id
        }
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
