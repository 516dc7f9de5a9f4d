//! Secrets Manager: `GetSecretValue` for the secrets the template's parameters name, served
//! from the development secrets under `events/dev-secrets/` (never real values).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::aws_json;
use crate::iam::Iam;

/// Secrets by ARN (and by name).
#[derive(Debug, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
    iam: Arc<Iam>,
    meter: Arc<crate::meter::Meter>,
}

impl Secrets {
    /// Secrets with these ids (ARNs), read as `iam` allows.
    pub fn new(
        values: BTreeMap<String, String>,
        iam: Arc<Iam>,
        meter: Arc<crate::meter::Meter>,
    ) -> Arc<Self> {
        Arc::new(Self { values, iam, meter })
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
    s.meter.secrets_call();
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
            if let Err(denied) = s.iam.authorize_identity(
                &s.iam.identify(&headers),
                "secretsmanager:GetSecretValue",
                &arn,
            ) {
                return aws_json::error(
                    StatusCode::BAD_REQUEST,
                    "AccessDeniedException",
                    denied.message,
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
