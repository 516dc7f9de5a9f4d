//! The partner APIs behind one client: the request shapes come from the `partners` crate.

use std::collections::HashMap;

use async_trait::async_trait;
use order_domain::{OrderId, Partner, PartnerOrderId};
use partners::outbound::ApiCredentials;
use partners::{OrderRef, PartnerAction, api};
use pipeline::ports::{ApiError, ErrorKind, PartnerApi};
use serde_json::Value;

use crate::auth::Authorizer;
use crate::json_http::{HttpSettings, JsonHttp, RetryPolicy, build_client};

/// A partner's base URL and API credentials.
#[derive(Clone)]
pub struct PartnerEndpoint {
    /// Base URL, e.g. `https://api.partner.example`.
    pub base_url: String,
    /// How calls authenticate ([`partners::outbound`]).
    pub credentials: ApiCredentials,
    /// Where client credentials are exchanged for an access token (Uber:
    /// `https://auth.uber.com/oauth/v2/token`); unused by the other schemes.
    pub token_url: Option<String>,
    /// Where the fleet shares the access token, so one process fetches it for all
    /// ([`crate::auth::TokenCache::shared`]); `None`: each process fetches its own.
    pub token_store: Option<std::sync::Arc<dyn pipeline::ports::TokenStore>>,
}

impl std::fmt::Debug for PartnerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerEndpoint")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Talks to every partner's API.
#[derive(Debug, Clone)]
pub struct PartnerHttpClient {
    apis: HashMap<Partner, JsonHttp>,
}

impl PartnerHttpClient {
    /// A client for the given partners.
    ///
    /// # Errors
    /// The HTTP client could not be built, or a partner's credentials lack what their scheme
    /// needs (client credentials without a token URL).
    pub fn new(
        endpoints: HashMap<Partner, PartnerEndpoint>,
        settings: HttpSettings,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        let client = build_client(settings).map_err(|e| e.to_string())?;
        let apis = endpoints
            .into_iter()
            .map(|(p, e)| {
                let auth = Authorizer::new(
                    e.credentials,
                    &client,
                    e.token_url.as_deref(),
                    e.token_store,
                )
                .map_err(|why| format!("{p}: {why}"))?
                .with_clock(settings.clock);
                Ok((
                    p,
                    JsonHttp::new(client.clone(), p.as_str(), e.base_url, auth, retry),
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { apis })
    }

    /// Sends `req` as `operation` to `partner`: `Ok(false)` without sending when the partner
    /// publishes no such call (`req` is `None`).
    async fn send_if_published(
        &self,
        partner: Partner,
        operation: &str,
        req: Option<partners::ApiRequest>,
    ) -> Result<bool, ApiError> {
        let Some(req) = req else {
            return Ok(false);
        };
        self.api(partner, operation)?
            .call(operation, req.method, &req.path, req.body.as_ref(), &[])
            .await?;
        Ok(true)
    }

    fn api(&self, partner: Partner, operation: &str) -> Result<&JsonHttp, ApiError> {
        self.apis.get(&partner).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Permanent,
                partner.as_str(),
                operation,
                format!("no API endpoint configured for {partner}"),
            )
        })
    }
}

#[async_trait]
impl PartnerApi for PartnerHttpClient {
    async fn fetch_order(&self, partner: Partner, id: &PartnerOrderId) -> Result<Value, ApiError> {
        let req = api::fetch_order(partner, id).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Permanent,
                partner.as_str(),
                "fetch order",
                format!("{partner} orders are pushed whole, not fetched"),
            )
        })?;
        let (_, body) = self
            .api(partner, "fetch order")?
            .call("fetch order", req.method, &req.path, None, &[])
            .await?;
        Ok(body)
    }

    async fn notify(
        &self,
        order: &OrderRef,
        order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError> {
        let operation = match action {
            PartnerAction::Accept { .. } => "accept order",
            PartnerAction::Deny(_) | PartnerAction::DenyFailure { .. } => "deny order",
            PartnerAction::Cancel { .. } => "cancel order",
        };
        let req = api::action(order, order_id, action);
        let answer = self
            .api(order.partner, operation)?
            .call(operation, req.method, &req.path, req.body.as_ref(), &[])
            .await;
        match answer {
            Ok(_) => Ok(()),
            // The partner says the order already ended its way (`api::already_done`).
            Err(e)
                if e.status
                    .is_some_and(|s| api::already_done(order.partner, action, s)) =>
            {
                tracing::info!(
                    partner = order.partner.as_str(),
                    order_id = order_id.as_str(),
                    status = e.status,
                    "{operation}: the partner says the order has already ended; nothing to do"
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError> {
        let req = partners::store_api::store_status(partner, partner_store_id, availability);
        self.send_if_published(partner, "set store status", req)
            .await
    }

    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError> {
        let req = partners::store_api::item_availability(
            partner,
            partner_store_id,
            partner_item_id,
            availability,
        );
        self.send_if_published(partner, "set item availability", req)
            .await
    }
}
