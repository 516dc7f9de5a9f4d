//! A partner's menu refresh request (Uber Eats' `store.menu_refresh_request`, announced as
//! `Menu Refresh Requested`): that partner alone is told its store's status and the
//! availability of every item and modifier it lists, from the catalogue, then whatever changed
//! while it was told (as the other events are chased), so a refresh overlapping a pause or a
//! sold-out cannot leave the older word last.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use order_domain::{Partner, StoreId};
use partners::{ItemAvailability, StoreAvailability};
use tracing::{info, warn};

use super::{
    ItemTold, MAX_ROUNDS, REFRESH_CONCURRENCY, StoreStatusSummary, StoreStatusSync, failed,
    told_as, unlisted,
};
use crate::errors::PipelineError;
use crate::ports::ApiError;

/// What a refresh tells, as read from the catalogue.
#[derive(Debug, Clone, PartialEq)]
struct Listing {
    store_id: StoreId,
    availability: StoreAvailability,
    /// Each item and modifier the partner lists, by POS code: its id there, and whether it can
    /// be ordered.
    items: BTreeMap<String, (String, bool)>,
}

/// What one round of a refresh did.
#[derive(Default)]
struct Told {
    /// Anything was told (the partner has such calls).
    any: bool,
    /// POS codes the partner answered it does not list.
    unlisted: Vec<String>,
    failure: Option<ApiError>,
}

impl StoreStatusSync {
    /// Tells `partner` the status of its store `partner_store_id` and the availability of
    /// every item and modifier it lists there, [`REFRESH_CONCURRENCY`] calls at a time; then
    /// reads the catalogue again and tells what changed meanwhile, up to [`MAX_ROUNDS`] rounds.
    ///
    /// # Errors
    /// As [`StoreStatusSync::handle`]: the catalogue's failures, and the first partner failure
    /// once every call of the round was made (an item the partner answers 404 for is not a
    /// failure: it is reported in `notListedItems`).
    pub(super) async fn refresh(
        &self,
        partner: Partner,
        partner_store_id: &str,
    ) -> Result<StoreStatusSummary, PipelineError> {
        let mut summary = StoreStatusSummary::default();
        let Some(mut listing) = self.listing(partner, partner_store_id).await? else {
            let note = format!("the {partner} store id is not a store of the chain");
            warn!(partner = partner.as_str(), "menu refresh not told: {note}");
            summary.note = Some(note);
            return Ok(summary);
        };
        let mut before: Option<Listing> = None;
        let mut any = false;
        let mut unlisted_codes = Vec::new();
        for round in 1..=MAX_ROUNDS {
            let told = self
                .tell_listing(partner, partner_store_id, &listing, before.as_ref())
                .await;
            if let Some(e) = told.failure {
                warn!(partner = partner.as_str(), error = %e, "menu refresh not told in full");
                return Err(failed(e));
            }
            any |= told.any;
            unlisted_codes.extend(told.unlisted);
            before = Some(listing.clone());
            match self.listing(partner, partner_store_id).await? {
                Some(now) if Some(&now) != before.as_ref() && round < MAX_ROUNDS => listing = now,
                Some(now) if Some(&now) != before.as_ref() => {
                    warn!(
                        partner = partner.as_str(),
                        "changed again after {MAX_ROUNDS} rounds; its own events tell it"
                    );
                    break;
                }
                _ => break,
            }
        }
        unlisted_codes.sort();
        unlisted_codes.dedup();
        summary.store_id = Some(listing.store_id.clone());
        summary.items = listing
            .items
            .iter()
            .filter(|(code, _)| !unlisted_codes.contains(code))
            .map(|(code, (_, available))| ItemTold {
                pos_code: code.clone(),
                available: *available,
            })
            .collect();
        if any {
            summary.told.push(partner);
        } else {
            summary.not_supported.push(partner);
        }
        info!(partner = partner.as_str(), store_id = %listing.store_id, items = summary.items.len(), unlisted = unlisted_codes.len(), "menu refresh told");
        summary.availability = Some(listing.availability);
        summary.not_listed_items = unlisted_codes;
        Ok(summary)
    }

    /// The store and items `partner` lists under `partner_store_id`, as the catalogue has them
    /// now; `None` if it is not a store of the chain.
    async fn listing(
        &self,
        partner: Partner,
        partner_store_id: &str,
    ) -> Result<Option<Listing>, PipelineError> {
        let catalog = self
            .catalog
            .partner_store(partner, partner_store_id)
            .await
            .map_err(PipelineError::Storage)?;
        let Some(catalog) = catalog else {
            return Ok(None);
        };
        let Some(store) = catalog.store_for_partner(partner, partner_store_id) else {
            return Ok(None);
        };
        let items = catalog
            .menu_of(store)
            .into_iter()
            .flat_map(|m| m.entries())
            .filter_map(|e| {
                e.partner_ids.get(&partner).map(|id| {
                    let available = !store.unavailable.contains(&e.pos_code);
                    (e.pos_code.to_string(), (id.clone(), available))
                })
            })
            .collect();
        Ok(Some(Listing {
            store_id: store.id.clone(),
            availability: told_as(store.availability_at(self.clock.now())),
            items,
        }))
    }

    /// Tells `listing`, all of it or (after a first round) what differs from `before`.
    async fn tell_listing(
        &self,
        partner: Partner,
        partner_store_id: &str,
        listing: &Listing,
        before: Option<&Listing>,
    ) -> Told {
        let mut told = Told::default();
        if before.is_none_or(|b| b.availability != listing.availability) {
            match self
                .partners
                .set_store_status(partner, partner_store_id, &listing.availability)
                .await
            {
                Ok(any) => told.any |= any,
                Err(e) => told.failure = Some(e),
            }
        }
        let sold_out = ItemAvailability::sold_out(self.clock.now());
        let changed = listing
            .items
            .iter()
            .filter(|(code, item)| before.is_none_or(|b| b.items.get(*code) != Some(*item)));
        let calls = futures::stream::iter(changed.map(|(code, (id, available))| {
            let a = if *available {
                ItemAvailability::Available
            } else {
                sold_out
            };
            async move {
                let r = self
                    .partners
                    .set_item_availability(partner, partner_store_id, id, a)
                    .await;
                (code, r)
            }
        }))
        .buffer_unordered(REFRESH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
        for (code, r) in calls {
            match r {
                Ok(any) => told.any |= any,
                Err(e) if unlisted(&e) => told.unlisted.push(code.clone()),
                Err(e) => {
                    told.failure.get_or_insert(e);
                }
            }
        }
        told
    }
}
