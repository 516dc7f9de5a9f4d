//! CodeDeploy, as far as a function's deployment hooks reach it (the AWS CodeDeploy API
//! Reference): a deployment of a function's alias with its AppSpec (`GetDeployment`,
//! `GetApplicationRevision`, the revision as an `AppSpecContent`), and its lifecycle hook
//! execution, waiting for the hook's verdict (`PutLifecycleEventHookExecutionStatus`). The
//! deploy ([`crate::deploy`]) opens a deployment, invokes its hook, and reads the verdict; a
//! hook that never reports leaves it `Pending`, which fails the deployment as CodeDeploy's
//! hour-long wait would.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{ACCOUNT, CODEDEPLOY_APPLICATION, REGION};
use crate::aws_json;
use crate::iam::Iam;

/// A hook execution's status (`LifecycleEventStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookStatus {
    /// Waiting for the hook's verdict.
    Pending,
    /// The hook reported `Succeeded`.
    Succeeded,
    /// The hook reported `Failed`.
    Failed,
}

/// A function alias's deployment, as its AppSpec describes it.
#[derive(Debug, Clone)]
pub struct AliasDeployment {
    /// The function's logical id (its deployment group is named after it).
    pub function_id: String,
    /// The function's name.
    pub name: String,
    /// The alias.
    pub alias: String,
    /// The version the alias is on.
    pub current: u32,
    /// The version it moves to.
    pub target: u32,
    /// The `BeforeAllowTraffic` hook's function name.
    pub hook: String,
}

impl AliasDeployment {
    /// The AppSpec CloudFormation gives CodeDeploy for it (the CodeDeploy User Guide,
    /// "AppSpec file example for an AWS Lambda deployment").
    pub fn appspec(&self) -> Value {
        json!({
            "version": 0.0,
            "Resources": [{ self.function_id.clone(): {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Name": self.name,
                    "Alias": self.alias,
                    "CurrentVersion": self.current.to_string(),
                    "TargetVersion": self.target.to_string(),
                }
            }}],
            "Hooks": [{ "BeforeAllowTraffic": self.hook }],
        })
    }
}

#[derive(Debug)]
struct HookExecution {
    deployment_id: String,
    /// The deployment group's ARN: what IAM authorises the reads and the report against.
    group_arn: String,
    /// The deployment's AppSpec (JSON text).
    appspec: String,
    status: HookStatus,
}

/// An error answer: its type and message.
type Refusal = (&'static str, String);

/// The deployments' hook executions, by `LifecycleEventHookExecutionId`.
#[derive(Debug)]
pub struct CodeDeploy {
    hooks: Mutex<BTreeMap<String, HookExecution>>,
    iam: Arc<Iam>,
    next: std::sync::atomic::AtomicU64,
}

/// The ARN of the deployment group SAM makes for the function of logical id `function`
/// (`<FunctionLogicalId>DeploymentGroup` in SAM's `ServerlessDeploymentApplication`).
pub fn group_arn(function: &str) -> String {
    format!(
        "arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{CODEDEPLOY_APPLICATION}/{function}DeploymentGroup"
    )
}

/// The hex SHA-256 of `text`: an `AppSpecContent` revision's name.
fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

impl CodeDeploy {
    /// No deployment yet; calls are authorised by `iam`.
    pub fn new(iam: Arc<Iam>) -> Arc<Self> {
        Arc::new(Self {
            hooks: Mutex::default(),
            iam,
            next: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// Opens `deployment` with its `BeforeAllowTraffic` hook execution: the event its hook
    /// is invoked with (`DeploymentId`, `LifecycleEventHookExecutionId`).
    pub fn open_hook(&self, deployment: &AliasDeployment) -> Value {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let deployment_id = format!("d-LOCAL{n:07}");
        let hook_id = format!("local-hook-{n:07}-{}", deployment.function_id);
        self.lock().insert(
            hook_id.clone(),
            HookExecution {
                deployment_id: deployment_id.clone(),
                group_arn: group_arn(&deployment.function_id),
                appspec: deployment.appspec().to_string(),
                status: HookStatus::Pending,
            },
        );
        json!({ "DeploymentId": deployment_id, "LifecycleEventHookExecutionId": hook_id })
    }

    /// The status of the hook execution `event` ([`CodeDeploy::open_hook`]'s) opened.
    pub fn status(&self, event: &Value) -> Option<HookStatus> {
        let id = event["LifecycleEventHookExecutionId"].as_str()?;
        self.lock().get(id).map(|h| h.status.clone())
    }

    /// The HTTP endpoint the hook functions reach (`AWS_ENDPOINT_URL_CODEDEPLOY`); a request
    /// is carried out whoever hangs up ([`local_aws_core::detached`]).
    pub fn router(self: &Arc<Self>) -> Router {
        local_aws_core::detached::run_to_completion(
            Router::new()
                .fallback(post(handle))
                .with_state(self.clone()),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, HookExecution>> {
        self.hooks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn authorize(&self, headers: &HeaderMap, action: &str, resource: &str) -> Result<(), Refusal> {
        self.iam
            .authorize_identity(&self.iam.identify(headers), action, resource)
            .map_err(|d| ("AccessDeniedException", d.message))
    }

    /// `GetDeployment`: its application, group and revision (an `AppSpecContent` named by
    /// its SHA-256).
    fn get_deployment(&self, headers: &HeaderMap, req: &Value) -> Result<Value, Refusal> {
        let id = req.get("deploymentId").and_then(Value::as_str).ok_or((
            "DeploymentIdRequiredException",
            "deploymentId is required".to_owned(),
        ))?;
        let hooks = self.lock();
        let hook = hooks.values().find(|h| h.deployment_id == id).ok_or((
            "DeploymentDoesNotExistException",
            format!("no deployment {id}"),
        ))?;
        self.authorize(headers, "codedeploy:GetDeployment", &hook.group_arn)?;
        let group = hook.group_arn.rsplit('/').next().unwrap_or_default();
        Ok(json!({ "deploymentInfo": {
            "deploymentId": id,
            "applicationName": CODEDEPLOY_APPLICATION,
            "deploymentGroupName": group,
            "computePlatform": "Lambda",
            "status": "InProgress",
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": { "sha256": sha256(&hook.appspec) },
            },
        }}))
    }

    /// `GetApplicationRevision`: the AppSpec of the revision its SHA-256 names.
    fn get_application_revision(&self, headers: &HeaderMap, req: &Value) -> Result<Value, Refusal> {
        let application = req.get("applicationName").and_then(Value::as_str).ok_or((
            "ApplicationNameRequiredException",
            "applicationName is required".to_owned(),
        ))?;
        self.authorize(
            headers,
            "codedeploy:GetApplicationRevision",
            &format!("arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:{application}"),
        )?;
        if application != CODEDEPLOY_APPLICATION {
            return Err((
                "ApplicationDoesNotExistException",
                format!("no application {application}"),
            ));
        }
        let wanted = req
            .pointer("/revision/appSpecContent/sha256")
            .and_then(Value::as_str)
            .ok_or((
                "RevisionRequiredException",
                "revision.appSpecContent.sha256 is required".to_owned(),
            ))?;
        let hooks = self.lock();
        let hook = hooks
            .values()
            .find(|h| sha256(&h.appspec) == wanted)
            .ok_or((
                "RevisionDoesNotExistException",
                format!("no revision {wanted}"),
            ))?;
        Ok(json!({
            "applicationName": application,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": { "content": hook.appspec, "sha256": wanted },
            },
        }))
    }

    /// `PutLifecycleEventHookExecutionStatus`: the hook's verdict, once.
    fn report(&self, headers: &HeaderMap, req: &Value) -> Result<Value, Refusal> {
        let field = |name: &str| {
            req.get(name)
                .and_then(Value::as_str)
                .ok_or(("InvalidInputException", format!("{name} is required")))
        };
        let (deployment_id, hook_id, status) = (
            field("deploymentId")?,
            field("lifecycleEventHookExecutionId")?,
            field("status")?,
        );
        let status = match status {
            "Succeeded" => HookStatus::Succeeded,
            "Failed" => HookStatus::Failed,
            other => {
                return Err((
                    "InvalidLifecycleEventHookExecutionStatusException",
                    format!("a hook reports Succeeded or Failed, not {other}"),
                ));
            }
        };
        let mut hooks = self.lock();
        let hook = hooks
            .get_mut(hook_id)
            .filter(|h| h.deployment_id == deployment_id)
            .ok_or((
                "LifecycleEventHookExecutionIdException",
                format!("no hook execution {hook_id} in deployment {deployment_id}"),
            ))?;
        self.authorize(
            headers,
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            &hook.group_arn,
        )?;
        if hook.status != HookStatus::Pending {
            return Err((
                "LifecycleEventAlreadyCompletedException",
                format!("hook execution {hook_id} already reported"),
            ));
        }
        hook.status = status;
        Ok(json!({ "lifecycleEventHookExecutionId": hook_id }))
    }
}

async fn handle(State(s): State<Arc<CodeDeploy>>, headers: HeaderMap, body: Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = match aws_json::operation(&headers).as_deref() {
        Some("PutLifecycleEventHookExecutionStatus") => s.report(&headers, &req),
        Some("GetDeployment") => s.get_deployment(&headers, &req),
        Some("GetApplicationRevision") => s.get_application_revision(&headers, &req),
        other => Err((
            "UnknownOperationException",
            format!("{other:?} is not supported locally"),
        )),
    };
    match answer {
        Ok(v) => aws_json::ok(v, aws_json::JSON_1_1),
        Err((kind, message)) => {
            aws_json::error(StatusCode::BAD_REQUEST, kind, message, aws_json::JSON_1_1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(function_id: &str) -> AliasDeployment {
        AliasDeployment {
            function_id: function_id.to_owned(),
            name: format!("orders-dev-{function_id}"),
            alias: "live".to_owned(),
            current: 1,
            target: 2,
            hook: "CodeDeployHook_orders-dev-pre-traffic-check".to_owned(),
        }
    }

    fn put(cd: &CodeDeploy, event: &Value, status: &str) -> Result<Value, Refusal> {
        cd.report(
            &HeaderMap::new(),
            &json!({
                "deploymentId": event["DeploymentId"],
                "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
                "status": status,
            }),
        )
    }

    #[test]
    fn a_hook_reports_once_for_its_own_deployment() {
        let cd = CodeDeploy::new(Arc::new(Iam::disabled()));
        let a = cd.open_hook(&deployment("PosFunction"));
        let b = cd.open_hook(&deployment("IntakeFunction"));
        assert_ne!(a["DeploymentId"], b["DeploymentId"]);
        assert_eq!(cd.status(&a), Some(HookStatus::Pending));
        // Another deployment's id with this hook's execution id is refused.
        let crossed = json!({"DeploymentId": b["DeploymentId"], "LifecycleEventHookExecutionId": a["LifecycleEventHookExecutionId"]});
        assert_eq!(
            put(&cd, &crossed, "Succeeded").unwrap_err().0,
            "LifecycleEventHookExecutionIdException"
        );
        assert_eq!(
            put(&cd, &a, "Skipped").unwrap_err().0,
            "InvalidLifecycleEventHookExecutionStatusException"
        );
        put(&cd, &a, "Failed").unwrap();
        assert_eq!(cd.status(&a), Some(HookStatus::Failed));
        assert_eq!(
            put(&cd, &a, "Succeeded").unwrap_err().0,
            "LifecycleEventAlreadyCompletedException"
        );
        assert_eq!(cd.status(&a), Some(HookStatus::Failed));
        assert_eq!(cd.status(&b), Some(HookStatus::Pending));
        assert!(group_arn("PosFunction").ends_with(
            ":deploymentgroup:local-ServerlessDeploymentApplication/PosFunctionDeploymentGroup"
        ));
    }
}
