//! Amazon States Language, to the specification (<https://states-language.net/spec.html>) and
//! the Step Functions documentation, for what the order workflow uses and what users commonly
//! write:
//!
//! * [`path`]: JSONPath (reference paths for `ResultPath`, general paths with wildcards,
//!   slices, recursive descent and simple filters), `$` and the context object `$$`;
//! * [`template`]: `Parameters`/`ResultSelector`/`ItemSelector` payload templates;
//! * [`intrinsics`]: the `States.*` intrinsic functions;
//! * [`model`]: the definition (every state type), refusing unsupported features by name;
//! * [`validate`]: structural checks (targets exist, every state reachable, every path ends);
//! * [`choice`]: Choice rules.

pub mod choice;
pub mod diagram;
pub mod intrinsics;
pub mod model;
pub mod path;
pub mod template;
pub mod validate;

/// An error as Step Functions reports it: an error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct AslError {
    /// Error name, e.g. `States.Runtime`.
    pub error: String,
    /// Human-readable cause.
    pub cause: String,
}

impl AslError {
    /// `States.Runtime`: a path or template could not be applied.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self {
            error: "States.Runtime".to_owned(),
            cause: cause.into(),
        }
    }

    /// `States.IntrinsicFailure`: an intrinsic function failed.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self {
            error: "States.IntrinsicFailure".to_owned(),
            cause: cause.into(),
        }
    }

    /// An error with any name.
    pub fn named(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
}
