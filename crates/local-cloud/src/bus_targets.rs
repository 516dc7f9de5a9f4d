//! What the bus's rules reach in the local cloud: the Step Functions service, the Lambda
//! service (asynchronous invoke) and the dead-letter queues, each call authorised as IAM would
//! authorise EventBridge's on AWS.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use eventbridge_local::{Rule, Target, Targets};
use serde_json::Value;
use step_functions_local::Sfn;

use crate::app::{ACCOUNT, REGION};
use crate::iam::{Caller, Iam};
use crate::lambda::Lambda;
use crate::queues::Queues;

/// EventBridge's service principal.
const EVENTS: &str = "events.amazonaws.com";

/// The local cloud's targets for the bus.
pub struct BusTargets {
    lambda: Arc<Lambda>,
    queues: Arc<Queues>,
    iam: Arc<Iam>,
    /// Set once the Step Functions service is built (it needs the bus first).
    sfn: OnceLock<Arc<Sfn>>,
}

impl BusTargets {
    /// Targets in `lambda`, dead letters to `queues`, authorised by `iam`.
    pub fn new(lambda: Arc<Lambda>, queues: Arc<Queues>, iam: Arc<Iam>) -> Arc<Self> {
        Arc::new(Self {
            lambda,
            queues,
            iam,
            sfn: OnceLock::new(),
        })
    }

    /// Connects the Step Functions service (once).
    pub fn connect(&self, sfn: Arc<Sfn>) {
        let _ = self.sfn.set(sfn);
    }
}

#[async_trait]
impl Targets for BusTargets {
    /// A state machine with the role SAM gives the rule's target; a function through the
    /// function's resource policy for EventBridge (`aws:SourceArn` the rule).
    fn authorize(&self, rule: &Rule) -> Result<(), String> {
        let denied = match &rule.target {
            Target::StateMachine { arn } => {
                let caller = self.iam.rule_caller(&rule.arn).unwrap_or_else(|| {
                    // No role: nothing can allow it (AWS requires one for this target).
                    Caller::Service(EVENTS.to_owned())
                });
                self.iam
                    .authorize(&caller, "states:StartExecution", arn, BTreeMap::new())
            }
            Target::Function { name } => self.iam.authorize(
                &Caller::Service(EVENTS.to_owned()),
                "lambda:InvokeFunction",
                &format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
                BTreeMap::from([
                    ("aws:SourceArn", rule.arn.clone()),
                    ("aws:SourceAccount", ACCOUNT.to_owned()),
                ]),
            ),
        };
        denied.map_err(|d| d.to_string())
    }

    async fn deliver(&self, rule: &Rule, input: Value) -> Result<(), String> {
        match &rule.target {
            Target::StateMachine { arn } => match self.sfn.get() {
                Some(sfn) => sfn
                    .start_execution(arn, None, input)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => Err("Step Functions is not connected".to_owned()),
            },
            Target::Function { name } => self
                .lambda
                .invoke_async(name, input)
                .map_err(|(kind, message)| format!("{kind}: {message}")),
        }
    }

    async fn dead_letter(&self, rule: &Rule, letter: Value) {
        self.queues
            .send(
                &Caller::Service(EVENTS.to_owned()),
                Some(&rule.arn),
                rule.dead_letter
                    .as_deref()
                    .unwrap_or("(no dead-letter queue)"),
                letter,
            )
            .await;
    }
}
