//! Lambda invocation ⇄ the sweeper: a scheduled event in (its content is not read: every run
//! sweeps everything overdue), the run's report out.

use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use pipeline::PipelineError;
use pipeline::usecases::sweep::{SweepReport, Sweeper};
use serde_json::Value;
use tracing::Instrument as _;

/// Runs one sweep and the POS watch. A run whose reads, starts or watch steps failed fails (the function's error metric and
/// EventBridge's retry of the asynchronous invocation), after doing what it could: a sweep is
/// safe to repeat.
pub(crate) async fn handle(
    sweeper: &Sweeper,
    event: LambdaEvent<Value>,
) -> Result<SweepReport, FunctionError> {
    let (_, ctx) = event.into_parts();
    let span = tracing::info_span!("sweep", request_id = %ctx.request_id);
    async {
        let report = sweeper.sweep().await;
        if report.errors > 0 {
            return Err(FunctionError(PipelineError::Storage(
                pipeline::ports::RepoError::new(
                    "sweep",
                    format!(
                        "{} reads, starts or POS watch steps failed ({} orders re-driven; {} of the failures the POS watch's, which did not settle those stores); the next run tries them again",
                        report.errors,
                        report.redriven.len(),
                        report.pos.errors.len()
                    ),
                ),
            )));
        }
        Ok(report)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
