//! The SDK configuration, built once per cold start from the Lambda environment.
//!
//! Lambda gives a function its region and its role's credentials as environment variables,
//! so there is no need for `aws-config`'s credential chain (profiles, IMDS, ECS, SSO, STS),
//! which would add about a megabyte to every binary. Endpoints honour `AWS_ENDPOINT_URL` and
//! the per-service `AWS_ENDPOINT_URL_<SERVICE>` as the SDK's own loader does; the local cloud
//! and the tests point clients at loopback this way.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// A variable the SDK configuration needs is missing.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is required for AWS clients but not set")]
pub struct MissingVariable(pub &'static str);

/// An AWS service the functions call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// DynamoDB.
    DynamoDb,
    /// EventBridge.
    EventBridge,
    /// Step Functions.
    Sfn,
    /// Secrets Manager.
    SecretsManager,
}

impl Service {
    /// The suffix of its `AWS_ENDPOINT_URL_<SERVICE>` variable.
    pub const fn env_suffix(self) -> &'static str {
        match self {
            Service::DynamoDb => "DYNAMODB",
            Service::EventBridge => "EVENTBRIDGE",
            Service::Sfn => "SFN",
            Service::SecretsManager => "SECRETS_MANAGER",
        }
    }
}

/// The SDK configuration and the per-service endpoint overrides.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    sdk: SdkConfig,
    endpoints: Vec<(Service, String)>,
}

impl AwsConfig {
    /// Reads region, credentials and endpoints through `var` (the process environment in
    /// Lambda, a map in tests).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, MissingVariable> {
        let get = |name: &'static str| var(name).filter(|v| !v.is_empty());
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or(MissingVariable("AWS_REGION"))?;
        let credentials = Credentials::new(
            get("AWS_ACCESS_KEY_ID").ok_or(MissingVariable("AWS_ACCESS_KEY_ID"))?,
            get("AWS_SECRET_ACCESS_KEY").ok_or(MissingVariable("AWS_SECRET_ACCESS_KEY"))?,
            get("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .build(),
            )
            .time_source(SystemTimeSource::new());
        if let Some(sleep) = default_async_sleep() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(url) = get("AWS_ENDPOINT_URL") {
            builder = builder.endpoint_url(url);
        }
        let endpoints = [
            Service::DynamoDb,
            Service::EventBridge,
            Service::Sfn,
            Service::SecretsManager,
        ]
        .into_iter()
        .filter_map(|s| {
            var(&format!("AWS_ENDPOINT_URL_{}", s.env_suffix()))
                .filter(|v| !v.is_empty())
                .map(|url| (s, url))
        })
        .collect();
        Ok(Self {
            sdk: builder.build(),
            endpoints,
        })
    }

    /// From the process environment.
    pub fn from_process_env() -> Result<Self, MissingVariable> {
        Self::from_env(|name| std::env::var(name).ok())
    }

    fn endpoint(&self, service: Service) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, url)| url.as_str())
    }

    /// A DynamoDB client.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let mut b = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if let Some(url) = self.endpoint(Service::DynamoDb) {
            b = b.endpoint_url(url);
        }
        aws_sdk_dynamodb::Client::from_conf(b.build())
    }

    /// An EventBridge client.
    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        let mut b = aws_sdk_eventbridge::config::Builder::from(&self.sdk);
        if let Some(url) = self.endpoint(Service::EventBridge) {
            b = b.endpoint_url(url);
        }
        aws_sdk_eventbridge::Client::from_conf(b.build())
    }

    /// A Step Functions client.
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        let mut b = aws_sdk_sfn::config::Builder::from(&self.sdk);
        if let Some(url) = self.endpoint(Service::Sfn) {
            b = b.endpoint_url(url);
        }
        aws_sdk_sfn::Client::from_conf(b.build())
    }

    /// A Secrets Manager client.
    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        let mut b = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
        if let Some(url) = self.endpoint(Service::SecretsManager) {
            b = b.endpoint_url(url);
        }
        aws_sdk_secretsmanager::Client::from_conf(b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn missing_credentials_are_named() {
        let err = AwsConfig::from_env(env(&[("AWS_REGION", "eu-west-1")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable AWS_ACCESS_KEY_ID is required for AWS clients but not set"
        );
    }

    #[test]
    fn per_service_endpoints_override_the_global_one() {
        let c = AwsConfig::from_env(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"),
        ]))
        .unwrap();
        assert_eq!(c.endpoint(Service::DynamoDb), Some("http://127.0.0.1:2"));
        assert_eq!(c.endpoint(Service::Sfn), None);
        assert_eq!(c.sdk.endpoint_url(), Some("http://127.0.0.1:1"));
        assert_eq!(c.sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }
}
