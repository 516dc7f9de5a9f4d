//! store-status: a store paused or resumed in the runtime catalogue is shown so on every
//! partner that publishes a store-status call ([`partners::api::store_status`]).
//!
//! The event is the trigger; the catalogue is the truth. The store's status is read when the
//! event is handled (the function caches nothing and reads strongly consistent), not taken
//! from the event, so a pause and a resume handled out of order (EventBridge does not keep
//! order) still leave each partner showing the store as it is now. Setting a status is
//! idempotent, so a retried event re-tells partners already told, harmlessly.

use std::sync::Arc;

use order_domain::{Availability, Partner, StoreId};
use order_events::{BusEvent, StorePaused, StoreResumed};
use partners::StoreAvailability;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::errors::PipelineError;
use crate::ports::{CatalogSource, Clock, PartnerApi};

/// The bus events store-status handles (source, detail-type); its rule in the template must
/// match exactly these.
pub const HANDLED: [(&str, &str); 2] = [
    (StorePaused::SOURCE, StorePaused::DETAIL_TYPE),
    (StoreResumed::SOURCE, StoreResumed::DETAIL_TYPE),
];

/// What one event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatusSummary {
    /// The store.
    pub store_id: StoreId,
    /// What the partners were told: the store's status when the event was handled.
    pub availability: Option<StoreAvailability>,
    /// Partners told.
    pub told: Vec<Partner>,
    /// Partners of the store that publish no store-status call (paused there by hand).
    pub not_supported: Vec<Partner>,
    /// Why nothing was told, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The store-status use case.
pub struct StoreStatusSync {
    /// Stores (read uncached: see the module's note).
    pub catalog: Arc<dyn CatalogSource>,
    /// The partners' APIs.
    pub partners: Arc<dyn PartnerApi>,
    /// Time (a pause whose end has passed has lifted).
    pub clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreNamed {
    store_id: StoreId,
}

/// The status a partner is told for a store's availability.
pub fn told_as(availability: Availability<'_>) -> StoreAvailability {
    match availability {
        Availability::Open => StoreAvailability::Online,
        Availability::Paused(Some(p)) => StoreAvailability::Paused {
            reason: p.reason.clone(),
            until: p.until,
        },
        Availability::Paused(None) => StoreAvailability::Paused {
            reason: "paused".to_owned(),
            until: None,
        },
        Availability::Closed => StoreAvailability::Paused {
            reason: "closed".to_owned(),
            until: None,
        },
    }
}

impl StoreStatusSync {
    /// Runs one catalogue event delivered to `store-status`.
    ///
    /// # Errors
    /// [`PipelineError::InvalidInput`] for an event it does not handle or without a store id;
    /// [`PipelineError::Storage`] if the catalogue cannot be read; after every partner has been
    /// tried, the first partner failure ([`PipelineError::PartnerUnavailable`] if transient,
    /// else [`PipelineError::PartnerRefused`]), so the event is retried and, past its retries,
    /// lands in the failures queue.
    pub async fn handle(
        &self,
        event: &order_events::Envelope<serde_json::Value>,
    ) -> Result<StoreStatusSummary, PipelineError> {
        let pair = (event.source.as_str(), event.detail_type.as_str());
        if !HANDLED.contains(&pair) {
            return Err(PipelineError::InvalidInput(format!(
                "store-status does not handle {} from {}",
                event.detail_type, event.source
            )));
        }
        let named: StoreNamed = event
            .detail
            .get("data")
            .cloned()
            .ok_or_else(|| {
                PipelineError::InvalidInput(format!("{} detail has no data", event.detail_type))
            })
            .and_then(|d| {
                serde_json::from_value(d).map_err(|e| {
                    PipelineError::InvalidInput(format!("{} detail: {e}", event.detail_type))
                })
            })?;
        let store_id = named.store_id;
        let mut summary = StoreStatusSummary {
            store_id: store_id.clone(),
            availability: None,
            told: vec![],
            not_supported: vec![],
            note: None,
        };
        // Told as read, then read again: a change made while the partners were being told
        // (a resume landing during a slow pause) is told too, so the last word is the latest.
        let mut availability = match self.availability(&store_id).await? {
            Some(a) => a,
            None => {
                summary.note = Some(format!("store {store_id} is not in the catalogue"));
                return Ok(summary);
            }
        };
        for _ in 0..MAX_ROUNDS {
            let (told, not_supported, failure) = self.tell(&availability).await;
            summary.told = told;
            summary.not_supported = not_supported;
            if let Some(e) = failure {
                return Err(if e.is_transient() {
                    PipelineError::PartnerUnavailable(e)
                } else {
                    PipelineError::PartnerRefused(e)
                });
            }
            match self.availability(&store_id).await? {
                Some(now) if now != availability => availability = now,
                _ => break,
            }
        }
        info!(store_id = %store_id, told = summary.told.len(), "store status told");
        summary.availability = Some(availability.0);
        Ok(summary)
    }

    /// The store's availability now, from the catalogue; `None` if it holds no such store.
    async fn availability(
        &self,
        store_id: &StoreId,
    ) -> Result<Option<(StoreAvailability, Vec<(Partner, String)>)>, PipelineError> {
        let Some(catalog) = self
            .catalog
            .store(store_id)
            .await
            .map_err(PipelineError::Storage)?
        else {
            return Ok(None);
        };
        Ok(catalog.store(store_id).map(|store| {
            (
                told_as(store.availability_at(self.clock.now())),
                store
                    .partner_store_ids
                    .iter()
                    .map(|(p, id)| (*p, id.clone()))
                    .collect(),
            )
        }))
    }

    /// Tells every partner of the store at once: who was told, who has no such call, and the
    /// first failure (after every partner was tried).
    async fn tell(
        &self,
        (availability, partners): &(StoreAvailability, Vec<(Partner, String)>),
    ) -> (Vec<Partner>, Vec<Partner>, Option<crate::ports::ApiError>) {
        let calls = partners.iter().map(|(partner, id)| async move {
            (
                *partner,
                self.partners
                    .set_store_status(*partner, id, availability)
                    .await,
            )
        });
        let (mut told, mut not_supported, mut failure) = (vec![], vec![], None);
        for (partner, result) in futures::future::join_all(calls).await {
            match result {
                Ok(true) => told.push(partner),
                Ok(false) => not_supported.push(partner),
                Err(e) => {
                    warn!(partner = partner.as_str(), error = %e, "store status not told");
                    failure.get_or_insert(e);
                }
            }
        }
        (told, not_supported, failure)
    }
}

/// How many times a store is told before the function stops chasing changes made while it
/// told (each round is a read and one call per partner).
const MAX_ROUNDS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Fault, InMemoryPartnerApi};
    use crate::ports::ErrorKind;

    struct Fixed(chrono::DateTime<chrono::Utc>);
    impl Clock for Fixed {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            self.0
        }
    }

    fn event(detail_type: &str, store: &str) -> order_events::Envelope<serde_json::Value> {
        serde_json::from_value(serde_json::json!({
            "source": "chain.orders.catalogue",
            "detail-type": detail_type,
            "detail": { "metadata": {}, "data": { "storeId": store } },
        }))
        .unwrap()
    }

    /// The catalogue with S1001 in `status` (and its pause's end), at `now`.
    fn sync(
        status: &str,
        until: Option<&str>,
        now: &str,
    ) -> (StoreStatusSync, Arc<InMemoryPartnerApi>) {
        let mut doc: serde_json::Value =
            serde_json::from_str(order_domain::Catalog::embedded_json()).unwrap();
        let store = doc["stores"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["id"] == "S1001")
            .unwrap();
        store["status"] = serde_json::json!(status);
        if status == "paused" {
            store["pause"] = serde_json::json!({ "reason": "fryer down", "until": until });
        }
        let catalog = order_domain::Catalog::from_json(&doc.to_string()).unwrap();
        let partners = Arc::new(InMemoryPartnerApi::default());
        let sync = StoreStatusSync {
            catalog: Arc::new(crate::memory::InMemoryCatalog::new(catalog)),
            partners: partners.clone(),
            clock: Arc::new(Fixed(now.parse().unwrap())),
        };
        (sync, partners)
    }

    #[tokio::test]
    async fn the_partners_are_told_the_catalogues_status_whatever_the_event_says() {
        // A resume handled after the pause it followed, or a pause handled after a resume:
        // each tells the store as the catalogue has it.
        let (s, partners) = sync("paused", None, "2026-12-02T10:00:00Z");
        let summary = s.handle(&event("Store Resumed", "S1001")).await.unwrap();
        let paused = StoreAvailability::Paused {
            reason: "fryer down".to_owned(),
            until: None,
        };
        assert_eq!(summary.availability, Some(paused.clone()));
        assert_eq!(summary.not_supported, [Partner::Grubhub]);
        let told = partners.store_statuses();
        assert_eq!(told.len(), summary.told.len());
        assert!(
            told.iter()
                .all(|(p, _, a)| *p != Partner::Grubhub && *a == paused)
        );
        // A pause whose end has passed has lifted: online.
        let (s, partners) = sync(
            "paused",
            Some("2026-12-02T09:00:00Z"),
            "2026-12-02T10:00:00Z",
        );
        s.handle(&event("Store Paused", "S1001")).await.unwrap();
        assert!(
            partners
                .store_statuses()
                .iter()
                .all(|(_, _, a)| *a == StoreAvailability::Online)
        );
        assert!(!partners.store_statuses().is_empty());
    }

    /// Partner APIs that resume the store in the catalogue while the first status is being
    /// told, as an operator's resume landing during a slow pause would.
    struct ResumeWhileTelling {
        inner: InMemoryPartnerApi,
        catalog: Arc<crate::memory::InMemoryCatalog>,
        resumed: std::sync::Mutex<Option<order_domain::Catalog>>,
    }

    #[async_trait::async_trait]
    impl PartnerApi for ResumeWhileTelling {
        async fn fetch_order(
            &self,
            p: Partner,
            id: &order_domain::PartnerOrderId,
        ) -> Result<serde_json::Value, crate::ports::ApiError> {
            self.inner.fetch_order(p, id).await
        }
        async fn notify(
            &self,
            o: &partners::OrderRef,
            id: &order_domain::OrderId,
            a: &partners::PartnerAction,
        ) -> Result<(), crate::ports::ApiError> {
            self.inner.notify(o, id, a).await
        }
        async fn set_store_status(
            &self,
            p: Partner,
            id: &str,
            a: &StoreAvailability,
        ) -> Result<bool, crate::ports::ApiError> {
            if let Some(resumed) = self.resumed.lock().unwrap().take() {
                self.catalog.replace(resumed);
            }
            self.inner.set_store_status(p, id, a).await
        }
    }

    #[tokio::test]
    async fn a_resume_made_while_a_pause_is_being_told_is_told_after_it() {
        let (paused, _) = sync("paused", None, "2026-12-02T10:00:00Z");
        let (open, _) = sync("open", None, "2026-12-02T10:00:00Z");
        let read = |s: &StoreStatusSync| {
            let c = s.catalog.clone();
            async move {
                (*c.store(&StoreId::parse("S1001").unwrap())
                    .await
                    .unwrap()
                    .unwrap())
                .clone()
            }
        };
        let catalog = Arc::new(crate::memory::InMemoryCatalog::new(read(&paused).await));
        let partners = Arc::new(ResumeWhileTelling {
            inner: InMemoryPartnerApi::default(),
            catalog: catalog.clone(),
            resumed: std::sync::Mutex::new(Some(read(&open).await)),
        });
        let s = StoreStatusSync {
            catalog,
            partners: partners.clone(),
            clock: Arc::new(Fixed("2026-12-02T10:00:00Z".parse().unwrap())),
        };
        let summary = s.handle(&event("Store Paused", "S1001")).await.unwrap();
        assert_eq!(summary.availability, Some(StoreAvailability::Online));
        // Each partner: paused, then online; the last word is the catalogue's latest.
        let told = partners.inner.store_statuses();
        for p in [Partner::UberEats, Partner::DoorDash, Partner::ChainApp] {
            let seen: Vec<bool> = told
                .iter()
                .filter(|(q, _, _)| *q == p)
                .map(|(_, _, a)| *a == StoreAvailability::Online)
                .collect();
            assert_eq!(seen, [false, true], "{p}");
        }
    }

    #[tokio::test]
    async fn a_partner_failure_is_returned_after_every_other_partner_is_told() {
        let (s, partners) = sync("open", None, "2026-12-02T10:00:00Z");
        partners.fail_next([Fault {
            kind: ErrorKind::Transient,
            status: Some(503),
        }]);
        let e = s
            .handle(&event("Store Resumed", "S1001"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, PipelineError::PartnerUnavailable(a) if a.kind == ErrorKind::Transient),
            "{e}"
        );
        // The others were told despite the first failing.
        assert!(!partners.store_statuses().is_empty());
        let unknown = s.handle(&event("Store Paused", "S9999")).await.unwrap();
        assert!(unknown.note.unwrap().contains("S9999"));
        let other = s
            .handle(&event("Menu Published", "S1001"))
            .await
            .unwrap_err();
        assert!(matches!(other, PipelineError::InvalidInput(_)));
    }
}
