//! Starting a Standard workflow execution by name: the port the handover function uses to
//! carry an order from the Express workflow into the Standard one, and its in-memory twin.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

/// What a start did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A new execution runs.
    New,
    /// An execution of that name already exists (a repeat of this handover): nothing to do.
    AlreadyExists,
}

/// Why a start failed.
#[derive(Debug, thiserror::Error)]
#[error("StartExecution failed ({}): {message}", if *.throttled { "throttled" } else if *.transient { "transient" } else { "permanent" })]
pub struct StartError {
    /// The service's `StartExecution` quota refused it (`ThrottlingException`): the bucket
    /// refills, so later it will pass.
    pub throttled: bool,
    /// Worth trying again later (a throttle, a 5xx, the network).
    pub transient: bool,
    /// What happened.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Starts executions of one state machine, named (Standard names are unique for 90 days,
/// so a repeated start of the same name starts nothing).
#[async_trait]
pub trait WorkflowStarter: Send + Sync {
    /// Starts an execution named `name` with `input`.
    async fn start(&self, name: &str, input: &Value) -> Result<Started, StartError>;
}

/// The in-memory twin: keeps what was started, once per name; `throttle_next` makes the
/// next starts fail as a spent quota would.
#[derive(Debug, Default)]
pub struct RecordingStarter {
    started: Mutex<Vec<(String, Value)>>,
    throttle_next: Mutex<usize>,
}

impl RecordingStarter {
    /// Every execution started, by name, in order.
    pub fn started(&self) -> Vec<(String, Value)> {
        self.started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Throttles the next `n` starts.
    pub fn throttle_next(&self, n: usize) {
        *self
            .throttle_next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = n;
    }
}

#[async_trait]
impl WorkflowStarter for RecordingStarter {
    async fn start(&self, name: &str, input: &Value) -> Result<Started, StartError> {
        {
            let mut t = self
                .throttle_next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *t > 0 {
                *t -= 1;
                return Err(StartError {
                    throttled: true,
                    transient: true,
                    message: "ThrottlingException: Rate exceeded".to_owned(),
                    source: None,
                });
            }
        }
        let mut started = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if started.iter().any(|(n, _)| n == name) {
            return Ok(Started::AlreadyExists);
        }
        started.push((name.to_owned(), input.clone()));
        Ok(Started::New)
    }
}
