//! `pre-traffic-check` Lambda: CodeDeploy's `PreTraffic` hook for every function's gradual
//! deployment. CodeDeploy invokes it (by name, `CodeDeployHook_…`, the prefix its managed role
//! may invoke) with `{"DeploymentId", "LifecycleEventHookExecutionId"}` before it shifts any
//! traffic. It reads which version the deployment moves the alias to (`GetDeployment`, then
//! the revision's AppSpec with `GetApplicationRevision`), invokes that version with every
//! sample its function must read, in the pre-traffic envelope (`lambda_support::pretraffic`:
//! read, not acted on), and reports `Succeeded` or `Failed` with
//! `PutLifecycleEventHookExecutionStatus`. `Failed` stops the deployment before any traffic,
//! and CloudFormation rolls the stack back.
//!
//! The deployment names the version, rather than the hook's environment: a hook whose
//! environment named every function's new version would depend on every function, and the
//! functions' aliases (their deployments) on the hook: a dependency cycle.

mod check;

use aws_adapters::sdk::AwsConfig;
use aws_lambda_events::event::codedeploy::CodeDeployLifecycleEvent;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_lambda::primitives::Blob;
use check::{Invoker, Report, Target};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use lambda_support::pretraffic::{PREFIX_VAR, target_of};
use lambda_support::telemetry;
use serde_json::Value;

mod samples {
    include!(concat!(env!("OUT_DIR"), "/samples.rs"));
}

/// Invokes versions through the Lambda API.
struct LambdaInvoker(aws_sdk_lambda::Client);

impl Invoker for LambdaInvoker {
    async fn invoke(&self, version: &str, payload: Value) -> Result<Value, String> {
        let out = self
            .0
            .invoke()
            .function_name(version)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "Invoke failed: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            })?;
        let body: Value = out
            .payload()
            .map(|b| serde_json::from_slice(b.as_ref()).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        match out.function_error() {
            Some(kind) => Err(format!(
                "{kind} error {}: {}",
                body["errorType"].as_str().unwrap_or("(no type)"),
                body["errorMessage"].as_str().unwrap_or("(no message)")
            )),
            None => Ok(body),
        }
    }
}

/// The version the deployment `deployment_id` moves its alias to, from its AppSpec.
async fn deployed_version(
    codedeploy: &aws_sdk_codedeploy::Client,
    deployment_id: &str,
    prefix: &str,
) -> Result<Target, String> {
    let deployment = codedeploy
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetDeployment failed: {}",
                aws_sdk_codedeploy::error::DisplayErrorContext(e)
            )
        })?;
    let info = deployment
        .deployment_info()
        .ok_or("GetDeployment answered no deployment")?;
    let (Some(application), Some(revision)) = (info.application_name(), info.revision()) else {
        return Err("the deployment names no application or revision".to_owned());
    };
    let got = codedeploy
        .get_application_revision()
        .application_name(application)
        .revision(revision.clone())
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetApplicationRevision failed: {}",
                aws_sdk_codedeploy::error::DisplayErrorContext(e)
            )
        })?;
    let rev = got
        .revision()
        .ok_or("GetApplicationRevision answered no revision")?;
    let content = rev
        .app_spec_content()
        .and_then(|a| a.content())
        .or_else(|| rev.string().and_then(|s| s.content()))
        .ok_or("the revision holds no AppSpec")?;
    let appspec: Value = serde_json::from_str(content)
        .map_err(|e| format!("the AppSpec is not JSON ({})", e.classify_name()))?;
    target_of(&appspec, prefix)
}

/// `serde_json`'s error category, by name.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // Under `cargo lambda watch` (the memory backend) there is no deployment: the functions
    // `CHECK_FUNCTIONS` names are the watcher's, reached through its Invoke API, and nothing
    // is reported.
    let memory = var("PIPELINE_BACKEND").as_deref() == Some("memory");
    let aws = if memory {
        let endpoint = var("AWS_ENDPOINT_URL_LAMBDA").ok_or(
            "AWS_ENDPOINT_URL_LAMBDA is required on the memory backend (the watcher's address)",
        )?;
        AwsConfig::loopback(&endpoint)
    } else {
        AwsConfig::from_env(var)?
    };
    let prefix = var(PREFIX_VAR).unwrap_or_default();
    if !memory && prefix.is_empty() {
        return Err(format!("{PREFIX_VAR} is required (the stack's function name prefix)").into());
    }
    let client = |suffix: &str| var(&format!("AWS_ENDPOINT_URL_{suffix}"));
    let mut lambda = aws_sdk_lambda::config::Builder::from(aws.sdk());
    if let Some(url) = client("LAMBDA") {
        lambda = lambda.endpoint_url(url);
    }
    let mut codedeploy = aws_sdk_codedeploy::config::Builder::from(aws.sdk());
    if let Some(url) = client("CODEDEPLOY") {
        codedeploy = codedeploy.endpoint_url(url);
    }
    let invoker = LambdaInvoker(aws_sdk_lambda::Client::from_conf(lambda.build()));
    let codedeploy = aws_sdk_codedeploy::Client::from_conf(codedeploy.build());
    let watched: Vec<Target> = var(lambda_support::config::vars::CHECK_FUNCTIONS)
        .unwrap_or_default()
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| Target {
            function: f.to_owned(),
            version: f.to_owned(),
        })
        .collect();
    let (invoker, codedeploy, prefix, watched) = (&invoker, &codedeploy, &prefix, &watched);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<CodeDeployLifecycleEvent>| async move {
        let hook = event.payload;
        let report: Report = if memory {
            check::check(watched, samples::SAMPLES, invoker).await
        } else {
            match deployed_version(codedeploy, &hook.deployment_id, prefix).await {
                Ok(target) => check::check(&[target], samples::SAMPLES, invoker).await,
                Err(why) => Report {
                    failures: vec![format!("which version to check: {why}")],
                    ..Report::default()
                },
            }
        };
        for failure in &report.failures {
            tracing::error!(deployment = %hook.deployment_id, %failure, "pre-traffic check failed");
        }
        tracing::info!(
            deployment = %hook.deployment_id,
            checked = ?report.checked,
            passed = report.passed,
            failed = report.failures.len(),
            status = report.status(),
            "pre-traffic check"
        );
        if memory {
            return Ok(report);
        }
        codedeploy
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(&hook.deployment_id)
            .lifecycle_event_hook_execution_id(&hook.lifecycle_event_hook_execution_id)
            .status(LifecycleEventStatus::from(report.status()))
            .send()
            .await
            .map_err(|e| {
                Error::from(format!(
                    "PutLifecycleEventHookExecutionStatus failed: {}",
                    aws_sdk_codedeploy::error::DisplayErrorContext(e)
                ))
            })?;
        Ok::<Report, Error>(report)
    }))
    .await
}
