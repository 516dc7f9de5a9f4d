//! Starting Standard executions by name through the Step Functions API (the handover's
//! `StartExecution`). An execution of the same name already started is a repeat, not an error;
//! `ThrottlingException` (the Standard `StartExecution` bucket spent) is reported as such, so
//! the handover leaves the message for its queue to bring back. Each start is one attempt (no
//! SDK retry): the caller's queue or schedule is the retry.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::ProvideErrorMetadata as _;
use pipeline::ports::{StartError, Started, WorkflowStarter};

use crate::describe;

/// Starts executions of one state machine.
#[derive(Debug, Clone)]
pub struct SfnStarter {
    client: Client,
    state_machine_arn: String,
}

impl SfnStarter {
    /// The IAM action its calls need, on the state machine.
    pub const IAM_ACTIONS: &'static [&'static str] = &["states:StartExecution"];

    /// Starts executions of `state_machine_arn` through `client`.
    pub fn new(client: Client, state_machine_arn: String) -> Self {
        Self {
            client,
            state_machine_arn,
        }
    }
}

#[async_trait]
impl WorkflowStarter for SfnStarter {
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<Started, StartError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            // One attempt: a throttle or a timeout comes back at once for the caller's own
            // retry (the handover's queue, the sweeper's next run). The SDK's three attempts
            // with backoff, in a batch of ten, outlasted the handover's 10 s timeout under
            // the peak's throttling, and the whole batch came back.
            .customize()
            .config_override(
                aws_sdk_sfn::config::Builder::default()
                    .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
        {
            Ok(_) => Ok(Started::New),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_owned();
                if code == "ExecutionAlreadyExists" {
                    return Ok(Started::AlreadyExists);
                }
                let throttled = code == "ThrottlingException";
                // A service error with a 4xx other than a throttle will not pass later; the
                // rest (throttles, 5xx, timeouts, the network) may.
                let transient = throttled
                    || e.raw_response()
                        .is_none_or(|r| r.status().as_u16() >= 500 || r.status().as_u16() == 429);
                Err(StartError {
                    throttled,
                    transient,
                    message: describe(&e),
                    source: Some(Box::new(e)),
                })
            }
        }
    }
}
