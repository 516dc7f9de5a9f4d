//! Secrets from Secrets Manager, read once per cold start.

use aws_sdk_secretsmanager::Client;

use crate::describe;

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager failed.
    #[error("could not read secret {id}: {message}")]
    Unavailable {
        /// The secret id.
        id: String,
        /// What failed.
        message: String,
    },
    /// The secret is not a JSON string.
    #[error("secret {id} is not a JSON object string")]
    NotJson {
        /// The secret id.
        id: String,
    },
}

/// The IAM actions [`load_secret_json`] needs, on the secret.
pub const IAM_ACTIONS: &[&str] = &["secretsmanager:GetSecretValue"];

/// The JSON object stored as the secret `id` (an ARN or a name).
pub async fn load_secret_json(client: &Client, id: &str) -> Result<serde_json::Value, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Unavailable {
            id: id.to_owned(),
            message: describe(&e),
        })?;
    out.secret_string()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| SecretError::NotJson { id: id.to_owned() })
}
