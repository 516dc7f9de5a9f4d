//! The error functions return: its `errorType` is the stable name the workflow matches on,
//! never a Rust type path; its message keeps every cause.

use lambda_runtime::Diagnostic;
use pipeline::PipelineError;

/// A use-case error on its way out of a function.
pub struct FunctionError(pub PipelineError);

// The runtime logs this at ERROR when an invocation fails: keep it to the stable name and the
// message with its causes, not a nest of type names.
impl std::fmt::Debug for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.name(), self.0.message_with_causes())
    }
}

impl From<PipelineError> for FunctionError {
    fn from(e: PipelineError) -> Self {
        Self(e)
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Self {
        Diagnostic {
            error_type: e.0.name().to_owned(),
            error_message: e.0.message_with_causes(),
        }
    }
}

/// Logs the error with its name and returns it (for `map_err` in handlers).
pub fn reported(e: PipelineError) -> FunctionError {
    if pipeline::names::TRANSIENT.contains(&e.name()) {
        tracing::warn!(error_type = e.name(), error = %e.message_with_causes(), "invocation failed (transient)");
    } else {
        tracing::info!(error_type = e.name(), error = %e.message_with_causes(), "invocation ended with an error");
    }
    FunctionError(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_domain::{Rejection, RejectionReason};

    #[test]
    fn a_rejection_crosses_the_boundary_with_its_stable_name_and_readable_reason() {
        let e = PipelineError::Rejected(Rejection::new(
            RejectionReason::UnknownItem,
            "item 'x' is not on menu core-us",
        ));
        let d: Diagnostic = FunctionError(e).into();
        assert_eq!(d.error_type, "OrderRejected");
        assert_eq!(
            d.error_message,
            "UnknownItem: item 'x' is not on menu core-us"
        );
    }
}
