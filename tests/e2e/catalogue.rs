//! The store catalogue changed while the pipeline runs (issue 11): a pause, a sold-out item, a
//! new menu version, each seen by the next order without a restart.

use super::*;

/// The store catalogue's changes announced on the order bus, as the bus archived them (source
/// `chain.orders.catalogue`): `(detail-type, data)`, in order.
async fn announced(c: &LocalCloud) -> Vec<(String, Value)> {
    c.bus
        .archive()
        .await
        .iter()
        .map(|a| &a["event"])
        .filter(|e| e["source"] == order_events::SOURCE_CATALOGUE)
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap_or_default().to_owned(),
                e["detail"]["data"].clone(),
            )
        })
        .collect()
}

/// Waits out the functions' catalogue cache in the local cloud.
async fn catalogue_change_shows() {
    let ttl = local_cloud::app::LOCAL_CATALOG_CACHE_TTL_SECONDS;
    tokio::time::sleep(std::time::Duration::from_millis(ttl * 1000 + 500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_store_refuses_the_next_order_with_the_partner_told_and_a_resume_lets_one_through()
{
    use aws_adapters::catalog_admin::PauseChange;
    use local_cloud::catalogue::set_store_pause;
    let c = cloud("catalogue").await;
    let store = order_domain::StoreId::parse("S1001").unwrap();
    // A first order warms every function's cache with the store open.
    let first = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &first).await, ack(first.partner));
    assert_eq!(
        settled(&c, &first, 1).await.status.as_deref(),
        Some("SentToPos")
    );

    let pause = PauseChange {
        reason: "fryer down".to_owned(),
        until: None,
    };
    let doc = set_store_pause(&c, &store, Some(pause)).await.unwrap();
    assert_eq!(doc["status"], "paused");
    catalogue_change_shows().await;
    let refused = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &refused).await, ack(refused.partner));
    let v = settled(&c, &refused, 1).await;
    assert_eq!(v.status.as_deref(), Some("Rejected"));
    assert_eq!(live_pos_orders(&v), 0);
    let ev = events(&c, &refused).await;
    let rejected: Vec<&Value> = ev
        .iter()
        .filter(|e| e["detail-type"] == "Order Rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{ev:?}");
    assert_eq!(rejected[0]["detail"]["data"]["reason"], "StorePaused");
    let detail = rejected[0]["detail"]["data"]["detail"].as_str().unwrap();
    assert!(detail.contains("fryer down"), "{detail}");
    // The partner's own records: told no, once.
    let told = statements_to(&c, &refused).await;
    assert_eq!(told, [(local_cloud::sim::partner::Told::Deny, true)]);

    set_store_pause(&c, &store, None).await.unwrap();
    catalogue_change_shows().await;
    let after = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &after).await, ack(after.partner));
    let v = settled(&c, &after, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"));
    assert_eq!(live_pos_orders(&v), 1);
    // Both changes were announced on the bus, by the bus's own archive.
    assert_eq!(
        announced(&c).await,
        [
            (
                "Store Paused".to_owned(),
                json!({"storeId": "S1001", "reason": "fryer down", "until": null})
            ),
            ("Store Resumed".to_owned(), json!({"storeId": "S1001"})),
        ]
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_sold_out_refuses_the_orders_with_it_and_not_the_others() {
    use local_cloud::catalogue::set_item_availability;
    let c = cloud("sold-out").await;
    let store = order_domain::StoreId::parse("S1001").unwrap();
    // The app's sample: a Crunchwrap Supreme with extra cheese, and two soft tacos.
    let app = "events/partners/app/order.json";
    // Something it does not have sold out: it goes through.
    set_item_availability(&c, &store, "CHALUPA", false)
        .await
        .unwrap();
    catalogue_change_shows().await;
    let without = order(Partner::ChainApp, app, &[]);
    assert_eq!(send(&c, &without).await, ack(without.partner));
    let v = settled(&c, &without, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"));
    assert_eq!(live_pos_orders(&v), 1);
    // Its modifier (extra cheese) sold out too: the next one is refused, the partner told.
    let doc = set_item_availability(&c, &store, "ADD-CHEESE", false)
        .await
        .unwrap();
    assert_eq!(doc["unavailable"], json!(["ADD-CHEESE", "CHALUPA"]));
    catalogue_change_shows().await;
    let with = order(Partner::ChainApp, app, &[]);
    assert_eq!(send(&c, &with).await, ack(with.partner));
    let v = settled(&c, &with, 1).await;
    assert_eq!(v.status.as_deref(), Some("Rejected"));
    assert_eq!(live_pos_orders(&v), 0);
    let ev = events(&c, &with).await;
    let rejected: Vec<&Value> = ev
        .iter()
        .filter(|e| e["detail-type"] == "Order Rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{ev:?}");
    assert_eq!(rejected[0]["detail"]["data"]["reason"], "ItemUnavailable");
    assert!(
        rejected[0]["detail"]["data"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ADD-CHEESE")),
        "{}",
        rejected[0]
    );
    assert_eq!(
        statements_to(&c, &with).await,
        [(local_cloud::sim::partner::Told::Deny, true)]
    );
    // A typo is refused by the tool, not believed.
    let typo = set_item_availability(&c, &store, "ADD-CHEEZE", false)
        .await
        .unwrap_err();
    assert!(
        typo.to_string().contains("not an item or modifier"),
        "{typo}"
    );
    // Back: the same order goes through again.
    set_item_availability(&c, &store, "ADD-CHEESE", true)
        .await
        .unwrap();
    catalogue_change_shows().await;
    let again = order(Partner::ChainApp, app, &[]);
    assert_eq!(send(&c, &again).await, ack(again.partner));
    assert_eq!(
        settled(&c, &again, 1).await.status.as_deref(),
        Some("SentToPos")
    );
    // Three changes announced; the refused typo was not.
    let changes: Vec<(String, Value)> = announced(&c).await;
    let codes: Vec<(&str, bool)> = changes
        .iter()
        .map(|(t, d)| {
            assert_eq!(t, "Item Availability Changed");
            assert_eq!(d["storeId"], "S1001");
            (
                d["posCode"].as_str().unwrap(),
                d["available"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("CHALUPA", false),
            ("ADD-CHEESE", false),
            ("ADD-CHEESE", true)
        ]
    );
    // Each partner that publishes an item availability call was told, by its own records and
    // in its own ids (store-status, from the announcements): the cheese sold out and then
    // back, the chalupa sold out; Grubhub publishes none and was told nothing.
    let expected = [
        (
            Partner::UberEats,
            "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001",
            "0f2f6c4e-1a1e-4c1e-9a01-000000000103",
            "0f2f6c4e-1a1e-4c1e-9a01-000000000200",
        ),
        (Partner::DoorDash, "S1001", "MSI-103", "MSO-200"),
        (Partner::ChainApp, "1001", "sku-chalupa", "sku-add-cheese"),
    ];
    store_status_done(&c, 3).await;
    let told = items_told(&c, 3 * 3).await;
    assert_eq!(told.len(), 3 * 3, "{told:?}");
    for (partner, store, chalupa, cheese) in expected {
        let mine: Vec<(&str, bool)> = told
            .iter()
            .filter(|(p, s, ..)| *p == partner && s == store)
            .map(|(_, _, i, a)| (i.as_str(), *a))
            .collect();
        let of = |item: &str| -> Vec<bool> {
            mine.iter()
                .filter(|(i, _)| *i == item)
                .map(|(_, a)| *a)
                .collect()
        };
        assert_eq!(of(chalupa), [false], "{partner}: {mine:?}");
        assert_eq!(of(cheese), [false, true], "{partner}: {mine:?}");
    }
    assert!(
        told.iter().all(|(p, ..)| *p != Partner::Grubhub),
        "{told:?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_menu_refresh_request_has_uber_eats_alone_told_the_store_and_every_item_again() {
    use local_cloud::catalogue::set_item_availability;
    let c = cloud("menu-refresh").await;
    let store = order_domain::StoreId::parse("S1001").unwrap();
    set_item_availability(&c, &store, "ADD-CHEESE", false)
        .await
        .unwrap();
    // Told to Uber Eats, DoorDash and the app first (store-status, from the announcement).
    assert_eq!(items_told(&c, 3).await.len(), 3);
    // Uber Eats asks for S1001's menu again, as its menu refresh request webhook does.
    let uber_store = "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001";
    let body = json!({
        "event_type": "store.menu_refresh_request",
        "event_id": "refresh-1",
        "event_time": chrono::Utc::now().timestamp(),
        "store_id": uber_store,
        "partner_store_id": "S1001",
        "resource_href": format!("https://api.uber.com/v2/eats/stores/{uber_store}/menus"),
    });
    let (status, _) = c
        .send_signed(Partner::UberEats, body.to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(status, ack(Partner::UberEats));
    // By Uber's own records: the store online, and each of core-us's 15 items and modifiers
    // once more in Uber's ids, the cheese still sold out; nobody else told anything new (read
    // once store-status has answered both events).
    store_status_done(&c, 2).await;
    let told = items_told(&c, 3 + 15).await;
    let uber: Vec<(&str, bool)> = told
        .iter()
        .filter(|(p, s, ..)| *p == Partner::UberEats && s == uber_store)
        .skip(1)
        .map(|(_, _, i, a)| (i.as_str(), *a))
        .collect();
    assert_eq!(uber.len(), 15, "{told:?}");
    let cheese = "0f2f6c4e-1a1e-4c1e-9a01-000000000200";
    assert!(uber.iter().all(|(i, a)| *a == (*i != cheese)), "{uber:?}");
    assert_eq!(told.len(), 3 + 15, "{told:?}");
    let stores = stores_told(&c, 1).await;
    assert_eq!(stores, [(Partner::UberEats, uber_store.to_owned(), true)]);
    c.stop().await;
}

/// What the partners' own records say they were told about items (partner, store, item, on
/// sale), in order per partner, once `n` statements are there (or after 20 s).
/// Waits until store-status has answered `n` invocations and runs none: whatever the events
/// so far make it tell the partners has been told (the positive signal a negative assertion
/// about the partners' records waits for).
async fn store_status_done(c: &LocalCloud, n: u64) {
    let name = c
        .app
        .function_by_binary("store-status")
        .unwrap()
        .name
        .clone();
    local_cloud::cloud::eventually(
        std::time::Duration::from_secs(30),
        "store-status to answer its events",
        || async {
            let answered = c
                .lambda
                .stats()
                .await
                .get(&name)
                .map_or(0, |s| s.invocations);
            (answered >= n && !c.lambda.busy(&name).await).then_some(())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn items_told(c: &LocalCloud, n: usize) -> Vec<(Partner, String, String, bool)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut told = Vec::new();
        for p in Partner::ALL {
            for s in c.partners[&p].ledger.item_statuses().await {
                told.push((p, s.store, s.item, s.available));
            }
        }
        if told.len() >= n || std::time::Instant::now() > deadline {
            return told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_menu_version_takes_a_new_item_without_a_restart_and_a_bad_one_is_refused() {
    use local_cloud::catalogue::publish_menu;
    let c = cloud("menu").await;
    // The app's sample with its second line made the new item.
    let with_new_item = || {
        let mut o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
        o.payload = o
            .payload
            .set("/order/items/1/sku", json!("sku-taco-doritos"))
            .unwrap()
            .set("/order/items/1/name", json!("Doritos Locos Taco"))
            .unwrap();
        o
    };
    // Not on the live menu: refused as an unknown item.
    let before = with_new_item();
    assert_eq!(send(&c, &before).await, ack(before.partner));
    let v = settled(&c, &before, 1).await;
    assert_eq!(v.status.as_deref(), Some("Rejected"));
    assert!(
        events(&c, &before)
            .await
            .iter()
            .any(|e| e["detail"]["data"]["reason"] == "UnknownItem")
    );

    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("crates/domain/catalog/catalog.json")).unwrap(),
    )
    .unwrap();
    let mut menu = file["menus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "core-us")
        .unwrap()
        .clone();
    // A bad version: every problem listed, nothing written.
    let mut bad = menu.clone();
    bad["items"][0]["priceMinor"] = json!(-1);
    bad["items"][1]["partnerIds"]["app"] = bad["items"][2]["partnerIds"]["app"].clone();
    let refused = publish_menu(&c, &bad.to_string()).await.unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("2 problems"), "{text}");
    assert!(
        text.contains("item TACO-CRUNCHY has a negative price (-1)"),
        "{text}"
    );
    assert!(
        text.contains("app item id \"sku-crunchwrap\" maps to both"),
        "{text}"
    );

    menu["items"].as_array_mut().unwrap().push(json!({
        "posCode": "TACO-DORITOS", "name": "Doritos Locos Taco", "priceMinor": 199,
        "partnerIds": { "app": "sku-taco-doritos", "doordash": "MSI-109", "grubhub": "7001109",
                        "ubereats": "0f2f6c4e-1a1e-4c1e-9a01-000000000109" }
    }));
    let published = publish_menu(&c, &menu.to_string()).await.unwrap();
    // Version 2 (the first was loaded at start), every store on core-us moved to it.
    assert_eq!(published.version, 2, "{published:?}");
    let on_core = file["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["menu"] == "core-us")
        .count();
    assert_eq!(published.stores, on_core);
    // Announced once, for the version that went live (not for the refused one).
    assert_eq!(
        announced(&c).await,
        [(
            "Menu Published".to_owned(),
            json!({"menuId": "core-us", "version": 2, "stores": on_core})
        )]
    );
    // The stores table says so, by its own records.
    let rows = c.scan("StoresTable").await;
    let s1001 = rows.iter().find(|r| r["id"] == "store#S1001").unwrap();
    assert_eq!(s1001["menuVersion"], json!(2), "{s1001}");
    catalogue_change_shows().await;
    let after = with_new_item();
    assert_eq!(send(&c, &after).await, ack(after.partner));
    let v = settled(&c, &after, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
    // The POS got the new item by its POS code.
    let tickets = c.pos_book.orders().await;
    let ticket = tickets
        .iter()
        .find(|o| o.ticket["externalId"] == format!("app.{}", after.id))
        .unwrap();
    assert!(
        ticket.ticket.to_string().contains("TACO-DORITOS"),
        "{}",
        ticket.ticket
    );
    c.stop().await;
}

/// A request to the local cloud's catalogue admin API, signed (SigV4, `execute-api`) with
/// access key `key` and `secret` as an AWS SDK signs, or unsigned (`None`): its status and
/// JSON body.
async fn admin(
    c: &LocalCloud,
    method: &str,
    path: &str,
    body: &str,
    key: Option<(&str, &str)>,
) -> (u16, Value) {
    use aws_adapters::sigv4;
    let url = format!("{}{path}", c.endpoints.api);
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut headers = vec![
        ("host".to_owned(), host.clone()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    if let Some((id, secret)) = key {
        let pairs = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
        ];
        let added = sigv4::sign(
            &sigv4::Request {
                method,
                uri: &url,
                headers: &pairs,
                body: body.as_bytes(),
            },
            &sigv4::Key {
                access_key_id: id.to_owned(),
                secret_access_key: secret.to_owned(),
                session_token: None,
            },
            "us-east-1",
            "execute-api",
            std::time::SystemTime::now(),
        )
        .unwrap();
        headers.extend(added);
    }
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), &url);
    for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
        request = request.header(k, v);
    }
    let response = request.body(body.to_owned()).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Store `id`'s document as the stores table holds it (a raw `GetItem`, not the route's
/// answer).
async fn stored_store(c: &LocalCloud, id: &str) -> Value {
    let (stores, _) = local_cloud::catalogue::tables(&c.app).unwrap();
    let key = aws_adapters::catalog::store_key(&order_domain::StoreId::parse(id).unwrap());
    let item = local_cloud::catalogue::client(&c.endpoints.dynamodb_local)
        .get_item()
        .table_name(stores)
        .key(
            aws_adapters::tables::STORES_KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(key),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let doc = item[aws_adapters::tables::CATALOG_DOC_ATTR].as_s().unwrap();
    serde_json::from_str(doc).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_route_takes_changes_signed_by_a_permitted_caller_and_refuses_every_other() {
    let c = cloud("catalogue-admin").await;
    let pause = r#"{"reason":"fryer down"}"#;
    let path = "/catalog/stores/S1001/pause";
    let local = Some(("local", "local"));

    // Unsigned, a wrong secret, a key nobody issued, and a function's role (intake's, which
    // has no execute-api:Invoke): each refused with API Gateway's 403, nothing changed.
    let (status, body) = admin(&c, "PUT", path, pause, None).await;
    assert_eq!((status, &body), (403, &json!({"message": "Forbidden"})));
    let (status, body) = admin(&c, "PUT", path, pause, Some(("local", "not-it"))).await;
    assert_eq!(status, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("signature we calculated does not match"),
        "{body}"
    );
    let (status, body) = admin(&c, "PUT", path, pause, Some(("AKIANOBODY", "local"))).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "The security token included in the request is invalid."
    );
    let intake = c
        .app
        .functions
        .iter()
        .find(|f| f.name.ends_with("-intake"))
        .unwrap()
        .name
        .clone();
    let intake_key = c.iam.function_key(&intake).unwrap().to_owned();
    let (status, body) = admin(&c, "PUT", path, pause, Some((&intake_key, "local"))).await;
    assert_eq!(status, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not authorized to perform: execute-api:Invoke"),
        "{body}"
    );
    assert_eq!(stored_store(&c, "S1001").await["status"], "open");
    assert!(announced(&c).await.is_empty());

    // The account's own key: paused in the table, announced on the bus, and the next order
    // for the store is refused with the partner told.
    let (status, body) = admin(&c, "PUT", path, pause, local).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "paused");
    let stored = stored_store(&c, "S1001").await;
    assert_eq!(stored["status"], "paused");
    assert_eq!(stored["pause"]["reason"], "fryer down");
    catalogue_change_shows().await;
    let refused = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &refused).await, ack(refused.partner));
    let v = settled(&c, &refused, 1).await;
    assert_eq!(v.status.as_deref(), Some("Rejected"));
    assert_eq!(
        statements_to(&c, &refused).await,
        [(local_cloud::sim::partner::Told::Deny, true)]
    );
    // The partners that publish a store-status call show the store paused, by their own
    // records (store-status, from the announcement); Grubhub publishes none.
    let paused = [
        (
            Partner::UberEats,
            "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001",
            false,
        ),
        (Partner::DoorDash, "S1001", false),
        (Partner::ChainApp, "1001", false),
    ];
    let owned = |told: &[(Partner, &str, bool)]| -> Vec<(Partner, String, bool)> {
        told.iter()
            .map(|(p, id, o)| (*p, (*id).to_owned(), *o))
            .collect()
    };
    assert_eq!(stores_told(&c, paused.len()).await, owned(&paused));
    let uber = c.partners[&Partner::UberEats].ledger.store_statuses().await;
    assert_eq!(uber[0].reason.as_deref(), Some("fryer down"));

    // Refusals name the problem and change nothing: a bad body, a typo'd item, a bad menu.
    let (status, body) = admin(&c, "PUT", path, "{}", local).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("InvalidRequest"))
    );
    let (status, body) = admin(
        &c,
        "PUT",
        "/catalog/stores/S1001/sold-out/CHALUPPA",
        "",
        local,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("NotOnMenu"))
    );
    let menu = r#"{"id":"core-us","priceToleranceMinor":5,"items":[{"posCode":"TACO","name":"","priceMinor":-1,"partnerIds":{"app":"sku-taco"}}],"modifiers":[]}"#;
    let (status, body) = admin(&c, "POST", "/catalog/menus", menu, local).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "MenuRefused");
    assert_eq!(
        body["error"]["problems"].as_array().unwrap().len(),
        2,
        "{body}"
    );

    // Resumed through the route; what is live lists it open.
    let (status, _) = admin(&c, "DELETE", path, "", local).await;
    assert_eq!(status, 200);
    assert_eq!(stored_store(&c, "S1001").await["status"], "open");
    let (status, body) = admin(&c, "GET", "/catalog/stores", "", local).await;
    assert_eq!(status, 200);
    let s1001 = body["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "S1001")
        .unwrap();
    assert_eq!(s1001["status"], "open");
    assert_eq!(
        announced(&c)
            .await
            .into_iter()
            .map(|(t, _)| t)
            .collect::<Vec<_>>(),
        ["Store Paused", "Store Resumed"]
    );
    // And the partners show it online again.
    let both: Vec<(Partner, &str, bool)> = paused
        .iter()
        .flat_map(|&(p, id, _)| [(p, id, false), (p, id, true)])
        .collect();
    assert_eq!(stores_told(&c, both.len()).await, owned(&both));
    c.stop().await;
}

/// What the partners' own records say they were told about stores, in order per partner
/// (Uber Eats, DoorDash, Grubhub, app), once `n` statements are there (or after 20 s).
async fn stores_told(c: &LocalCloud, n: usize) -> Vec<(Partner, String, bool)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut told = Vec::new();
        for p in Partner::ALL {
            for s in c.partners[&p].ledger.store_statuses().await {
                told.push((p, s.store, s.online));
            }
        }
        if told.len() >= n || std::time::Instant::now() > deadline {
            return told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
