//! Answering a workflow's task token (success or failure), and the in-memory twin.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;

/// What became of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The workflow got it.
    Delivered,
    /// The task was already closed (timed out, failed or released): nothing to do.
    AlreadyClosed,
}

/// A callback could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("task callback {operation} failed: {message}")]
pub struct CallbackError {
    /// Which call.
    pub operation: &'static str,
    /// Why.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Step Functions task-token callbacks.
#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    /// Completes the task with `output`.
    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<CallbackOutcome, CallbackError>;
    /// Fails the task with an error name and cause.
    async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<CallbackOutcome, CallbackError>;
    /// Tells the workflow the task is alive.
    async fn heartbeat(&self, token: &str) -> Result<CallbackOutcome, CallbackError>;
}

/// A task callback made.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackCall {
    /// `SendTaskSuccess`.
    Succeed {
        /// Token.
        token: String,
        /// Output.
        output: serde_json::Value,
    },
    /// `SendTaskFailure`.
    Fail {
        /// Token.
        token: String,
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
    /// `SendTaskHeartbeat`.
    Heartbeat {
        /// Token.
        token: String,
    },
}

/// Records callbacks; tokens can be marked closed to simulate timed-out tasks.
#[derive(Debug, Default)]
pub struct RecordingCallbacks {
    calls: Mutex<Vec<CallbackCall>>,
    closed: Mutex<HashSet<String>>,
}

impl RecordingCallbacks {
    /// Every call so far.
    pub fn calls(&self) -> Vec<CallbackCall> {
        lock(&self.calls).clone()
    }

    /// Makes callbacks with `token` answer "already closed".
    pub fn close(&self, token: &str) {
        lock(&self.closed).insert(token.to_owned());
    }

    fn outcome(&self, token: &str, call: CallbackCall) -> CallbackOutcome {
        lock(&self.calls).push(call);
        let mut closed = lock(&self.closed);
        if closed.contains(token) {
            CallbackOutcome::AlreadyClosed
        } else {
            // Success and failure close the task; a second callback finds it closed.
            closed.insert(token.to_owned());
            CallbackOutcome::Delivered
        }
    }
}

#[async_trait]
impl TaskCallbacks for RecordingCallbacks {
    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<CallbackOutcome, CallbackError> {
        Ok(self.outcome(
            token,
            CallbackCall::Succeed {
                token: token.to_owned(),
                output: output.clone(),
            },
        ))
    }

    async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<CallbackOutcome, CallbackError> {
        Ok(self.outcome(
            token,
            CallbackCall::Fail {
                token: token.to_owned(),
                error: error.to_owned(),
                cause: cause.to_owned(),
            },
        ))
    }

    async fn heartbeat(&self, token: &str) -> Result<CallbackOutcome, CallbackError> {
        lock(&self.calls).push(CallbackCall::Heartbeat {
            token: token.to_owned(),
        });
        Ok(if lock(&self.closed).contains(token) {
            CallbackOutcome::AlreadyClosed
        } else {
            CallbackOutcome::Delivered
        })
    }
}
