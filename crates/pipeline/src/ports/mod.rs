//! The ports the use cases talk to. Each has an in-memory twin in [`crate::memory`] and a real
//! adapter elsewhere (`aws-adapters`, `http-clients`).
//!
//! One file per port, each with its in-memory twin (re-exported by [`crate::memory`]).

use std::sync::Mutex;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct RepoError {
    /// What was attempted.
    pub operation: &'static str,
    /// What went wrong.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl RepoError {
    /// A failure without an underlying error value.
    pub fn new(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by `source`.
    pub fn caused(
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            operation,
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

mod api_error;
mod catalog_source;
mod clock;
mod documents;
mod event_publisher;
mod held_orders;
mod metrics;
mod orders;
mod partner_api;
mod pos_api;
mod pos_health;
mod task_callbacks;
mod token_store;
mod workflow_starter;

pub use api_error::*;
pub use catalog_source::*;
pub use clock::*;
pub use documents::*;
pub use event_publisher::*;
pub use held_orders::*;
pub use metrics::*;
pub use orders::*;
pub use partner_api::*;
pub use pos_api::*;
pub use pos_health::*;
pub use task_callbacks::*;
pub use token_store::*;
pub use workflow_starter::{RecordingStarter, StartError, Started, WorkflowStarter};
