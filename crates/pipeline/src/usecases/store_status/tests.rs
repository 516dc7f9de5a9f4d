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
        if let (Some(catalog), Some(resumed)) = (&self.catalog, self.resumed.lock().unwrap().take())
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
    let until = now.parse::<chrono::DateTime<chrono::Utc>>().unwrap() + chrono::TimeDelta::days(30);
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
    let read = async |s: &StoreStatusSync| (*s.catalog.store(&id).await.unwrap().unwrap()).clone();
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
    let who: std::collections::BTreeSet<&str> = told.iter().map(|(p, _, _)| p.as_str()).collect();
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
