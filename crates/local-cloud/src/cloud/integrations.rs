//! What the workflows' Task states reach in the local cloud (functions, the bus, DynamoDB,
//! queues, Standard executions), as Step Functions' service integrations reach them on AWS.

use crate::app::{ACCOUNT, REGION};
use crate::dynamodb::{self};
use crate::eventbridge::EventBridge;
use crate::iam::{Caller, Iam, Identity};
use crate::lambda::{Lambda, Outcome};
use crate::sfn::{Integrations, Sfn};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;

/// What the workflow's Task states reach, with the state machine's role.
pub(super) struct LocalIntegrations {
    pub(super) lambda: Arc<Lambda>,
    pub(super) bus: Arc<EventBridge>,
    pub(super) dynamodb: String,
    /// The same throttle as the functions' DynamoDB endpoint: a throttled table refuses the
    /// workflow's own tasks too.
    pub(super) dynamo_throttle: Arc<crate::dynamodb_proxy::Throttle>,
    pub(super) http: reqwest::Client,
    pub(super) iam: Arc<Iam>,
    pub(super) meter: Arc<crate::meter::Meter>,
    /// The Step Functions service, for `states:startExecution` (weak: it owns these).
    pub(super) sfn: std::sync::OnceLock<std::sync::Weak<Sfn>>,
    /// SQS, for `sqs:sendMessage`.
    pub(super) sqs: Arc<sqs_local::Sqs>,
}

/// An event source mapping's function, invoked synchronously as Lambda's pollers do.
pub(super) struct FunctionInvoker {
    pub(super) lambda: Arc<Lambda>,
    pub(super) function: String,
}

#[async_trait]
impl sqs_local::Invoker for FunctionInvoker {
    async fn invoke(&self, event: Value) -> Result<Value, String> {
        match self.lambda.invoke(&self.function, event).await {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err {
                error_type,
                error_message,
            } => Err(format!("{error_type}: {error_message}")),
        }
    }
}

impl LocalIntegrations {
    /// The identity a state machine's Task states call with: its role (no role at all can
    /// allow nothing).
    pub(super) fn identity(&self, machine: &str) -> Identity {
        Identity::Caller(
            self.iam
                .state_machine_caller(machine)
                .unwrap_or_else(|| Caller::Service("states.amazonaws.com".to_owned())),
        )
    }
}

#[async_trait]
impl Integrations for LocalIntegrations {
    async fn invoke(
        &self,
        machine: &str,
        function: &str,
        payload: Value,
    ) -> Result<Value, (String, String)> {
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}");
        self.iam
            .authorize_identity(&self.identity(machine), "lambda:InvokeFunction", &arn)
            .map_err(|d| crate::iam::integration_denial("lambda", &d))?;
        // An Express execution is billed for its duration: what this machine added to the
        // invocation (a wait for a free process or for a core) is reported as not billed.
        let called = std::time::Instant::now();
        let (outcome, billed) = self.lambda.invoke_billed(function, payload).await;
        step_functions_local::not_billed(called.elapsed().saturating_sub(billed));
        match outcome {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err {
                error_type,
                error_message,
            } => Err((error_type, error_message)),
        }
    }

    async fn put_events(
        &self,
        machine: &str,
        entries: Vec<Value>,
    ) -> Result<Value, (String, String)> {
        let identity = self.identity(machine);
        entries
            .iter()
            .try_for_each(|e| {
                let bus = crate::eventbridge::entry_bus_arn(e);
                self.iam.authorize_identity_in(
                    &identity,
                    "events:PutEvents",
                    &bus,
                    &crate::eventbridge::put_events_context(e),
                )
            })
            .map_err(|d| crate::iam::integration_denial("events", &d))?;
        if !self.bus.admit_put_events() {
            return Err(("ThrottlingException".to_owned(), "Rate exceeded".to_owned()));
        }
        Ok(self.bus.put_events(&entries).await)
    }

    async fn dynamodb(
        &self,
        machine: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, (String, String)> {
        crate::dynamodb_proxy::authorize(&self.iam, &self.identity(machine), operation, &params)
            .map_err(|d| crate::iam::integration_denial("dynamodb", &d))?;
        if let Some((_, error_type, message)) = self.dynamo_throttle.refusal(&params) {
            return Err((error_type.to_owned(), message.to_owned()));
        }
        let mut params = params;
        let asked = crate::meter::Meter::ask_capacity(&mut params);
        match dynamodb::call(&self.http, &self.dynamodb, operation, params.clone()).await {
            Ok(mut answer) => {
                self.meter
                    .dynamodb(operation, &params, Ok(&mut answer), asked);
                Ok(answer)
            }
            Err(e) => {
                self.meter
                    .dynamodb(operation, &params, Err(&e.error_type), asked);
                Err((e.error_type, e.message))
            }
        }
    }

    async fn send_message(&self, machine: &str, params: Value) -> Result<Value, (String, String)> {
        let url = params["QueueUrl"].as_str().unwrap_or_default();
        let queue = url.rsplit('/').next().unwrap_or_default();
        self.iam
            .authorize_identity(
                &self.identity(machine),
                "sqs:SendMessage",
                &sqs_local::queue_arn(queue),
            )
            .map_err(|d| ("AccessDenied".to_owned(), d.message))?;
        let body = params["MessageBody"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let id = self
            .sqs
            .send(queue, body)
            .await
            .map_err(|e| (e.code, e.message))?;
        Ok(json!({ "MessageId": id }))
    }

    async fn start_execution(
        &self,
        machine: &str,
        params: Value,
    ) -> Result<Value, (String, String)> {
        let target = params["StateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.iam
            .authorize_identity(&self.identity(machine), "states:StartExecution", &target)
            .map_err(|d| ("AccessDenied".to_owned(), d.message))?;
        let Some(sfn) = self.sfn.get().and_then(std::sync::Weak::upgrade) else {
            return Err((
                "ServiceUnavailable".to_owned(),
                "Step Functions is stopping".to_owned(),
            ));
        };
        // `Input` is JSON text or, in the optimized integration, a JSON value.
        let input = match &params["Input"] {
            Value::String(text) => serde_json::from_str(text).map_err(|e| {
                (
                    "InvalidExecutionInput".to_owned(),
                    format!("Input is not JSON: {e}"),
                )
            })?,
            Value::Null => json!({}),
            other => other.clone(),
        };
        let execution = sfn
            .start_execution(&target, params["Name"].as_str(), input)
            .await
            .map_err(|e| (e.error_type, e.message))?;
        Ok(json!({
            "ExecutionArn": execution.arn,
            "StartDate": execution.start.timestamp_millis() as f64 / 1000.0,
        }))
    }
}
