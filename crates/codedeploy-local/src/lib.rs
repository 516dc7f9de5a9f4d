//! AWS CodeDeploy, as far as a Lambda alias's deployment hooks reach it (the AWS CodeDeploy
//! API Reference): a deployment with its AppSpec (`GetDeployment`,
//! `GetApplicationRevision`, the revision as an `AppSpecContent`), and its lifecycle hook
//! execution, waiting for the hook's verdict (`PutLifecycleEventHookExecutionStatus`). Whoever
//! deploys opens a deployment ([`CodeDeploy::open_hook`]), invokes its hook with the event it
//! answers, and reads the verdict ([`CodeDeploy::status`]); a hook that never reports leaves
//! it `Pending`, which fails the deployment as CodeDeploy's hour-long wait would. Every call
//! is authorised through an [`Authorizer`] (IAM in a local cloud).
//!
//! ```
//! use std::sync::Arc;
//! use codedeploy_local::{AliasDeployment, CodeDeploy, HookStatus};
//! use local_aws_core::AllowAll;
//!
//! let codedeploy = CodeDeploy::new(Arc::new(AllowAll), "my-app");
//! let event = codedeploy.open_hook(&AliasDeployment {
//!     function_id: "PosFunction".into(),
//!     name: "orders-dev-pos".into(),
//!     alias: "live".into(),
//!     current: 6,
//!     target: 7,
//!     hook: "CodeDeployHook_pre-traffic".into(),
//! });
//! // The hook function is invoked with `event`; until it reports, the deployment waits.
//! assert_eq!(codedeploy.status(&event), Some(HookStatus::Pending));
//! assert!(event["DeploymentId"].as_str().unwrap().starts_with("d-"));
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use local_aws_core::{ACCOUNT, Authorizer, REGION, aws_json};

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
pub struct CodeDeploy {
    hooks: Mutex<BTreeMap<String, HookExecution>>,
    auth: Arc<dyn Authorizer>,
    /// The CodeDeploy application the deployments are in (SAM's
    /// `ServerlessDeploymentApplication`).
    application: String,
    next: std::sync::atomic::AtomicU64,
}

/// The ARN of the deployment group SAM makes in `application` for the function of logical id
/// `function` (`<FunctionLogicalId>DeploymentGroup`).
pub fn group_arn(application: &str, function: &str) -> String {
    format!(
        "arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{application}/{function}DeploymentGroup"
    )
}

/// The hex SHA-256 of `text`: an `AppSpecContent` revision's name.
fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

impl CodeDeploy {
    /// No deployment yet in `application`; calls are authorised by `auth`.
    pub fn new(auth: Arc<dyn Authorizer>, application: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            hooks: Mutex::default(),
            auth,
            application: application.into(),
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
                group_arn: group_arn(&self.application, &deployment.function_id),
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
        self.auth
            .authorize(headers, action, resource)
            .map_err(|message| ("AccessDeniedException", message))
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
            "applicationName": self.application,
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
        if application != self.application {
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
    use local_aws_core::AllowAll;

    const APP: &str = "local-ServerlessDeploymentApplication";

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
        let cd = CodeDeploy::new(Arc::new(AllowAll), APP);
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
        assert!(group_arn(APP, "PosFunction").ends_with(
            ":deploymentgroup:local-ServerlessDeploymentApplication/PosFunctionDeploymentGroup"
        ));
    }

    #[test]
    fn a_deployment_leads_its_hook_to_the_appspec_that_names_the_new_version() {
        let cd = CodeDeploy::new(Arc::new(AllowAll), APP);
        let event = cd.open_hook(&deployment("PosFunction"));
        let h = HeaderMap::new();
        let info = cd
            .get_deployment(&h, &json!({"deploymentId": event["DeploymentId"]}))
            .unwrap();
        let info = &info["deploymentInfo"];
        assert_eq!(info["deploymentGroupName"], "PosFunctionDeploymentGroup");
        assert_eq!(info["applicationName"], APP);
        let got = cd
            .get_application_revision(
                &h,
                &json!({"applicationName": info["applicationName"], "revision": info["revision"]}),
            )
            .unwrap();
        let appspec: Value = serde_json::from_str(
            got["revision"]["appSpecContent"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let props = &appspec["Resources"][0]["PosFunction"]["Properties"];
        assert_eq!(props["Name"], "orders-dev-PosFunction");
        assert_eq!(props["CurrentVersion"], "1");
        assert_eq!(props["TargetVersion"], "2");
        assert_eq!(
            appspec["Hooks"][0]["BeforeAllowTraffic"],
            "CodeDeployHook_orders-dev-pre-traffic-check"
        );
        assert_eq!(
            cd.get_deployment(&h, &json!({"deploymentId": "d-NONE"}))
                .unwrap_err()
                .0,
            "DeploymentDoesNotExistException"
        );
        let other = json!({"applicationName": "other", "revision": info["revision"]});
        assert_eq!(
            cd.get_application_revision(&h, &other).unwrap_err().0,
            "ApplicationDoesNotExistException"
        );
    }

    /// A caller IAM refuses: every call answers `AccessDeniedException` with its message.
    struct Deny;
    impl Authorizer for Deny {
        fn authorize(&self, _: &HeaderMap, action: &str, resource: &str) -> Result<(), String> {
            Err(format!(
                "not authorized to perform: {action} on resource: {resource}"
            ))
        }
        fn authorize_in(
            &self,
            h: &HeaderMap,
            action: &str,
            resource: &str,
            _: &[(&'static str, String)],
        ) -> Result<(), String> {
            self.authorize(h, action, resource)
        }
    }

    #[test]
    fn every_call_is_authorised_on_the_group_or_the_application() {
        let cd = CodeDeploy::new(Arc::new(Deny), APP);
        let event = cd.open_hook(&deployment("PosFunction"));
        let denied = put(&cd, &event, "Succeeded").unwrap_err();
        assert_eq!(denied.0, "AccessDeniedException");
        assert!(
            denied
                .1
                .contains("codedeploy:PutLifecycleEventHookExecutionStatus")
        );
        assert!(denied.1.contains("PosFunctionDeploymentGroup"));
        assert_eq!(
            cd.status(&event),
            Some(HookStatus::Pending),
            "a denied report is none"
        );
        let h = HeaderMap::new();
        let read = cd
            .get_deployment(&h, &json!({"deploymentId": event["DeploymentId"]}))
            .unwrap_err();
        assert!(read.1.contains("codedeploy:GetDeployment"), "{}", read.1);
        let revision = cd
            .get_application_revision(&h, &json!({"applicationName": APP}))
            .unwrap_err();
        assert!(
            revision.1.contains(&format!("application:{APP}")),
            "{}",
            revision.1
        );
    }
}
