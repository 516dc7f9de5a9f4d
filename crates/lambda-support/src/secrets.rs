//! The secrets a function reads: from Secrets Manager on AWS (once per process, shared by
//! the use case's clients), or from a JSON file (`file:<path>`) for local runs. Every secret is a
//! flat JSON object of strings (`{"name": "value"}`); the pipeline keeps one per partner's API
//! credentials, one for the POS key and one for the webhook credentials, so a role is granted
//! only the secrets of the APIs it calls (see `docs/security.md`).

use std::collections::HashMap;

use serde_json::Value;

use crate::config::{ConfigError, Env};
use crate::wiring::Backend;

/// A secret's value, read at most once per process (a failed read is retried by the next).
pub(crate) type SecretCell = Arc<tokio::sync::OnceCell<HashMap<String, String>>>;

use std::sync::Arc;

impl Backend {
    /// Where the secret `var` names is read from.
    pub(crate) fn secret_source(
        &self,
        env: &Env,
        var: &'static str,
    ) -> Result<SecretSource, ConfigError> {
        let id = env.required(var)?;
        // What the deployed function calls (it reads Secrets Manager, not a file).
        if let Backend::Aws(aws) = self {
            aws.named(aws_adapters::secrets::IAM_ACTIONS, var);
        }
        match (id.strip_prefix("file:"), self) {
            (Some(path), _) => Ok(SecretSource::File {
                var,
                path: path.to_owned(),
            }),
            (None, Backend::Aws(aws)) => Ok(SecretSource::SecretsManager {
                var,
                client: aws.secrets_manager(),
                id: id.to_owned(),
                value: aws
                    .secrets
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(var)
                    .or_default()
                    .clone(),
            }),
            (None, Backend::Memory(_)) => Err(ConfigError::Load {
                what: format!("secret {var}"),
                why: "the memory backend reads secrets from file:<path> only".to_owned(),
            }),
        }
    }
}

/// Where a secret is read from.
#[derive(Clone)]
pub(crate) enum SecretSource {
    /// A JSON file (local runs: `file:<path>`).
    File { var: &'static str, path: String },
    /// Secrets Manager.
    SecretsManager {
        var: &'static str,
        client: aws_sdk_secretsmanager::Client,
        id: String,
        /// Shared by every source of this secret in the process.
        value: SecretCell,
    },
}

impl SecretSource {
    /// Reads it as a flat `{"name": "value"}` map.
    pub(crate) async fn load(self) -> Result<HashMap<String, String>, ConfigError> {
        if let SecretSource::SecretsManager { value, .. } = &self {
            let value = value.clone();
            return value.get_or_try_init(|| self.read()).await.cloned();
        }
        self.read().await
    }

    /// Reads it, whatever was read before.
    async fn read(self) -> Result<HashMap<String, String>, ConfigError> {
        let var = match &self {
            SecretSource::File { var, .. } | SecretSource::SecretsManager { var, .. } => *var,
        };
        let load = |why: String| ConfigError::Load {
            what: format!("secret {var}"),
            why,
        };
        let value: Value = match self {
            SecretSource::File { path, .. } => serde_json::from_str(
                &std::fs::read_to_string(&path).map_err(|e| load(format!("{path}: {e}")))?,
            )
            .map_err(|e| load(format!("{path}: {e}")))?,
            SecretSource::SecretsManager { client, id, .. } => {
                aws_adapters::secrets::load_secret_json(&client, &id)
                    .await
                    .map_err(|e| load(e.to_string()))?
            }
        };
        flat_strings(value).map_err(load)
    }
}

#[async_trait::async_trait]
impl pipeline::usecases::webhook_secrets::WebhookSecretSource for SecretSource {
    async fn read(&self) -> Result<HashMap<String, String>, pipeline::ports::RepoError> {
        self.clone()
            .read()
            .await
            .map_err(|e| pipeline::ports::RepoError::new("read secret", e.to_string()))
    }
}

/// A secret's value as every function reads it: a JSON object whose values are all strings
/// (`{"name": "value"}`). The error names the problem and the key, never a value.
///
/// # Errors
/// The value is not an object, or one of its values is not a string.
pub fn flat_strings(value: Value) -> Result<HashMap<String, String>, String> {
    let Value::Object(map) = value else {
        return Err("not a JSON object".to_owned());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(format!("the value of {k:?} is not a string")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A Secrets Manager on loopback: refuses the first `GetSecretValue` (not retryable), then
    /// answers `{"pos":"key"}`; counts calls.
    async fn secrets_manager() -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move || {
                let call = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call == 0 {
                        let body = serde_json::json!({
                            "__type": "ResourceNotFoundException",
                            "message": "not yet",
                        });
                        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
                    }
                    axum::Json(serde_json::json!({
                        "ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:api",
                        "Name": "api",
                        "SecretString": r#"{"pos":"key"}"#,
                    }))
                    .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, calls)
    }

    #[tokio::test]
    async fn a_secret_is_read_once_per_process_and_a_failed_read_is_not_remembered() {
        let (url, calls) = secrets_manager().await;
        let env = Env::from_pairs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", url.as_str()),
            (vars::POS_CREDENTIALS_ID, "api"),
        ]);
        let backend = Backend::from_env(&env).await.unwrap();
        let read = || {
            backend
                .secret_source(&env, vars::POS_CREDENTIALS_ID)
                .unwrap()
                .load()
        };
        let refused = read().await.unwrap_err();
        assert!(
            refused.to_string().contains("ResourceNotFound"),
            "{refused}"
        );
        let first = read().await.unwrap();
        let second = read().await.unwrap();
        assert_eq!(first.get("pos").map(String::as_str), Some("key"));
        assert_eq!(first, second);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the refusal, then one read for both"
        );
    }
}
