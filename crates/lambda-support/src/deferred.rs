//! Partner and POS clients whose credentials are read in the background: the secret read
//! starts during the function's init but does not hold it up (Lambda bills the init, and a
//! cold start's first event waits for it), and the first call waits for it only if it has not
//! finished. A read that fails is tried again by the next call (the failure is reported as a
//! transient API error, so the workflow retries), never cached. Each partner's client is its
//! own [`Deferred`] ([`PartnerClients`]): one partner's bad credentials stop only its calls.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use order_domain::{OrderId, Partner, PartnerOrderId, PosOrderId, StoreId};
use partners::{OrderRef, PartnerAction};
use pipeline::ports::{ApiError, ErrorKind, PartnerApi, PosApi, PosTicket};
use tokio::sync::{Mutex, OnceCell};
use tokio::task::JoinHandle;

type Build<T> = Arc<dyn Fn() -> BoxFuture<'static, Result<Arc<T>, String>> + Send + Sync>;
/// The first build, started at init.
type FirstBuild<T> = Mutex<Option<JoinHandle<Result<Arc<T>, String>>>>;

/// A value built in the background once, on first need again if that failed.
pub struct Deferred<T: ?Sized + Send + Sync + 'static> {
    cell: OnceCell<Arc<T>>,
    first: FirstBuild<T>,
    build: Build<T>,
    /// The API it is, for errors (`partner`, `pos`).
    service: &'static str,
}

impl<T: ?Sized + Send + Sync + 'static> Deferred<T> {
    /// Starts building at once, on the runtime, with `build`.
    pub fn spawn(
        service: &'static str,
        build: impl Fn() -> BoxFuture<'static, Result<Arc<T>, String>> + Send + Sync + 'static,
    ) -> Self {
        let build: Build<T> = Arc::new(build);
        let first = tokio::spawn(build());
        Self {
            cell: OnceCell::new(),
            first: Mutex::new(Some(first)),
            build,
            service,
        }
    }

    /// The value, waiting for it if needed; `operation` names the call for the error.
    pub async fn get(&self, operation: &str) -> Result<Arc<T>, ApiError> {
        self.cell
            .get_or_try_init(|| async {
                let first = self.first.lock().await.take();
                match first {
                    Some(h) => h.await.map_err(|e| e.to_string())?,
                    None => (self.build)().await,
                }
            })
            .await
            .cloned()
            .map_err(|why| {
                ApiError::new(
                    ErrorKind::NotConfigured,
                    self.service,
                    operation,
                    format!("its client could not be configured: {why}"),
                )
            })
    }
}

#[async_trait]
impl PartnerApi for Deferred<dyn PartnerApi> {
    async fn fetch_order(
        &self,
        partner: Partner,
        id: &PartnerOrderId,
    ) -> Result<serde_json::Value, ApiError> {
        self.get("fetch order")
            .await?
            .fetch_order(partner, id)
            .await
    }

    async fn notify(
        &self,
        order: &OrderRef,
        order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError> {
        self.get("notify")
            .await?
            .notify(order, order_id, action)
            .await
    }

    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError> {
        self.get("set store status")
            .await?
            .set_store_status(partner, partner_store_id, availability)
            .await
    }

    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError> {
        self.get("set item availability")
            .await?
            .set_item_availability(partner, partner_store_id, partner_item_id, availability)
            .await
    }
}

/// Each partner's client, built apart ([`crate::clients`]): calls go to the client of the
/// partner they are for, so one partner's missing or malformed credentials fail that partner's
/// calls only. A call for a partner the function has no client for is refused (permanent).
pub struct PartnerClients {
    clients: HashMap<Partner, Deferred<dyn PartnerApi>>,
}

impl PartnerClients {
    /// The clients, by partner.
    pub fn new(clients: HashMap<Partner, Deferred<dyn PartnerApi>>) -> Self {
        Self { clients }
    }

    fn of(&self, partner: Partner, operation: &str) -> Result<&Deferred<dyn PartnerApi>, ApiError> {
        self.clients.get(&partner).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Permanent,
                partner.as_str(),
                operation,
                format!("this function has no API client for {partner}"),
            )
        })
    }
}

#[async_trait]
impl PartnerApi for PartnerClients {
    async fn fetch_order(
        &self,
        partner: Partner,
        id: &PartnerOrderId,
    ) -> Result<serde_json::Value, ApiError> {
        self.of(partner, "fetch order")?
            .fetch_order(partner, id)
            .await
    }

    async fn notify(
        &self,
        order: &OrderRef,
        order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError> {
        self.of(order.partner, "notify")?
            .notify(order, order_id, action)
            .await
    }

    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError> {
        self.of(partner, "set store status")?
            .set_store_status(partner, partner_store_id, availability)
            .await
    }

    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError> {
        self.of(partner, "set item availability")?
            .set_item_availability(partner, partner_store_id, partner_item_id, availability)
            .await
    }
}

#[async_trait]
impl PosApi for Deferred<dyn PosApi> {
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        idempotency_key: &str,
    ) -> Result<PosOrderId, ApiError> {
        self.get("create")
            .await?
            .create(store, ticket, idempotency_key)
            .await
    }

    async fn find(
        &self,
        store: &StoreId,
        idempotency_key: &str,
    ) -> Result<Option<PosOrderId>, ApiError> {
        self.get("find").await?.find(store, idempotency_key).await
    }

    async fn void(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError> {
        self.get("void").await?.void(store, pos_order_id).await
    }

    async fn status(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<String, ApiError> {
        self.get("status").await?.status(store, pos_order_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_failed_build_is_retried_by_the_next_call_and_a_good_one_kept() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let d: Deferred<str> = Deferred::spawn("pos", move || {
            let n = a.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n == 0 {
                    Err("AccessDeniedException".to_owned())
                } else {
                    Ok(Arc::from("client"))
                }
            })
        });
        let e = d.get("create").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotConfigured);
        assert!(e.is_transient(), "retried as a transient failure is");
        assert!(e.message.contains("AccessDeniedException"), "{e}");
        assert_eq!(&*d.get("create").await.unwrap(), "client");
        assert_eq!(&*d.get("create").await.unwrap(), "client");
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            2,
            "built once more, then kept"
        );
    }
}
