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
mod tests;
