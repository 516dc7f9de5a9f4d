//! The stores' POS API (one gateway, store in the path).
//!
//! * `POST /pos/v1/stores/{store}/orders` with `Idempotency-Key` → `201 {"posOrderId"}`
//!   (`200` with the same id on a repeat);
//! * `GET /pos/v1/stores/{store}/orders?idempotencyKey={key}` → `{"posOrderId"}`, `404` if none;
//! * `POST /pos/v1/stores/{store}/orders/{posOrderId}/void` → `200`;
//! * `GET /pos/v1/stores/{store}/orders/{posOrderId}` → `{"status"}`.

use async_trait::async_trait;
use order_domain::{PosOrderId, StoreId};
use partners::HttpMethod;
use partners::api::encode_segment;
use pipeline::ports::{ApiError, ErrorKind, PosApi, PosTicket};
use serde_json::Value;

use crate::auth::Authorizer;
use crate::json_http::{HttpSettings, JsonHttp, RetryPolicy, build_client};

/// The POS gateway's idempotency header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Path of the create call.
pub fn orders_path(store: &StoreId) -> String {
    format!("/pos/v1/stores/{}/orders", encode_segment(store.as_str()))
}

/// Path of one order.
pub fn order_path(store: &StoreId, id: &PosOrderId) -> String {
    format!("{}/{}", orders_path(store), encode_segment(id.as_str()))
}

/// Talks to the POS gateway.
#[derive(Debug, Clone)]
pub struct PosHttpClient {
    api: JsonHttp,
}

impl PosHttpClient {
    /// A client for the gateway at `base_url` with `api_key`.
    pub fn new(
        base_url: impl Into<String>,
        api_key: String,
        settings: HttpSettings,
        retry: RetryPolicy,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            api: JsonHttp::new(
                build_client(settings)?,
                "pos",
                base_url,
                Authorizer::bearer(api_key),
                retry,
            ),
        })
    }
}

fn field<'a>(body: &'a Value, name: &str, operation: &str) -> Result<&'a str, ApiError> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::new(
            ErrorKind::Permanent,
            "pos",
            operation,
            format!("the answer has no {name}"),
        )
    })
}

#[async_trait]
impl PosApi for PosHttpClient {
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        idempotency_key: &str,
    ) -> Result<PosOrderId, ApiError> {
        const OP: &str = "create order";
        let body = serde_json::to_value(ticket)
            .map_err(|e| ApiError::new(ErrorKind::Permanent, "pos", OP, e.to_string()))?;
        let (_, answer) = self
            .api
            .call(
                OP,
                HttpMethod::Post,
                &orders_path(store),
                Some(&body),
                &[(IDEMPOTENCY_HEADER, idempotency_key.to_owned())],
            )
            .await?;
        PosOrderId::parse(field(&answer, "posOrderId", OP)?)
            .map_err(|e| ApiError::new(ErrorKind::Permanent, "pos", OP, e.to_string()))
    }

    async fn find(
        &self,
        store: &StoreId,
        idempotency_key: &str,
    ) -> Result<Option<PosOrderId>, ApiError> {
        const OP: &str = "find order";
        let path = format!(
            "{}?idempotencyKey={}",
            orders_path(store),
            encode_segment(idempotency_key)
        );
        match self.api.call(OP, HttpMethod::Get, &path, None, &[]).await {
            Ok((_, answer)) => PosOrderId::parse(field(&answer, "posOrderId", OP)?)
                .map(Some)
                .map_err(|e| ApiError::new(ErrorKind::Permanent, "pos", OP, e.to_string())),
            Err(e) if e.status == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn void(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError> {
        let path = format!("{}/void", order_path(store, pos_order_id));
        self.api
            .call("void order", HttpMethod::Post, &path, None, &[])
            .await?;
        Ok(())
    }

    async fn status(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<String, ApiError> {
        const OP: &str = "order status";
        let (_, answer) = self
            .api
            .call(
                OP,
                HttpMethod::Get,
                &order_path(store, pos_order_id),
                None,
                &[],
            )
            .await?;
        Ok(field(&answer, "status", OP)?.to_owned())
    }
}
