//! How a partner or POS call fails (transient or permanent), and the twins' scripted faults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whether retrying later may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Timeouts, connection failures, 5xx, 429: retry later.
    Transient,
    /// 4xx and malformed answers: retrying will not help.
    Permanent,
    /// The client could not be made (a credential missing or malformed): no call was made,
    /// so nothing is known of the API. Retried as [`ErrorKind::Transient`] is (the credential
    /// may be fixed), but never read as the API's answer.
    NotConfigured,
}

/// A failed call to a partner or POS API.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed ({kind:?}{}): {message}", status.map(|s| format!(", HTTP {s}")).unwrap_or_default())]
pub struct ApiError {
    /// Transient or permanent.
    pub kind: ErrorKind,
    /// Which API.
    pub service: String,
    /// Which call.
    pub operation: String,
    /// HTTP status, if one came back.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
    /// How long the server asked us to wait, if it did.
    pub retry_after: Option<Duration>,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error of `kind` without an underlying error value.
    pub fn new(
        kind: ErrorKind,
        service: impl Into<String>,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            service: service.into(),
            operation: operation.into(),
            status: None,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Whether retrying later may help.
    pub fn is_transient(&self) -> bool {
        self.kind != ErrorKind::Permanent
    }
}

/// A scripted API failure.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Transient or permanent.
    pub kind: ErrorKind,
    /// HTTP status to report.
    pub status: Option<u16>,
}

impl Fault {
    pub(crate) fn to_error(&self, service: &str, operation: &str) -> ApiError {
        ApiError {
            status: self.status,
            ..ApiError::new(self.kind, service, operation, "injected fault")
        }
    }
}
