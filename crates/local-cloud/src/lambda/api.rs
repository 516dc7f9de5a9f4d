//! Lambda's API as far as the functions and an operator reach it (the AWS Lambda API
//! Reference): `Invoke` (`POST /2015-03-31/functions/{FunctionName}/invocations`, for the
//! functions that call other functions: the pre-traffic hook invokes the new versions) and the
//! discovery calls `ListFunctions` and `GetFunction`. A function is named by its name, a name
//! qualified by a version or an alias, or its ARN, with `Qualifier` in the query; each call
//! is authorised as `lambda:InvokeFunction` / `lambda:GetFunction` on the qualified ARN the
//! caller names ("Resources and conditions for Lambda actions": a policy on a version's ARN
//! allows that version only), `lambda:ListFunctions` on `*`. Only `RequestResponse`
//! invocations are served; every other Lambda call answers `UnknownOperationException`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Lambda, Outcome};
use crate::app::Function;
use crate::app::{ACCOUNT, REGION};

/// The errors Lambda's service answers with itself (the API Reference's Invoke errors),
/// rather than a function's error.
const SERVICE_ERRORS: &[&str] = &[
    "ResourceNotFoundException",
    "TooManyRequestsException",
    "RequestTooLargeException",
    "ServiceException",
];

impl Lambda {
    /// The `Invoke` endpoint the functions reach (`AWS_ENDPOINT_URL_LAMBDA`); a request is
    /// carried out whoever hangs up ([`local_aws_core::detached`]).
    pub fn api_router(self: &Arc<Self>) -> Router {
        local_aws_core::detached::run_to_completion(
            Router::new()
                .route("/2015-03-31/functions/{function}/invocations", post(invoke))
                .route("/2015-03-31/functions", get(list_functions))
                .route("/2015-03-31/functions/", get(list_functions))
                .route("/2015-03-31/functions/{function}", get(get_function))
                .fallback(unknown)
                .with_state(self.clone()),
        )
    }
}

/// `name[:qualifier]` from a function name, a qualified name or an ARN, with `Qualifier`.
fn target(function: &str, qualifier: Option<&str>) -> Result<String, String> {
    let named = match function.strip_prefix("arn:aws:lambda:") {
        Some(rest) => rest
            .split_once(":function:")
            .map(|(_, f)| f)
            .ok_or_else(|| format!("{function} is not a function's ARN"))?,
        None => function,
    };
    match (named.split_once(':'), qualifier) {
        (Some((_, q)), Some(given)) if q != given => Err(format!(
            "the qualifier {given} differs from the one in {function}"
        )),
        (None, Some(q)) => Ok(format!("{named}:{q}")),
        _ => Ok(named.to_owned()),
    }
}

/// A function's `FunctionConfiguration` at `version` (`$LATEST` or a number).
fn configuration(f: &Function, version: &str) -> Value {
    let qualified = if version == "$LATEST" {
        f.arn.clone()
    } else {
        format!("{}:{version}", f.arn)
    };
    json!({
        "FunctionName": f.name,
        "FunctionArn": qualified,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Timeout": f.timeout_seconds,
        "MemorySize": f.memory_mb,
        "Version": version,
        "State": "Active",
        "PackageType": "Zip",
        "Environment": { "Variables": f.env },
    })
}

async fn list_functions(State(lambda): State<Arc<Lambda>>, headers: HeaderMap) -> Response {
    let iam = &lambda.config.iam;
    if let Err(denied) =
        iam.authorize_identity(&iam.identify(&headers), "lambda:ListFunctions", "*")
    {
        return service_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            denied.message,
        );
    }
    let functions: Vec<Value> = lambda
        .latest_configurations()
        .iter()
        .map(|f| configuration(f, "$LATEST"))
        .collect();
    (
        StatusCode::OK,
        json!({ "Functions": functions }).to_string(),
    )
        .into_response()
}

/// The function `function` (with the query's `Qualifier`) names, as `name[:qualifier]`, and
/// its qualified ARN, once the caller is allowed `action` on that ARN; else the answer that
/// refuses it.
fn authorized(
    lambda: &Lambda,
    function: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    action: &str,
) -> Result<(String, String), Box<Response>> {
    let name = target(function, query.get("Qualifier").map(String::as_str)).map_err(|why| {
        service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            why,
        )
    })?;
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
    let iam = &lambda.config.iam;
    iam.authorize_identity(&iam.identify(headers), action, &arn)
        .map_err(|denied| {
            service_error(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                denied.message,
            )
        })?;
    Ok((name, arn))
}

async fn get_function(
    State(lambda): State<Arc<Lambda>>,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (name, arn) = match authorized(&lambda, &function, &query, &headers, "lambda:GetFunction") {
        Ok(n) => n,
        Err(refused) => return *refused,
    };
    let Some(pool) = lambda.pool(&name) else {
        return service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {arn}"),
        );
    };
    let version = if name.contains(':') && !name.ends_with(":$LATEST") {
        pool.version.to_string()
    } else {
        "$LATEST".to_owned()
    };
    (
        StatusCode::OK,
        json!({
            "Configuration": configuration(&pool.function, &version),
            "Code": { "RepositoryType": "Local", "Location": pool.binary.display().to_string() },
        })
        .to_string(),
    )
        .into_response()
}

async fn unknown() -> Response {
    service_error(
        StatusCode::BAD_REQUEST,
        "UnknownOperationException",
        "this Lambda call is not supported locally (Invoke, ListFunctions and GetFunction are)",
    )
}

fn service_error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        [("x-amzn-errortype", kind.to_owned())],
        json!({ "Type": "User", "message": message.into() }).to_string(),
    )
        .into_response()
}

async fn invoke(
    State(lambda): State<Arc<Lambda>>,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    if kind != "RequestResponse" {
        return service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!("only RequestResponse invocations are served locally, not {kind}"),
        );
    }
    let name = match authorized(
        &lambda,
        &function,
        &query,
        &headers,
        "lambda:InvokeFunction",
    ) {
        Ok((name, _)) => name,
        Err(refused) => return *refused,
    };
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                return service_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    "Could not parse request body into json",
                );
            }
        }
    };
    let executed = lambda.pool(&name).map(|p| p.version);
    match lambda.invoke(&name, payload).await {
        Outcome::Ok(v) => (
            StatusCode::OK,
            [(
                "x-amz-executed-version",
                executed.map_or_else(|| "$LATEST".to_owned(), |v| v.to_string()),
            )],
            v.to_string(),
        )
            .into_response(),
        Outcome::Err {
            error_type,
            error_message,
        } if SERVICE_ERRORS.contains(&error_type.as_str()) => {
            let status = match error_type.as_str() {
                "ResourceNotFoundException" => StatusCode::NOT_FOUND,
                "TooManyRequestsException" => StatusCode::TOO_MANY_REQUESTS,
                "RequestTooLargeException" => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            service_error(status, &error_type, error_message)
        }
        Outcome::Err {
            error_type,
            error_message,
        } => (
            StatusCode::OK,
            [("x-amz-function-error", "Unhandled".to_owned())],
            json!({ "errorType": error_type, "errorMessage": error_message }).to_string(),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn a_function_is_named_by_name_qualified_name_or_arn() {
        assert_eq!(target("orders-dev-pos", None).unwrap(), "orders-dev-pos");
        assert_eq!(
            target("orders-dev-pos", Some("3")).unwrap(),
            "orders-dev-pos:3"
        );
        assert_eq!(
            target("orders-dev-pos:live", None).unwrap(),
            "orders-dev-pos:live"
        );
        assert_eq!(
            target(
                "arn:aws:lambda:us-east-1:000000000000:function:orders-dev-pos:3",
                None
            )
            .unwrap(),
            "orders-dev-pos:3"
        );
        assert_eq!(
            target(
                "arn:aws:lambda:us-east-1:000000000000:function:orders-dev-pos",
                Some("live")
            )
            .unwrap(),
            "orders-dev-pos:live"
        );
        assert!(target("orders-dev-pos:3", Some("4")).is_err());
        assert!(target("arn:aws:lambda:us-east-1:000000000000:layer:x", None).is_err());
    }
}
