//! store-status: a store paused or resumed, or an item or modifier sold out or back, in the
//! runtime catalogue is shown so on every partner that publishes a call for it
//! ([`partners::store_api`]); a partner's menu refresh request (Uber Eats') has that partner
//! told the store's status and every item's availability again.
//!
//! The event is the trigger; the catalogue is the truth. The store's status, or the item's, is
//! read when the event is handled (the function caches nothing and reads strongly consistent),
//! not taken from the event, so a pause and a resume (or a sold-out and a back) handled out of
//! order (EventBridge does not keep order) still leave each partner showing the store as it is
//! now. Setting a status is idempotent, so a retried event re-tells partners already told,
//! harmlessly.

use std::sync::Arc;

use order_domain::{Availability, Catalog, Partner, PosItemCode, Store, StoreId};
use order_events::{
    BusEvent, ItemAvailabilityChanged, MenuRefreshRequested, StorePaused, StoreResumed,
};
use partners::{ItemAvailability, StoreAvailability};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::errors::PipelineError;
use crate::ports::{ApiError, CatalogSource, Clock, PartnerApi};

mod refresh;

/// The bus events store-status handles (source, detail-type); its rule in the template must
/// match exactly these.
pub const HANDLED: [(&str, &str); 4] = [
    (StorePaused::SOURCE, StorePaused::DETAIL_TYPE),
    (StoreResumed::SOURCE, StoreResumed::DETAIL_TYPE),
    (
        ItemAvailabilityChanged::SOURCE,
        ItemAvailabilityChanged::DETAIL_TYPE,
    ),
    (
        MenuRefreshRequested::SOURCE,
        MenuRefreshRequested::DETAIL_TYPE,
    ),
];

/// How many item calls a menu refresh has in flight to the partner at once.
pub const REFRESH_CONCURRENCY: usize = 8;

/// What one event did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatusSummary {
    /// The store; none when a partner's refresh names a store the catalogue does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    /// What the partners were told of the store (a pause or resume, or a refresh): its status
    /// when the event was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<StoreAvailability>,
    /// What the partners were told of items (one for a sold-out or back, every item the
    /// partner lists for a refresh): each POS code and whether it could be ordered when the
    /// event was handled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemTold>,
    /// Partners told.
    pub told: Vec<Partner>,
    /// Partners of the store that publish no such call (changed there by hand).
    pub not_supported: Vec<Partner>,
    /// Partners of the store whose menu does not list the item: none of their ids is on the
    /// catalogue's menu, or they answered 404 (nothing to tell them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_listed: Vec<Partner>,
    /// POS codes the partner answered it does not list (404) during a menu refresh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_listed_items: Vec<String>,
    /// Why nothing was told, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An item's availability as told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemTold {
    /// The item's or modifier's POS code.
    pub pos_code: String,
    /// Whether it can be ordered.
    pub available: bool,
}

/// The store-status use case.
pub struct StoreStatusSync {
    /// Stores (read uncached: see the module's note).
    pub catalog: Arc<dyn CatalogSource>,
    /// The partners' APIs.
    pub partners: Arc<dyn PartnerApi>,
    /// Time (a pause whose end has passed has lifted; a sold-out's told end).
    pub clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Named {
    store_id: StoreId,
    #[serde(default)]
    pos_code: Option<String>,
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

/// One round of telling.
#[derive(Debug, Default)]
struct Round {
    /// Partners told.
    told: Vec<Partner>,
    /// Partners without such a call.
    not_supported: Vec<Partner>,
    /// Partners that answered that they do not list the item.
    not_listed: Vec<Partner>,
    /// The first failure.
    failure: Option<ApiError>,
}

/// A store's status as read: what to tell, and each partner with its store id.
type StoreState = (StoreAvailability, Vec<(Partner, String)>);

/// An item's status as read: whether it can be ordered, each partner listing it (with its
/// store id and item id), and the store's partners whose menu does not list it.
#[derive(PartialEq)]
struct ItemState {
    available: bool,
    listed: Vec<(Partner, String, String)>,
    not_listed: Vec<Partner>,
}

impl StoreStatusSync {
    /// Runs one catalogue event delivered to `store-status`.
    ///
    /// # Errors
    /// [`PipelineError::InvalidInput`] for an event it does not handle, without a store id, or
    /// (an item event) without a POS code; [`PipelineError::Storage`] if the catalogue cannot
    /// be read; after every partner has been tried, the first partner failure
    /// ([`PipelineError::PartnerUnavailable`] if transient, else
    /// [`PipelineError::PartnerRefused`]), so the event is retried and, past its retries,
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
        let data = event.detail.get("data").cloned().ok_or_else(|| {
            PipelineError::InvalidInput(format!("{} detail has no data", event.detail_type))
        })?;
        let bad = |e: serde_json::Error| {
            PipelineError::InvalidInput(format!("{} detail: {e}", event.detail_type))
        };
        if event.detail_type == MenuRefreshRequested::DETAIL_TYPE {
            let asked: MenuRefreshRequested = serde_json::from_value(data).map_err(bad)?;
            return self.refresh(asked.partner, &asked.partner_store_id).await;
        }
        let named: Named = serde_json::from_value(data).map_err(bad)?;
        let summary = StoreStatusSummary {
            store_id: Some(named.store_id.clone()),
            ..StoreStatusSummary::default()
        };
        if event.detail_type == ItemAvailabilityChanged::DETAIL_TYPE {
            let code = named
                .pos_code
                .as_deref()
                .ok_or_else(|| {
                    PipelineError::InvalidInput(format!(
                        "{} detail has no posCode",
                        event.detail_type
                    ))
                })
                .and_then(|c| {
                    PosItemCode::parse(c).map_err(|e| {
                        PipelineError::InvalidInput(format!(
                            "{} detail: posCode {c:?}: {e}",
                            event.detail_type
                        ))
                    })
                })?;
            self.item(&named.store_id, &code, summary).await
        } else {
            self.store(&named.store_id, summary).await
        }
    }

    /// Tells the store's status.
    async fn store(
        &self,
        store_id: &StoreId,
        mut summary: StoreStatusSummary,
    ) -> Result<StoreStatusSummary, PipelineError> {
        let read = async || {
            Ok(self.read(store_id).await?.and_then(|catalog| {
                catalog.store(store_id).map(|store| {
                    (
                        told_as(store.availability_at(self.clock.now())),
                        partner_stores(store),
                    )
                })
            }))
        };
        let Some(((availability, _), round)) = chase(read, async |state: &StoreState| {
            self.tell_store(state).await
        })
        .await?
        else {
            let note = format!("store {store_id} is not in the catalogue");
            warn!(store_id = %store_id, "nothing told: {note}");
            summary.note = Some(note);
            return Ok(summary);
        };
        info!(store_id = %store_id, told = round.told.len(), "store status told");
        summary.availability = Some(availability);
        summary.told = round.told;
        summary.not_supported = round.not_supported;
        Ok(summary)
    }

    /// Tells the item's availability at the store.
    async fn item(
        &self,
        store_id: &StoreId,
        code: &PosItemCode,
        mut summary: StoreStatusSummary,
    ) -> Result<StoreStatusSummary, PipelineError> {
        let mut missing = format!("store {store_id} is not in the catalogue");
        let read = async || {
            let Some(catalog) = self.read(store_id).await? else {
                return Ok(None);
            };
            Ok(item_state(&catalog, store_id, code))
        };
        let Some((state, round)) =
            chase(read, async |state: &ItemState| self.tell_item(state).await).await?
        else {
            if let Some(catalog) = self.read(store_id).await?
                && catalog.store(store_id).is_some()
            {
                missing = format!("{code} is not on the menu of store {store_id}");
            }
            warn!(store_id = %store_id, pos_code = %code, "nothing told: {missing}");
            summary.note = Some(missing);
            return Ok(summary);
        };
        info!(store_id = %store_id, pos_code = %code, available = state.available, told = round.told.len(), "item availability told");
        summary.items = vec![ItemTold {
            pos_code: code.to_string(),
            available: state.available,
        }];
        summary.told = round.told;
        summary.not_supported = round.not_supported;
        summary.not_listed = state.not_listed;
        summary.not_listed.extend(round.not_listed);
        Ok(summary)
    }

    /// The catalogue holding the store, if any, read as the module's note says.
    async fn read(&self, store_id: &StoreId) -> Result<Option<Arc<Catalog>>, PipelineError> {
        self.catalog
            .store(store_id)
            .await
            .map_err(PipelineError::Storage)
    }

    /// Tells every partner of the store its status at once.
    async fn tell_store(&self, (availability, partners): &StoreState) -> Round {
        gather(
            partners.iter().map(|(partner, id)| async move {
                (
                    *partner,
                    self.partners
                        .set_store_status(*partner, id, availability)
                        .await,
                )
            }),
            false,
        )
        .await
    }

    /// Tells every partner listing the item its availability at once.
    async fn tell_item(&self, state: &ItemState) -> Round {
        let availability = if state.available {
            ItemAvailability::Available
        } else {
            ItemAvailability::sold_out(self.clock.now())
        };
        gather(
            state
                .listed
                .iter()
                .map(|(partner, store, item)| async move {
                    (
                        *partner,
                        self.partners
                            .set_item_availability(*partner, store, item, availability)
                            .await,
                    )
                }),
            true,
        )
        .await
    }
}

/// Each partner of the store with its store id there.
fn partner_stores(store: &Store) -> Vec<(Partner, String)> {
    store
        .partner_store_ids
        .iter()
        .map(|(p, id)| (*p, id.clone()))
        .collect()
}

/// The item `code`'s state at store `store_id` in `catalog`; `None` if the store is not there
/// or its menu lists no such item or modifier.
fn item_state(catalog: &Catalog, store_id: &StoreId, code: &PosItemCode) -> Option<ItemState> {
    let store = catalog.store(store_id)?;
    let menu = catalog.menu_of(store)?;
    let entry = menu.entry(code.as_str())?;
    let (mut listed, mut not_listed) = (vec![], vec![]);
    for (partner, store_pid) in partner_stores(store) {
        match entry.partner_ids.get(&partner) {
            Some(item) => listed.push((partner, store_pid, item.clone())),
            None => not_listed.push(partner),
        }
    }
    Some(ItemState {
        available: !store.unavailable.contains(code),
        listed,
        not_listed,
    })
}

/// Runs the partners' calls together: who was told, who has no such call, who does not list
/// the item, and the first failure (after every partner was tried).
async fn gather(
    calls: impl Iterator<Item = impl Future<Output = (Partner, Result<bool, ApiError>)>>,
    item: bool,
) -> Round {
    let mut round = Round::default();
    for (partner, result) in futures::future::join_all(calls).await {
        match result {
            Ok(true) => round.told.push(partner),
            Ok(false) => round.not_supported.push(partner),
            Err(e) if item && unlisted(&e) => {
                warn!(partner = partner.as_str(), error = %e, "the partner does not list the item");
                round.not_listed.push(partner);
            }
            Err(e) => {
                warn!(partner = partner.as_str(), error = %e, "status not told");
                round.failure.get_or_insert(e);
            }
        }
    }
    round
}

/// Whether a partner's answer to an item call says it has no such item on the store's menu
/// (404): Uber Eats answers so until a menu has been uploaded through its API (U8b), and any
/// partner for an item its menu lacks. Not a failure to retry: the item is reported as not
/// listed, and an order for it is refused as unavailable all the same.
fn unlisted(e: &ApiError) -> bool {
    e.status == Some(404)
}

/// The error a round's failure fails the event with.
fn failed(e: ApiError) -> PipelineError {
    if e.is_transient() {
        PipelineError::PartnerUnavailable(e)
    } else {
        PipelineError::PartnerRefused(e)
    }
}

/// Tells the state `read` returns, then reads again and tells again while it changed (a
/// resume landing while a slow pause was being told is told too, so the last word is the
/// latest), at most [`MAX_ROUNDS`] times. `None` when there is nothing to tell; else the
/// state last told, with its round.
///
/// # Errors
/// A failed read; the first partner failure of a round, once every partner was tried.
async fn chase<T: PartialEq>(
    read: impl AsyncFn() -> Result<Option<T>, PipelineError>,
    tell: impl AsyncFn(&T) -> Round,
) -> Result<Option<(T, Round)>, PipelineError> {
    let Some(mut state) = read().await? else {
        return Ok(None);
    };
    let mut outcome = Round::default();
    for round_number in 1..=MAX_ROUNDS {
        let mut round = tell(&state).await;
        if let Some(e) = round.failure.take() {
            return Err(failed(e));
        }
        outcome = round;
        match read().await? {
            Some(now) if now != state && round_number < MAX_ROUNDS => state = now,
            Some(now) if now != state => {
                // Still changing: the change has an event of its own, which tells it.
                warn!("changed again after {MAX_ROUNDS} rounds; its own event tells it");
                break;
            }
            _ => break,
        }
    }
    // The state last told, never one read after it.
    Ok(Some((state, outcome)))
}

/// How many times a store's or item's status is told before the function stops chasing changes
/// made while it told (each round is a read and one call per partner).
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

    fn item_event(
        store: &str,
        code: &str,
        available: bool,
    ) -> order_events::Envelope<serde_json::Value> {
        let mut e = event("Item Availability Changed", store);
        e.detail["data"]["posCode"] = serde_json::json!(code);
        e.detail["data"]["available"] = serde_json::json!(available);
        e
    }

    /// The catalogue with S1001 in `status` (and its pause's end), at `now`.
    fn sync(
        status: &str,
        until: Option<&str>,
        now: &str,
    ) -> (StoreStatusSync, Arc<InMemoryPartnerApi>) {
        sync_with(now, |doc| {
            let store = s1001(doc);
            store["status"] = serde_json::json!(status);
            if status == "paused" {
                store["pause"] = serde_json::json!({ "reason": "fryer down", "until": until });
            }
        })
    }

    fn s1001(doc: &mut serde_json::Value) -> &mut serde_json::Value {
        doc["stores"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["id"] == "S1001")
            .unwrap()
    }

    /// The repository's catalogue as `edit` leaves it, at `now`.
    fn sync_with(
        now: &str,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> (StoreStatusSync, Arc<InMemoryPartnerApi>) {
        let mut doc: serde_json::Value =
            serde_json::from_str(order_domain::Catalog::embedded_json()).unwrap();
        edit(&mut doc);
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
        // Exactly the three partners that publish a store-status call, each told once, paused.
        let mut who: Vec<Partner> = told.iter().map(|(p, _, _)| *p).collect();
        who.sort_by_key(|p| p.as_str());
        assert_eq!(
            who,
            [Partner::ChainApp, Partner::DoorDash, Partner::UberEats],
            "{told:?}"
        );
        assert!(told.iter().all(|(_, _, a)| *a == paused), "{told:?}");
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

    /// Partner APIs in memory that change the catalogue to `resumed` while the first status is
    /// being told (as an operator's resume landing during a slow pause would), and answer 404
    /// for item `unlisted` (as Uber does for an item not on its menu).
    #[derive(Default)]
    struct ScriptedPartners {
        inner: InMemoryPartnerApi,
        catalog: Option<Arc<crate::memory::InMemoryCatalog>>,
        resumed: std::sync::Mutex<Option<order_domain::Catalog>>,
        unlisted: Option<&'static str>,
    }

    impl ScriptedPartners {
        fn first_call(&self) {
            if let (Some(catalog), Some(resumed)) =
                (&self.catalog, self.resumed.lock().unwrap().take())
            {
                catalog.replace(resumed);
            }
        }
    }

    #[async_trait::async_trait]
    impl PartnerApi for ScriptedPartners {
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
            self.first_call();
            self.inner.set_store_status(p, id, a).await
        }
        async fn set_item_availability(
            &self,
            p: Partner,
            store: &str,
            item: &str,
            a: ItemAvailability,
        ) -> Result<bool, crate::ports::ApiError> {
            self.first_call();
            if self.unlisted == Some(item) {
                return Err(crate::ports::ApiError {
                    status: Some(404),
                    ..crate::ports::ApiError::new(
                        ErrorKind::Permanent,
                        p.as_str(),
                        "set item availability",
                        "404 not found",
                    )
                });
            }
            self.inner.set_item_availability(p, store, item, a).await
        }
    }

    #[tokio::test]
    async fn a_sold_out_item_is_told_to_each_partner_listing_it_by_its_own_ids() {
        let now = "2026-12-02T10:00:00Z";
        // Extra cheese sold out at S1001, and not on the app's menu.
        let (s, partners) = sync_with(now, |doc| {
            s1001(doc)["unavailable"] = serde_json::json!(["ADD-CHEESE"]);
            let cheese = doc["menus"][0]["modifiers"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|m| m["posCode"] == "ADD-CHEESE")
                .unwrap();
            cheese["partnerIds"].as_object_mut().unwrap().remove("app");
        });
        // The event says back; the catalogue says sold out, and is told.
        let summary = s
            .handle(&item_event("S1001", "ADD-CHEESE", true))
            .await
            .unwrap();
        assert_eq!(
            summary.items,
            [ItemTold {
                pos_code: "ADD-CHEESE".to_owned(),
                available: false
            }]
        );
        assert_eq!(summary.not_supported, [Partner::Grubhub]);
        assert_eq!(summary.not_listed, [Partner::ChainApp]);
        let until =
            now.parse::<chrono::DateTime<chrono::Utc>>().unwrap() + chrono::TimeDelta::days(30);
        let sold_out = ItemAvailability::SoldOut { until };
        let mut told = partners.item_statuses();
        told.sort_by_key(|(p, ..)| *p);
        let expected = [
            (
                Partner::UberEats,
                "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001",
                "0f2f6c4e-1a1e-4c1e-9a01-000000000200",
            ),
            (Partner::DoorDash, "S1001", "MSO-200"),
        ];
        let mut expected: Vec<_> = expected
            .iter()
            .map(|(p, st, it)| (*p, (*st).to_owned(), (*it).to_owned(), sold_out))
            .collect();
        expected.sort_by_key(|(p, ..)| *p);
        assert_eq!(told, expected);
        // A code not on the store's menu tells nothing and says why; an item event without
        // a code is refused.
        let unknown = s
            .handle(&item_event("S1001", "CHALUPPA", false))
            .await
            .unwrap();
        assert!(
            unknown
                .note
                .unwrap()
                .contains("CHALUPPA is not on the menu")
        );
        let e = s
            .handle(&event("Item Availability Changed", "S1001"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, PipelineError::InvalidInput(m) if m.contains("posCode")),
            "{e}"
        );
        assert_eq!(partners.item_statuses().len(), 2);
    }

    fn refresh_event(partner: &str, store: &str) -> order_events::Envelope<serde_json::Value> {
        serde_json::from_value(serde_json::json!({
            "source": "chain.orders.intake",
            "detail-type": "Menu Refresh Requested",
            "detail": { "metadata": {}, "data": {
                "partner": partner,
                "partnerStoreId": store,
                "partnerEventId": "e-1",
                "receivedAt": "2026-12-02T10:00:00Z",
            } },
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_menu_refresh_tells_only_the_asking_partner_the_store_and_every_item_it_lists() {
        let (s, partners) = sync_with("2026-12-02T10:00:00Z", |doc| {
            let store = s1001(doc);
            store["status"] = serde_json::json!("paused");
            store["pause"] = serde_json::json!({ "reason": "fryer down" });
            store["unavailable"] = serde_json::json!(["ADD-CHEESE"]);
        });
        let uber_store = "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001";
        let summary = s
            .handle(&refresh_event("ubereats", uber_store))
            .await
            .unwrap();
        assert_eq!(summary.store_id, Some(StoreId::parse("S1001").unwrap()));
        assert_eq!(summary.told, [Partner::UberEats]);
        let paused = StoreAvailability::Paused {
            reason: "fryer down".to_owned(),
            until: None,
        };
        assert_eq!(
            partners.store_statuses(),
            [(Partner::UberEats, uber_store.to_owned(), paused)]
        );
        // Every item and modifier of the menu, to Uber only, in Uber's ids; the cheese sold
        // out, the rest on sale.
        let menu = &s
            .catalog
            .store(&StoreId::parse("S1001").unwrap())
            .await
            .unwrap()
            .unwrap();
        let store = menu.store(&StoreId::parse("S1001").unwrap()).unwrap();
        let menu = menu.menu_of(store).unwrap();
        let listed = menu.items.len() + menu.modifiers.len();
        let told = partners.item_statuses();
        assert_eq!(told.len(), listed);
        assert_eq!(summary.items.len(), listed);
        for (p, st, item, a) in &told {
            assert_eq!((*p, st.as_str()), (Partner::UberEats, uber_store));
            let entry = menu
                .item(Partner::UberEats, item)
                .or_else(|| menu.modifier(Partner::UberEats, item))
                .unwrap();
            assert_eq!(
                a.is_available(),
                entry.pos_code.as_str() != "ADD-CHEESE",
                "{item}"
            );
        }
        // Grubhub publishes neither call; a store not of the chain tells nothing.
        let gh = s
            .handle(&refresh_event("grubhub", "GH-88231"))
            .await
            .unwrap();
        assert_eq!(gh.not_supported, [Partner::Grubhub]);
        let unknown = s.handle(&refresh_event("ubereats", "nope")).await.unwrap();
        assert_eq!(unknown.store_id, None);
        assert!(unknown.note.unwrap().contains("not a store of the chain"));
        assert_eq!(partners.item_statuses().len(), listed);
        // A partner failure fails the event after every other call was made.
        partners.fail_next([Fault {
            kind: ErrorKind::Transient,
            status: Some(503),
        }]);
        let e = s
            .handle(&refresh_event("ubereats", uber_store))
            .await
            .unwrap_err();
        assert!(matches!(e, PipelineError::PartnerUnavailable(_)), "{e}");
        assert_eq!(
            partners.item_statuses().len() + partners.store_statuses().len(),
            2 * (listed + 1) - 1
        );
    }

    #[tokio::test]
    async fn a_pause_made_during_a_menu_refresh_is_told_after_it() {
        let now = "2026-12-02T10:00:00Z";
        let (open, _) = sync("open", None, now);
        let (paused, _) = sync("paused", None, now);
        let (s, partners) = changed_while_telling(&open, &paused, now).await;
        let uber_store = "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001";
        let summary = s
            .handle(&refresh_event("ubereats", uber_store))
            .await
            .unwrap();
        assert!(matches!(
            summary.availability,
            Some(StoreAvailability::Paused { .. })
        ));
        // Uber: online (the first read), then paused, the last word; the items once each, as
        // the pause changed none of them.
        let told: Vec<bool> = partners
            .inner
            .store_statuses()
            .iter()
            .map(|(_, _, a)| *a == StoreAvailability::Online)
            .collect();
        assert_eq!(told, [true, false]);
        assert_eq!(partners.inner.item_statuses().len(), summary.items.len());
    }

    #[tokio::test]
    async fn an_item_the_partner_does_not_list_is_reported_not_failed() {
        let (base, _) = sync("open", None, "2026-12-02T10:00:00Z");
        let cheese = "0f2f6c4e-1a1e-4c1e-9a01-000000000200";
        let partners = Arc::new(ScriptedPartners {
            unlisted: Some(cheese),
            ..ScriptedPartners::default()
        });
        let s = StoreStatusSync {
            catalog: base.catalog.clone(),
            partners: partners.clone(),
            clock: base.clock.clone(),
        };
        let uber_store = "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001";
        let summary = s
            .handle(&refresh_event("ubereats", uber_store))
            .await
            .unwrap();
        assert_eq!(summary.not_listed_items, ["ADD-CHEESE"]);
        assert!(summary.items.iter().all(|i| i.pos_code != "ADD-CHEESE"));
        assert_eq!(partners.inner.item_statuses().len(), summary.items.len());
        // The same for a single sold-out: Uber reported as not listing it, the others told.
        let one = s
            .handle(&item_event("S1001", "ADD-CHEESE", false))
            .await
            .unwrap();
        assert_eq!(one.not_listed, [Partner::UberEats]);
        assert_eq!(one.told, [Partner::DoorDash, Partner::ChainApp]);
    }

    #[tokio::test]
    async fn an_item_marked_back_while_its_sold_out_is_being_told_is_told_after_it() {
        let now = "2026-12-02T10:00:00Z";
        let sold_out = |doc: &mut serde_json::Value| {
            s1001(doc)["unavailable"] = serde_json::json!(["TACO-CRUNCHY"]);
        };
        let (before, _) = sync_with(now, sold_out);
        let (after, _) = sync_with(now, |_| {});
        let (s, partners) = changed_while_telling(&before, &after, now).await;
        let summary = s
            .handle(&item_event("S1001", "TACO-CRUNCHY", false))
            .await
            .unwrap();
        assert_eq!(
            summary
                .items
                .iter()
                .map(|i| i.available)
                .collect::<Vec<_>>(),
            [true]
        );
        let told = partners.inner.item_statuses();
        told_twice_in_order(told.iter().map(|(p, .., a)| (*p, a.is_available())));
    }

    /// A store-status use case on S1001 as `before` has it, changed to `after`'s when the
    /// first partner is told.
    async fn changed_while_telling(
        before: &StoreStatusSync,
        after: &StoreStatusSync,
        now: &str,
    ) -> (StoreStatusSync, Arc<ScriptedPartners>) {
        let id = StoreId::parse("S1001").unwrap();
        let read =
            async |s: &StoreStatusSync| (*s.catalog.store(&id).await.unwrap().unwrap()).clone();
        let catalog = Arc::new(crate::memory::InMemoryCatalog::new(read(before).await));
        let partners = Arc::new(ScriptedPartners {
            catalog: Some(catalog.clone()),
            resumed: std::sync::Mutex::new(Some(read(after).await)),
            ..ScriptedPartners::default()
        });
        let s = StoreStatusSync {
            catalog,
            partners: partners.clone(),
            clock: Arc::new(Fixed(now.parse().unwrap())),
        };
        (s, partners)
    }

    /// Each partner with a call was told twice: not available, then available.
    fn told_twice_in_order(told: impl Iterator<Item = (Partner, bool)> + Clone) {
        for p in [Partner::UberEats, Partner::DoorDash, Partner::ChainApp] {
            let seen: Vec<bool> = told
                .clone()
                .filter(|(q, _)| *q == p)
                .map(|(_, a)| a)
                .collect();
            assert_eq!(seen, [false, true], "{p}");
        }
    }

    #[tokio::test]
    async fn a_resume_made_while_a_pause_is_being_told_is_told_after_it() {
        let now = "2026-12-02T10:00:00Z";
        let (paused, _) = sync("paused", None, now);
        let (open, _) = sync("open", None, now);
        let (s, partners) = changed_while_telling(&paused, &open, now).await;
        let summary = s.handle(&event("Store Paused", "S1001")).await.unwrap();
        assert_eq!(summary.availability, Some(StoreAvailability::Online));
        // Each partner: paused, then online; the last word is the catalogue's latest.
        let told = partners.inner.store_statuses();
        told_twice_in_order(
            told.iter()
                .map(|(p, _, a)| (*p, *a == StoreAvailability::Online)),
        );
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
        // Every other partner with a call was told despite the first failing: two of the
        // three, each once, none of them the one that failed.
        let told = partners.store_statuses();
        let who: std::collections::BTreeSet<&str> =
            told.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!((told.len(), who.len()), (2, 2), "{told:?}");
        assert!(
            who.is_subset(&std::collections::BTreeSet::from([
                "ubereats", "doordash", "app"
            ])),
            "{who:?}"
        );
        let unknown = s.handle(&event("Store Paused", "S9999")).await.unwrap();
        assert!(unknown.note.unwrap().contains("S9999"));
        let other = s
            .handle(&event("Menu Published", "S1001"))
            .await
            .unwrap_err();
        assert!(matches!(other, PipelineError::InvalidInput(_)));
    }
}
