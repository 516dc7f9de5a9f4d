//! The partner and POS clients a use case calls out with, on the AWS backend.
//!
//! Each partner's client is built apart, from its own secret ([`vars::credentials_of`]: one
//! secret per partner, one for the POS), in the background ([`crate::deferred`]): a partner
//! whose secret is missing, unreadable or malformed fails only its own calls, as a transient
//! API error that names the secret's variable, and the other partners go on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http_clients::partner::PartnerEndpoint;
use http_clients::{HttpSettings, PartnerHttpClient, PosHttpClient, RetryPolicy};
use order_domain::Partner;
use partners::outbound::ApiCredentials;
use pipeline::ports::{PartnerApi, PosApi, TokenStore};

use crate::config::{ConfigError, Env, vars};
use crate::deferred::{Deferred, PartnerClients};
use crate::secrets::SecretSource;
use crate::wiring::Backend;

/// The key the POS secret holds its API key under.
pub const POS_SECRET_KEY: &str = "pos";

impl Backend {
    /// The partner APIs `needed` (partner, base URL variable), each read from its own secret;
    /// Uber Eats' client credentials ask for a token per scope the function's calls need, when
    /// first needed.
    ///
    /// # Errors
    /// A base URL or secret variable is unset, or a URL is not one the functions may call
    /// ([`Env::api_url`]); a secret's value is checked when it is read, per partner.
    pub(crate) async fn partner_api(
        &self,
        env: &Env,
        needed: &[(Partner, &'static str)],
    ) -> Result<Arc<dyn PartnerApi>, ConfigError> {
        if let Backend::Memory(w) = self {
            return Ok(w.partners.clone());
        }
        let clients = needed
            .iter()
            .map(|&(partner, url_var)| Ok((partner, self.partner_client(env, partner, url_var)?)))
            .collect::<Result<HashMap<_, _>, ConfigError>>()?;
        Ok(Arc::new(PartnerClients::new(clients)))
    }

    /// One partner's client, from the secret [`vars::credentials_of`] names, which must hold
    /// `{"<partner>": "<credentials in its scheme>"}` ([`ApiCredentials::parse`]).
    fn partner_client(
        &self,
        env: &Env,
        partner: Partner,
        url_var: &'static str,
    ) -> Result<Deferred<dyn PartnerApi>, ConfigError> {
        let var = vars::credentials_of(partner);
        let source = self.secret_source(env, var)?;
        let base_url = env.api_url(url_var)?.to_owned();
        // Uber's calls authenticate with an access token from its OAuth endpoint, fetched by
        // one process for the whole fleet through the tokens table.
        let (token_url, token_store) = if partner == Partner::UberEats {
            (
                Some(env.api_url(vars::UBEREATS_TOKEN_URL)?.to_owned()),
                self.token_store(env)?,
            )
        } else {
            (None, None)
        };
        let build = move || {
            let (source, base_url, token_url, token_store) = (
                source.clone(),
                base_url.clone(),
                token_url.clone(),
                token_store.clone(),
            );
            Box::pin(async move {
                let value = secret_value(source, var, partner.as_str()).await?;
                let credentials = ApiCredentials::parse(partner, &value)
                    .map_err(|e| format!("secret {var}: {e}"))?;
                let endpoint = PartnerEndpoint {
                    base_url,
                    credentials,
                    token_url,
                    token_store,
                };
                let client = PartnerHttpClient::new(
                    HashMap::from([(partner, endpoint)]),
                    HttpSettings::default(),
                    RetryPolicy::default(),
                )
                .map_err(|e| format!("{partner} HTTP client: {e}"))?;
                Ok(Arc::new(client) as Arc<dyn PartnerApi>)
            }) as BoxFuture<'static, Result<Arc<dyn PartnerApi>, String>>
        };
        Ok(Deferred::spawn(partner.as_str(), build))
    }

    /// Where the fleet shares Uber's access token: the tokens table on AWS.
    fn token_store(&self, env: &Env) -> Result<Option<Arc<dyn TokenStore>>, ConfigError> {
        match (self, self.dynamo()) {
            (Backend::Aws(aws), Some(client)) => {
                aws.named(
                    aws_adapters::DynamoTokenStore::IAM_ACTIONS,
                    vars::PARTNER_TOKENS_TABLE,
                );
                Ok(Some(Arc::new(aws_adapters::DynamoTokenStore::new(
                    client,
                    env.required(vars::PARTNER_TOKENS_TABLE)?,
                ))))
            }
            _ => Ok(None),
        }
    }

    /// The POS gateway's client, from the secret [`vars::POS_CREDENTIALS_ID`] names
    /// (`{"pos": "<api key>"}`); 2 s to connect, 8 s per request.
    pub(crate) async fn pos_api(&self, env: &Env) -> Result<Arc<dyn PosApi>, ConfigError> {
        if let Backend::Memory(w) = self {
            return Ok(w.pos.clone());
        }
        let var = vars::POS_CREDENTIALS_ID;
        let source = self.secret_source(env, var)?;
        let url = env.api_url(vars::POS_API_URL)?.to_owned();
        let build = move || {
            let (source, url) = (source.clone(), url.clone());
            Box::pin(async move {
                let key = secret_value(source, var, POS_SECRET_KEY).await?;
                let settings = HttpSettings {
                    connect_timeout: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(8),
                    ..HttpSettings::default()
                };
                let client = PosHttpClient::new(&url, key, settings, RetryPolicy::default())
                    .map_err(|e| format!("POS HTTP client: {e}"))?;
                Ok(Arc::new(client) as Arc<dyn PosApi>)
            }) as BoxFuture<'static, Result<Arc<dyn PosApi>, String>>
        };
        Ok(Arc::new(Deferred::spawn("pos", build)))
    }
}

/// The value under `key` in the secret `var` names. A secret that holds another API's key
/// instead (a partner's ARN given for another partner's parameter) is refused, named.
async fn secret_value(source: SecretSource, var: &str, key: &str) -> Result<String, String> {
    let secret = source.load().await.map_err(|e| e.to_string())?;
    secret.get(key).cloned().ok_or_else(|| {
        let mut held: Vec<&str> = secret.keys().map(String::as_str).collect();
        held.sort_unstable();
        format!(
            "secret {var} has no {key:?} key (it holds {held:?}; each API's credentials are in a secret of their own)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A partner API on loopback that answers every request `200 {}`, counting them.
    async fn partner_server() -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let app = axum::Router::new().fallback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { axum::Json(serde_json::json!({})) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, calls)
    }

    fn aws_env(pairs: &[(&'static str, String)]) -> Env {
        let mut all: Vec<(&str, String)> = vec![
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
        ];
        all.extend(pairs.iter().cloned());
        Env::from_pairs(all.iter().map(|(k, v)| (*k, v.as_str())))
    }

    #[tokio::test]
    async fn one_partners_bad_or_misplaced_secret_stops_only_that_partner() {
        let (url, calls) = partner_server().await;
        let dir = std::env::temp_dir().join(format!("partner-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, body: &str| {
            let path = dir.join(name);
            std::fs::write(&path, body).unwrap();
            format!("file:{}", path.display())
        };
        let env = aws_env(&[
            (
                vars::DOORDASH_CREDENTIALS_ID,
                file(
                    "doordash.json",
                    r#"{"doordash": "jwt:dev-1:key-1:c2VjcmV0LXNpZ25pbmcta2V5"}"#,
                ),
            ),
            // An empty MAC key: refused, as every weak credential is.
            (
                vars::GRUBHUB_CREDENTIALS_ID,
                file("grubhub.json", r#"{"grubhub": "mac:"}"#),
            ),
            // DoorDash's secret given where the app's belongs.
            (
                vars::APP_CREDENTIALS_ID,
                file("app.json", r#"{"doordash": "jwt:dev-1:key-1:c2VjcmV0"}"#),
            ),
            (vars::DOORDASH_API_URL, url.clone()),
            (vars::GRUBHUB_API_URL, url.clone()),
            (vars::APP_API_URL, url.clone()),
        ]);
        let backend = Backend::from_env(&env).await.unwrap();
        let api = backend
            .partner_api(
                &env,
                &[
                    (Partner::DoorDash, vars::DOORDASH_API_URL),
                    (Partner::Grubhub, vars::GRUBHUB_API_URL),
                    (Partner::ChainApp, vars::APP_API_URL),
                ],
            )
            .await
            .unwrap();
        let online = partners::StoreAvailability::Online;

        let grubhub = api
            .set_store_status(Partner::Grubhub, "store-1", &online)
            .await
            .unwrap_err();
        assert!(
            grubhub.message.contains("GRUBHUB_CREDENTIALS_ID"),
            "{grubhub}"
        );
        let app = api
            .set_store_status(Partner::ChainApp, "store-1", &online)
            .await
            .unwrap_err();
        assert!(
            app.message.contains("APP_CREDENTIALS_ID") && app.message.contains("no \"app\" key"),
            "{app}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "neither was sent");

        assert!(
            api.set_store_status(Partner::DoorDash, "store-1", &online)
                .await
                .unwrap(),
            "DoorDash publishes a store status call"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "DoorDash's went out");

        let uber = api
            .set_store_status(Partner::UberEats, "store-1", &online)
            .await
            .unwrap_err();
        assert!(uber.message.contains("no API client"), "{uber}");
    }

    #[tokio::test]
    async fn each_api_is_granted_its_own_secret_and_no_other() {
        let env = aws_env(&[
            (vars::UBEREATS_CREDENTIALS_ID, "arn:ubereats".into()),
            (vars::POS_CREDENTIALS_ID, "arn:pos".into()),
            (vars::UBEREATS_API_URL, "https://api.uber.example".into()),
            (
                vars::UBEREATS_TOKEN_URL,
                "https://auth.uber.example/token".into(),
            ),
            (vars::PARTNER_TOKENS_TABLE, "tokens".into()),
            (vars::POS_API_URL, "https://pos.example".into()),
        ]);
        let backend = Backend::from_env(&env).await.unwrap();
        backend
            .partner_api(&env, &[(Partner::UberEats, vars::UBEREATS_API_URL)])
            .await
            .unwrap();
        let secrets: Vec<String> = backend
            .aws_calls()
            .into_iter()
            .filter(|c| c.action.starts_with("secretsmanager:"))
            .map(|c| format!("{:?}", c.resource))
            .collect();
        assert_eq!(secrets.len(), 1, "{secrets:?}");
        assert!(
            secrets[0].contains("UBEREATS_CREDENTIALS_ID"),
            "{secrets:?}"
        );
        backend.pos_api(&env).await.unwrap();
        let secrets = backend
            .aws_calls()
            .into_iter()
            .filter(|c| c.action.starts_with("secretsmanager:"))
            .count();
        assert_eq!(secrets, 2, "the POS's own secret joins");
    }
}
