//! AWS Secrets Manager's `GetSecretValue` on one machine (the AWS Secrets Manager API
//! Reference): the secrets it is given by ARN, read by ARN or by name; each read authorised
//! through an [`Authorizer`] (IAM in a local cloud) on the secret's ARN and counted through a
//! [`UsageSink`]. Every other call answers `UnknownOperationException`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use local_aws_core::{AllowAll, usage::NoUsage};
//! use secrets_local::Secrets;
//!
//! let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:orders/pos".to_owned();
//! let secrets = Secrets::new(
//!     BTreeMap::from([(arn, r#"{"pos":"dev-key"}"#.to_owned())]),
//!     Arc::new(AllowAll),
//!     Arc::new(NoUsage),
//! );
//! // Served at any address: `AWS_ENDPOINT_URL_SECRETS_MANAGER` points the SDK at it.
//! let _router: axum::Router = secrets.router();
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use local_aws_core::usage::{SECRETS_MANAGER_API_CALL, UsageSink};
use local_aws_core::{Authorizer, aws_json};

/// Secrets by ARN (and by name).
pub struct Secrets {
    values: BTreeMap<String, String>,
    auth: Arc<dyn Authorizer>,
    usage: Arc<dyn UsageSink>,
}

impl Secrets {
    /// Secrets with these ids (ARNs) and values, read as `auth` allows, each call counted to
    /// `usage`.
    pub fn new(
        values: BTreeMap<String, String>,
        auth: Arc<dyn Authorizer>,
        usage: Arc<dyn UsageSink>,
    ) -> Arc<Self> {
        Arc::new(Self {
            values,
            auth,
            usage,
        })
    }

    /// The HTTP endpoint; a request is carried out whoever hangs up
    /// ([`local_aws_core::detached`]).
    pub fn router(self: &Arc<Self>) -> Router {
        local_aws_core::detached::run_to_completion(
            Router::new()
                .fallback(post(handle))
                .with_state(self.clone()),
        )
    }
}

async fn handle(State(s): State<Arc<Secrets>>, headers: HeaderMap, body: Bytes) -> Response {
    s.usage.count(SECRETS_MANAGER_API_CALL, 1);
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match aws_json::operation(&headers).as_deref() {
        Some("GetSecretValue") => {
            let id = req
                .get("SecretId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // IAM sees the secret's ARN, whether it was asked for by ARN or by name.
            let arn = s
                .values
                .keys()
                .find(|arn| *arn == id || arn.rsplit(':').next() == Some(id))
                .cloned()
                .unwrap_or_else(|| id.to_owned());
            if let Err(denied) = s
                .auth
                .authorize(&headers, "secretsmanager:GetSecretValue", &arn)
            {
                return aws_json::error(
                    StatusCode::BAD_REQUEST,
                    "AccessDeniedException",
                    denied,
                    aws_json::JSON_1_1,
                );
            }
            match s.values.get(&arn) {
                Some(v) => aws_json::ok(
                    json!({ "ARN": id, "Name": id.rsplit(':').next(), "SecretString": v, "VersionId": "local", "VersionStages": ["AWSCURRENT"], "CreatedDate": 0 }),
                    aws_json::JSON_1_1,
                ),
                None => aws_json::error(
                    StatusCode::BAD_REQUEST,
                    "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.",
                    aws_json::JSON_1_1,
                ),
            }
        }
        other => aws_json::error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("{other:?} is not supported locally"),
            aws_json::JSON_1_1,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tower::ServiceExt as _;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:orders/pos";

    #[derive(Default)]
    struct Counted(AtomicU64);
    impl UsageSink for Counted {
        fn count(&self, unit: &'static str, n: u64) {
            assert_eq!(unit, SECRETS_MANAGER_API_CALL);
            self.0.fetch_add(n, Ordering::SeqCst);
        }
    }

    /// Allows reads of `ARN` only, and says which resource it was asked about otherwise.
    struct OnlyPos;
    impl Authorizer for OnlyPos {
        fn authorize(&self, _: &HeaderMap, action: &str, resource: &str) -> Result<(), String> {
            (action == "secretsmanager:GetSecretValue" && resource == ARN)
                .then_some(())
                .ok_or_else(|| {
                    format!("not authorized to perform: {action} on resource: {resource}")
                })
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

    async fn call(secrets: &Arc<Secrets>, operation: &str, body: Value) -> (u16, Value) {
        let request = http::Request::post("/")
            .header("x-amz-target", format!("secretsmanager.{operation}"))
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = secrets.router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_secret_is_read_by_arn_or_name_as_iam_allows_and_each_call_is_counted() {
        let usage = Arc::new(Counted::default());
        let secrets = Secrets::new(
            BTreeMap::from([
                (ARN.to_owned(), r#"{"pos":"dev-key"}"#.to_owned()),
                (format!("{ARN}-other"), "{}".to_owned()),
            ]),
            Arc::new(OnlyPos),
            usage.clone(),
        );
        let (status, by_arn) = call(&secrets, "GetSecretValue", json!({"SecretId": ARN})).await;
        assert_eq!(
            (status, by_arn["SecretString"].as_str()),
            (200, Some(r#"{"pos":"dev-key"}"#))
        );
        // By name, IAM is asked about the ARN.
        let (status, by_name) = call(
            &secrets,
            "GetSecretValue",
            json!({"SecretId": "orders/pos"}),
        )
        .await;
        assert_eq!(status, 200, "{by_name}");
        let (status, denied) = call(
            &secrets,
            "GetSecretValue",
            json!({"SecretId": format!("{ARN}-other")}),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            denied.to_string().contains("AccessDeniedException"),
            "{denied}"
        );
        let (status, unknown) = call(&secrets, "ListSecrets", json!({})).await;
        assert_eq!(status, 400);
        assert!(
            unknown.to_string().contains("UnknownOperationException"),
            "{unknown}"
        );
        assert_eq!(usage.0.load(Ordering::SeqCst), 4);
    }
}
