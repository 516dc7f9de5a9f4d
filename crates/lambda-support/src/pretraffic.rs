//! The pre-traffic check every function answers: before CodeDeploy shifts any traffic to a
//! new version, the deployment's `PreTraffic` hook (the `pre-traffic-check` function)
//! invokes that version with each of its samples wrapped in an envelope,
//! `{"preTrafficCheck": {"sample": <input>}}`. The version answers the envelope itself,
//! without running its use case: it has started as it will serve (configuration, secrets and
//! clients are read at cold start, so a version that cannot start fails here) and it reads
//! the sample with the reader its handler reads real input with. Nothing is written and no
//! partner or POS is called: a hook runs in production, before the version serves anyone.
//!
//! The answer is `{"preTrafficCheck": "passed", "function": …, "version": …}`; a sample
//! that does not read fails the invocation with `InvalidInput`, naming the reader and where
//! the sample stops reading, never its values.
//!
//! The hook learns which version to check from its deployment's AppSpec ([`target_of`]).

use std::future::Future;

use lambda_runtime::{LambdaEvent, service_fn};
use pipeline::PipelineError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::FunctionError;

/// The envelope's key: an event with it at the top level is a pre-traffic check.
pub const ENVELOPE_KEY: &str = "preTrafficCheck";

/// What a passed check answers under [`ENVELOPE_KEY`].
pub const PASSED: &str = "passed";

/// A function's reader: whether a sample reads as its input.
pub type Reader = fn(&Value) -> Result<(), String>;

/// The reader that reads a sample as `I`: the problem and where it stops reading
/// (serde's category, line and column), never the sample's values.
pub fn reads<I: DeserializeOwned>(sample: &Value) -> Result<(), String> {
    serde_json::from_value::<I>(sample.clone())
        .map(|_| ())
        .map_err(|e| {
            format!(
                "the sample does not read as {} ({:?} error at line {}, column {})",
                std::any::type_name::<I>(),
                e.classify(),
                e.line(),
                e.column()
            )
        })
}

/// The hook's environment variable holding the stack's function name prefix
/// (`orders-prod-`): a function's name without it is its binary's, which files its samples.
pub const PREFIX_VAR: &str = crate::config::vars::FUNCTION_NAME_PREFIX;

/// A new version to check: its function's binary name and the version's qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The binary name (`accept-order`): what its samples are filed under.
    pub function: String,
    /// The version, qualified (`orders-prod-accept-order:42`), as `Invoke` takes it.
    pub version: String,
}

/// The version a deployment's AppSpec (`appSpecContent.content`, JSON) moves its alias to:
/// its one `AWS::Lambda::Function` resource's `Name` and `TargetVersion` (the CodeDeploy
/// User Guide, "AppSpec 'resources' section for an AWS Lambda deployment"). `Err` names what
/// is missing, or a function whose name lacks `prefix` (not this stack's).
pub fn target_of(appspec: &Value, prefix: &str) -> Result<Target, String> {
    let resources = appspec["Resources"]
        .as_array()
        .ok_or("the AppSpec has no Resources list")?;
    let [resource] = resources.as_slice() else {
        return Err(format!(
            "the AppSpec names {} resources, not one",
            resources.len()
        ));
    };
    let props = resource
        .as_object()
        .and_then(|m| m.values().next())
        .filter(|r| r["Type"] == "AWS::Lambda::Function")
        .map(|r| &r["Properties"])
        .ok_or("the AppSpec's resource is not an AWS::Lambda::Function")?;
    let (Some(name), Some(version)) = (props["Name"].as_str(), props["TargetVersion"].as_str())
    else {
        return Err("the AppSpec's function has no Name or TargetVersion".to_owned());
    };
    let binary = name
        .strip_prefix(prefix)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("{name} is not one of this stack's functions ({prefix}…)"))?;
    Ok(Target {
        function: binary.to_owned(),
        version: format!("{name}:{version}"),
    })
}

/// The answer to `event` if it is a pre-traffic check (`Some`), read by `reader`; `None`
/// for any other event.
pub fn answer(event: &Value, reader: Reader) -> Option<Result<Value, FunctionError>> {
    let check = event.as_object()?.get(ENVELOPE_KEY)?;
    let Some(sample) = check.get("sample") else {
        return Some(Err(FunctionError(PipelineError::InvalidInput(
            "a pre-traffic check without a sample".to_owned(),
        ))));
    };
    Some(
        reader(sample)
            .map(|()| {
                json!({
                    ENVELOPE_KEY: PASSED,
                    "function": std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
                    "version": std::env::var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_default(),
                })
            })
            .map_err(|why| FunctionError(PipelineError::InvalidInput(why))),
    )
}

/// Runs `handler` as the function, answering a pre-traffic check with `reader` and handing
/// every other event, read as `T`, to `handler`.
///
/// # Errors
/// The runtime's, as [`lambda_runtime::run`]'s.
pub async fn run<T, R, F, Fut>(reader: Reader, handler: F) -> Result<(), lambda_runtime::Error>
where
    T: DeserializeOwned,
    R: Serialize,
    F: Fn(LambdaEvent<T>) -> Fut,
    Fut: Future<Output = Result<R, FunctionError>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (payload, ctx) = event.into_parts();
        if let Some(answer) = answer(&payload, reader) {
            return answer;
        }
        let typed: T = serde_json::from_value(payload).map_err(|e| {
            FunctionError(PipelineError::InvalidInput(format!(
                "the event does not read as {} ({:?} error at line {}, column {})",
                std::any::type_name::<T>(),
                e.classify(),
                e.line(),
                e.column()
            )))
        })?;
        let out = handler(LambdaEvent::new(typed, ctx)).await?;
        serde_json::to_value(out).map_err(|e| {
            FunctionError(PipelineError::InvalidInput(format!(
                "the answer does not serialize: {e}"
            )))
        })
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Input {
        order_id: String,
    }

    #[test]
    fn a_check_is_answered_by_the_reader_and_anything_else_is_not_a_check() {
        let passed = answer(
            &json!({"preTrafficCheck": {"sample": {"order_id": "o-1"}}}),
            reads::<Input>,
        )
        .expect("a check")
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(passed[ENVELOPE_KEY], PASSED);

        let refused = answer(
            &json!({"preTrafficCheck": {"sample": {"order_id": 42, "name": "Jane Marker"}}}),
            reads::<Input>,
        )
        .expect("a check")
        .expect_err("a sample that does not read");
        let d: lambda_runtime::Diagnostic = refused.into();
        assert_eq!(d.error_type, "InvalidInput");
        assert!(
            d.error_message.contains("does not read as"),
            "{}",
            d.error_message
        );
        assert!(!d.error_message.contains("42"), "{}", d.error_message);

        assert!(
            answer(&json!({"preTrafficCheck": {}}), reads::<Input>)
                .expect("a check")
                .is_err()
        );
        assert!(answer(&json!({"order_id": "o-1"}), reads::<Input>).is_none());
        assert!(answer(&json!([1, 2]), reads::<Input>).is_none());
    }

    #[test]
    fn a_deployments_appspec_names_the_version_to_check() {
        let spec = |name: &str, resources: usize| {
            let one = json!({"accept": {"Type": "AWS::Lambda::Function", "Properties": {
                "Name": name, "Alias": "live", "CurrentVersion": "6", "TargetVersion": "7"}}});
            json!({"version": 0.0, "Resources": vec![one; resources],
                "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_orders-prod-pre-traffic-check"}]})
        };
        assert_eq!(
            target_of(&spec("orders-prod-accept-order", 1), "orders-prod-").unwrap(),
            Target {
                function: "accept-order".into(),
                version: "orders-prod-accept-order:7".into()
            }
        );
        assert!(
            target_of(&spec("orders-dev-accept-order", 1), "orders-prod-")
                .unwrap_err()
                .contains("not one of this stack's")
        );
        assert!(
            target_of(&spec("orders-prod-accept-order", 2), "orders-prod-")
                .unwrap_err()
                .contains("2 resources")
        );
        assert!(
            target_of(
                &json!({"Resources": [{"x": {"Type": "AWS::ECS::Service"}}]}),
                "orders-prod-"
            )
            .is_err()
        );
        assert!(target_of(&json!({}), "orders-prod-").is_err());
    }
}
