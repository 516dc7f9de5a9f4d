//! The partner APIs behind one client: the request shapes come from the `partners` crate.

use std::collections::HashMap;

use async_trait::async_trait;
use order_domain::{OrderId, Partner, PartnerOrderId};
use partners::{OrderRef, PartnerAction, api};
use pipeline::ports::{ApiError, ErrorKind, PartnerApi};
use serde_json::Value;

use crate::json_http::{HttpSettings, JsonHttp, RetryPolicy, build_client};

/// A partner's base URL and API token.
#[derive(Clone)]
pub struct PartnerEndpoint {
    /// Base URL, e.g. `https://api.partner.example`.
    pub base_url: String,
    /// Bearer token for the partner's API.
    pub token: String,
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
    pub fn new(
        endpoints: HashMap<Partner, PartnerEndpoint>,
        settings: HttpSettings,
        retry: RetryPolicy,
    ) -> Result<Self, reqwest::Error> {
        let client = build_client(settings)?;
        let apis = endpoints
            .into_iter()
            .map(|(p, e)| {
                (
                    p,
                    JsonHttp::new(client.clone(), p.as_str(), e.base_url, Some(e.token), retry),
                )
            })
            .collect();
        Ok(Self { apis })
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
}
