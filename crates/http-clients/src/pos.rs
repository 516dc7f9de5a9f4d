//! The stores' POS API (one gateway, store in the path).
//!
//! * `POST /pos/v1/stores/{store}/orders` with `Idempotency-Key` → `201 {"posOrderId"}`
//!   (`200` with the same id on a repeat);
//! * `GET /pos/v1/stores/{store}/orders?idempotencyKey={key}` → `{"posOrderId"}`, `404` if none;
//! * `POST /pos/v1/stores/{store}/orders/{posOrderId}/void` → `200`;
//! * `GET /pos/v1/stores/{store}/orders/{posOrderId}` → `{"status"}`.
//!
//! Each store's POS has a circuit breaker (the `failsafe` crate's state machine), per
//! process: after [`BREAKER_FAILURES`] calls in a row fail transiently (the client's own
//! retries spent each time), calls to that store fail at once with a transient error naming
//! the open circuit, for 5 s and then doubling up to a minute; the next call after that is
//! tried, and a success closes it. A POS that is down then costs each execution environment
//! one call a minute, not three attempts per order per workflow retry.

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

/// Consecutive transient failures that open a store's circuit.
pub const BREAKER_FAILURES: u32 = 3;

type Breaker = failsafe::StateMachine<
    failsafe::failure_policy::ConsecutiveFailures<failsafe::backoff::Exponential>,
    (),
>;

/// Talks to the POS gateway.
#[derive(Clone)]
pub struct PosHttpClient {
    api: JsonHttp,
    breakers: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Breaker>>>,
}

impl std::fmt::Debug for PosHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PosHttpClient")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
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
            breakers: std::sync::Arc::default(),
        })
    }

    fn breaker(&self, store: &StoreId) -> Breaker {
        self.breakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(store.as_str().to_owned())
            .or_insert_with(|| {
                failsafe::StateMachine::new(
                    failsafe::failure_policy::consecutive_failures(
                        BREAKER_FAILURES,
                        failsafe::backoff::exponential(
                            std::time::Duration::from_secs(5),
                            std::time::Duration::from_secs(60),
                        ),
                    ),
                    (),
                )
            })
            .clone()
    }

    /// Runs `call` through `store`'s circuit: refused at once while it is open; a transient
    /// failure counts against it, anything the POS answered (a success or a refusal) closes it.
    async fn guarded<T>(
        &self,
        store: &StoreId,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let breaker = self.breaker(store);
        if !breaker.is_call_permitted() {
            return Err(ApiError::new(
                ErrorKind::Transient,
                "pos",
                operation,
                format!(
                    "store {store}'s POS failed {BREAKER_FAILURES} calls in a row: calls are held off (circuit open)"
                ),
            ));
        }
        let result = call.await;
        match &result {
            Err(e) if e.is_transient() => breaker.on_error(),
            _ => breaker.on_success(),
        }
        result
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
            .guarded(
                store,
                OP,
                self.api.call(
                    OP,
                    HttpMethod::Post,
                    &orders_path(store),
                    Some(&body),
                    &[(IDEMPOTENCY_HEADER, idempotency_key.to_owned())],
                ),
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
        match self
            .guarded(
                store,
                OP,
                self.api.call(OP, HttpMethod::Get, &path, None, &[]),
            )
            .await
        {
            Ok((_, answer)) => PosOrderId::parse(field(&answer, "posOrderId", OP)?)
                .map(Some)
                .map_err(|e| ApiError::new(ErrorKind::Permanent, "pos", OP, e.to_string())),
            Err(e) if e.status == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn void(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError> {
        let path = format!("{}/void", order_path(store, pos_order_id));
        self.guarded(
            store,
            "void order",
            self.api
                .call("void order", HttpMethod::Post, &path, None, &[]),
        )
        .await?;
        Ok(())
    }

    async fn status(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<String, ApiError> {
        const OP: &str = "order status";
        let (_, answer) = self
            .guarded(
                store,
                OP,
                self.api.call(
                    OP,
                    HttpMethod::Get,
                    &order_path(store, pos_order_id),
                    None,
                    &[],
                ),
            )
            .await?;
        Ok(field(&answer, "status", OP)?.to_owned())
    }
}
