//! Lambda invocation ⇄ the handover use case: an SQS batch in, the messages to try again out
//! (`batchItemFailures`; the event source mapping has `ReportBatchItemFailures`).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use pipeline::usecases::handover::{Delivered, Handover};
use tracing::Instrument as _;

/// Handles one batch. It never fails as a whole: each message that did not start is named.
pub(crate) async fn handle(
    handover: &Handover,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, FunctionError> {
    let (event, ctx) = event.into_parts();
    let span = tracing::info_span!("handover", request_id = %ctx.request_id, messages = event.records.len());
    async {
        let batch: Vec<Delivered<'_>> = event
            .records
            .iter()
            .map(|r| Delivered {
                id: r.message_id.as_deref().unwrap_or_default(),
                body: r.body.as_deref().unwrap_or_default(),
            })
            .collect();
        let again = handover.handle(&batch).await;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = again
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        Ok(response)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
