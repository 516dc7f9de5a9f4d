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
use std::sync::{Arc, OnceLock};

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

/// The SDK configuration and the per-service endpoint overrides; each service's client is
/// built once and shared (a client is an `Arc` inside; building one costs a cold start about
/// a millisecond, and `release-order` asks for six).
#[derive(Debug, Clone)]
pub struct AwsConfig {
    sdk: SdkConfig,
    endpoints: Vec<(Service, String)>,
    clients: Arc<Clients>,
}

#[derive(Debug, Default)]
struct Clients {
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    eventbridge: OnceLock<aws_sdk_eventbridge::Client>,
    sfn: OnceLock<aws_sdk_sfn::Client>,
    secrets_manager: OnceLock<aws_sdk_secretsmanager::Client>,
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
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        let http = match compiled_in_roots() {
            Ok(roots) => http.tls_context(roots).build_https(),
            // Not reached with aws-smithy-http-client 1.5 (`build` only moves the store in).
            Err(e) => {
                tracing::warn!(error = %e, "compiled-in roots refused; using the platform's");
                http.build_https()
            }
        };
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
            clients: Arc::default(),
        })
    }

    /// Clients for `endpoint` on this machine (the local cloud, DynamoDB Local, a test's fake),
    /// in us-east-1 with placeholder credentials, built as the functions build theirs.
    pub fn loopback(endpoint: &str) -> Self {
        let vars = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_ENDPOINT_URL", endpoint),
        ];
        Self::from_env(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap_or_else(|_| unreachable!("every variable the configuration needs is given"))
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

    /// The SDK configuration (region, credentials, the HTTPS client, retries and timeouts)
    /// for a service client this type does not build.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// A DynamoDB client.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.clients
            .dynamodb
            .get_or_init(|| {
                let mut b = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
                if let Some(url) = self.endpoint(Service::DynamoDb) {
                    b = b.endpoint_url(url);
                }
                aws_sdk_dynamodb::Client::from_conf(b.build())
            })
            .clone()
    }

    /// An EventBridge client.
    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        self.clients
            .eventbridge
            .get_or_init(|| {
                let mut b = aws_sdk_eventbridge::config::Builder::from(&self.sdk);
                if let Some(url) = self.endpoint(Service::EventBridge) {
                    b = b.endpoint_url(url);
                }
                aws_sdk_eventbridge::Client::from_conf(b.build())
            })
            .clone()
    }

    /// A Step Functions client.
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        self.clients
            .sfn
            .get_or_init(|| {
                let mut b = aws_sdk_sfn::config::Builder::from(&self.sdk);
                if let Some(url) = self.endpoint(Service::Sfn) {
                    b = b.endpoint_url(url);
                }
                aws_sdk_sfn::Client::from_conf(b.build())
            })
            .clone()
    }

    /// A Secrets Manager client.
    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        self.clients
            .secrets_manager
            .get_or_init(|| {
                let mut b = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
                if let Some(url) = self.endpoint(Service::SecretsManager) {
                    b = b.endpoint_url(url);
                }
                aws_sdk_secretsmanager::Client::from_conf(b.build())
            })
            .clone()
    }
}

/// The TLS context the AWS clients verify endpoints with: the roots of Amazon Trust Services,
/// as compiled into Mozilla's set by `webpki-root-certs`, instead of the SDK's default of the
/// platform's store.
///
/// Every AWS service endpoint presents a certificate issued by Amazon Trust Services, which
/// chains to Amazon Root CA 1–4 and is cross-signed by Starfield Services Root Certificate
/// Authority – G2 (AWS Security Blog, "How to prepare for AWS's move to its own certificate
/// authority", 2017; the roots are published at <https://www.amazontrust.com/repository/>).
/// Those five roots are all these clients trust.
///
/// Why not more: the SDK takes PEM only and decodes and parses the store each time it builds
/// a connector, with a constant-time base64 decoder. Mozilla's ~150 roots made that the
/// largest part of every function's cold start (about 3 ms of `release-order`'s 12); the
/// platform's store, read file by file, was larger still.
fn compiled_in_roots() -> Result<tls::TlsContext, aws_smithy_http_client::HttpClientError> {
    let trust = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots_pem());
    tls::TlsContext::builder().with_trust_store(trust).build()
}

/// Whether a root certificate (DER) is one of Amazon Trust Services' (see
/// [`compiled_in_roots`]): its subject names Amazon Root CA 1–4 or Starfield Services Root
/// Certificate Authority – G2. Self-signed, so the issuer names the same.
fn is_amazon_trust_services_root(der: &[u8]) -> bool {
    use memchr::memmem;
    let amazon = b"Amazon Root CA ";
    let named_amazon = memmem::find_iter(der, amazon)
        .any(|at| matches!(der.get(at + amazon.len()), Some(b'1'..=b'4')));
    named_amazon
        || memmem::find(der, b"Starfield Services Root Certificate Authority - G2").is_some()
}

/// The roots the AWS clients trust, one PEM block each.
fn roots_pem() -> String {
    use base64::Engine as _;
    let mut pem = String::with_capacity(8 * 1024);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter(|c| is_amazon_trust_services_root(c.as_ref()))
    {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        pem.push_str(&base64::engine::general_purpose::STANDARD.encode(cert.as_ref()));
        pem.push_str("\n-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_trust_store_holds_the_five_amazon_trust_services_roots_and_nothing_else() {
        use base64::Engine as _;
        let pem = roots_pem();
        let decoded: Vec<Vec<u8>> = pem
            .split("-----BEGIN CERTIFICATE-----\n")
            .skip(1)
            .map(|block| {
                let body = block.split("\n-----END CERTIFICATE-----").next().unwrap();
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .unwrap()
            })
            .collect();
        assert_eq!(
            decoded.len(),
            5,
            "Amazon Root CA 1-4 and Starfield Services G2"
        );
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 4",
            "Starfield Services Root",
        ] {
            assert!(
                decoded
                    .iter()
                    .any(|d| d.windows(name.len()).any(|w| w == name.as_bytes())),
                "{name} is trusted"
            );
        }
        // Each block is a root of Mozilla's set, byte for byte.
        for d in &decoded {
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .any(|c| c.as_ref() == d.as_slice())
            );
        }
        // A root of another authority is not trusted.
        let others = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|c| !is_amazon_trust_services_root(c.as_ref()))
            .count();
        assert!(others > 100, "Mozilla's other roots are left out");
    }

    /// The SDK parses the trust store when it builds its first HTTPS connector, and panics on
    /// a certificate it cannot parse: a call to an HTTPS endpoint gets that far.
    #[tokio::test]
    async fn an_https_call_builds_its_connector_from_the_compiled_in_roots() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("https://127.0.0.1:{port}");
        let c = AwsConfig::from_env(env(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", &url),
        ]))
        .unwrap();
        let err = c.dynamodb().list_tables().send().await.unwrap_err();
        let text = format!("{:?}", err);
        assert!(text.contains("DispatchFailure"), "{text}");
    }

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
