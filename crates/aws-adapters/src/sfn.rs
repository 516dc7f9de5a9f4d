//! Step Functions task-token callbacks. `TaskTimedOut`, `InvalidToken` and `TaskDoesNotExist`
//! mean the task is already closed (released by time, cancelled, or released twice): that is
//! an outcome, not an error.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use pipeline::ports::{CallbackError, CallbackOutcome, TaskCallbacks};

use crate::describe;

/// Callbacks through the Step Functions API.
#[derive(Debug, Clone)]
pub struct SfnCallbacks {
    client: Client,
}

impl SfnCallbacks {
    /// The IAM actions its calls need, on the state machine that issued the task token.
    pub const IAM_ACTIONS: &'static [&'static str] = &[
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
        "states:SendTaskSuccess",
    ];

    /// Callbacks through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn failed<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    e: E,
) -> CallbackError {
    CallbackError {
        operation,
        message: describe(&e),
        source: Some(Box::new(e)),
    }
}

/// Step Functions limits a failure's error name to 256 and cause to 32768 characters.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[async_trait]
impl TaskCallbacks for SfnCallbacks {
    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<CallbackOutcome, CallbackError> {
        match self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(CallbackOutcome::Delivered),
            Err(e) => match e.as_service_error() {
                Some(se)
                    if se.is_task_timed_out()
                        || se.is_invalid_token()
                        || se.is_task_does_not_exist() =>
                {
                    Ok(CallbackOutcome::AlreadyClosed)
                }
                _ => Err(failed("SendTaskSuccess", e)),
            },
        }
    }

    async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<CallbackOutcome, CallbackError> {
        match self
            .client
            .send_task_failure()
            .task_token(token)
            .error(clip(error, 256))
            .cause(clip(cause, 32_768))
            .send()
            .await
        {
            Ok(_) => Ok(CallbackOutcome::Delivered),
            Err(e) => match e.as_service_error() {
                Some(se)
                    if se.is_task_timed_out()
                        || se.is_invalid_token()
                        || se.is_task_does_not_exist() =>
                {
                    Ok(CallbackOutcome::AlreadyClosed)
                }
                _ => Err(failed("SendTaskFailure", e)),
            },
        }
    }

    async fn heartbeat(&self, token: &str) -> Result<CallbackOutcome, CallbackError> {
        match self
            .client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
        {
            Ok(_) => Ok(CallbackOutcome::Delivered),
            Err(e) => match e.as_service_error() {
                Some(se)
                    if se.is_task_timed_out()
                        || se.is_invalid_token()
                        || se.is_task_does_not_exist() =>
                {
                    Ok(CallbackOutcome::AlreadyClosed)
                }
                _ => Err(failed("SendTaskHeartbeat", e)),
            },
        }
    }
}
