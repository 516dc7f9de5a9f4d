//! The `catalog-admin` function's samples (`events/catalog-admin/`): requests to the
//! IAM-authorised admin route as API Gateway hands them over, each answered on the memory
//! backend (the repository's catalogue, fresh for every sample) and checked against its
//! expectation as it is written.

use lambda_support::samples::{self, Expect, Sample, sample_time};
use lambda_support::wiring::{self, Backend};
use pipeline::catalog_admin::http::AdminRequest;
use serde_json::{Value, json};

use crate::output::Output;

/// Who signs the samples: an operator's role, as API Gateway reports a SigV4 caller.
const CALLER: &str = "arn:aws:sts::123456789012:assumed-role/catalogue-operator/ops-1";

struct Case {
    name: &'static str,
    description: &'static str,
    route: &'static str,
    params: &'static [(&'static str, &'static str)],
    body: Value,
    status: u16,
    output: Option<Value>,
    publishes: &'static [&'static str],
}

/// The route with its parameters filled in.
fn path(route: &str, params: &[(&str, &str)]) -> String {
    let mut p = route.split_once(' ').map_or(route, |(_, p)| p).to_owned();
    for (k, v) in params {
        p = p.replace(&format!("{{{k}}}"), v);
    }
    p
}

/// The API Gateway HTTP API (payload 2.0) event of a signed request to `route`.
fn event(case: &Case, body: &str) -> Value {
    let method = case.route.split(' ').next().unwrap_or("GET");
    let path = path(case.route, case.params);
    let params: serde_json::Map<String, Value> = case
        .params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": case.route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "x-amz-date": "20261122T180000Z",
            "authorization": "AWS4-HMAC-SHA256 Credential=ASIASAMPLE/20261122/us-east-1/execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=…",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "sample",
            "authorizer": { "iam": {
                "accessKey": "ASIASAMPLE",
                "accountId": "123456789012",
                "callerId": "AROASAMPLE:ops-1",
                "principalOrgId": null,
                "userArn": CALLER,
                "userId": "AROASAMPLE:ops-1",
            } },
            "domainName": "sample.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "sample",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.9", "userAgent": "aws-sdk-rust" },
            "requestId": format!("sample-{}", case.name),
            "routeKey": case.route,
            "stage": "$default",
            "time": "22/Nov/2026:18:00:00 +0000",
            "timeEpoch": sample_time().timestamp_millis(),
        },
        "pathParameters": params,
        "body": if body.is_empty() { Value::Null } else { Value::from(body) },
        "isBase64Encoded": false,
    })
}

fn cases(root: &std::path::Path) -> Result<Vec<Case>, String> {
    let catalogue: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("crates/domain/catalog/catalog.json"))
            .map_err(|e| format!("the catalogue: {e}"))?,
    )
    .map_err(|e| format!("the catalogue: {e}"))?;
    // core-us with a new item, and a copy with two problems.
    let mut menu = catalogue["menus"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["id"] == "core-us"))
        .cloned()
        .ok_or("the catalogue has no core-us menu")?;
    if let Some(items) = menu["items"].as_array_mut() {
        items.push(json!({"posCode": "NACHO-FRIES", "name": "Nacho Fries", "priceMinor": 249,
            "partnerIds": {"ubereats": "0f2f6c4e-1a1e-4c1e-9a01-000000000900", "doordash": "MSI-900", "grubhub": "7001900", "app": "sku-nacho-fries"}}));
    }
    let menu_for_typo = menu.clone();
    let mut refused = menu.clone();
    refused["items"][0]["priceMinor"] = json!(-199);
    refused["items"][1]["name"] = json!("");
    // No end: a sample is also sent under `cargo lambda watch`, on the real clock, where any
    // fixed end would one day have passed.
    let pause = || json!({"reason": "fryer down"});
    Ok(vec![
        Case {
            name: "list-stores",
            description: "What is live: every store's status, menu version, sold-out codes and special days",
            route: "GET /catalog/stores",
            params: &[],
            body: Value::Null,
            status: 200,
            output: Some(json!({"body": {"stores": [
            {"id": "S1001", "status": "open", "menu": "core-us", "menuVersion": 1},
            {"id": "S1002", "status": "open"},
            {"id": "S1003", "status": "paused"},
            {"id": "S2001", "menu": "core-kr"}]}})),
            publishes: &[],
        },
        Case {
            name: "pause",
            description: "Pause a store with a reason and an until-time: Store Paused",
            route: "PUT /catalog/stores/{storeId}/pause",
            params: &[("storeId", "S1001")],
            body: pause(),
            status: 200,
            output: Some(
                json!({"body": {"id": "S1001", "status": "paused", "pause": {"reason": "fryer down"}}}),
            ),
            publishes: &["Store Paused"],
        },
        Case {
            name: "pause-without-reason",
            description: "A pause without a reason: 400 InvalidRequest, nothing changed or announced",
            route: "PUT /catalog/stores/{storeId}/pause",
            params: &[("storeId", "S1001")],
            body: json!({"until": "2026-11-22T18:45:00Z"}),
            status: 400,
            output: Some(json!({"body": {"error": {"code": "InvalidRequest"}}})),
            publishes: &[],
        },
        Case {
            name: "pause-already-ended",
            description: "A pause whose end has passed: 400, nothing changed or announced (it would be announced and do nothing)",
            route: "PUT /catalog/stores/{storeId}/pause",
            params: &[("storeId", "S1001")],
            body: json!({"reason": "fryer down", "until": "2026-11-22T17:00:00Z"}),
            status: 400,
            output: Some(json!({"body": {"error": {"code": "InvalidRequest"}}})),
            publishes: &[],
        },
        Case {
            name: "pause-reason-too-long",
            description: "A pause reason over 200 characters: 400 (it travels in every order's store read and in the event)",
            route: "PUT /catalog/stores/{storeId}/pause",
            params: &[("storeId", "S1001")],
            body: json!({"reason": "x".repeat(201)}),
            status: 400,
            output: Some(json!({"body": {"error": {"code": "InvalidRequest"}}})),
            publishes: &[],
        },
        Case {
            name: "pause-unknown-store",
            description: "A store that is not in the catalogue: 404 UnknownStore, nothing announced",
            route: "PUT /catalog/stores/{storeId}/pause",
            params: &[("storeId", "S9999")],
            body: pause(),
            status: 404,
            output: Some(json!({"body": {"error": {"code": "UnknownStore"}}})),
            publishes: &[],
        },
        Case {
            name: "resume",
            description: "Resume a store (S1003 is paused in the repository's catalogue): Store Resumed",
            route: "DELETE /catalog/stores/{storeId}/pause",
            params: &[("storeId", "S1003")],
            body: Value::Null,
            status: 200,
            output: Some(json!({"body": {"id": "S1003", "status": "open"}})),
            publishes: &["Store Resumed"],
        },
        Case {
            name: "sold-out",
            description: "Mark an item sold out at a store: Item Availability Changed",
            route: "PUT /catalog/stores/{storeId}/sold-out/{posCode}",
            params: &[("storeId", "S1001"), ("posCode", "CHALUPA")],
            body: Value::Null,
            status: 200,
            output: Some(json!({"body": {"id": "S1001", "unavailable": ["CHALUPA"]}})),
            publishes: &["Item Availability Changed"],
        },
        Case {
            name: "sold-out-not-on-menu",
            description: "A POS code that is not on the store's menu (a typo): 422 NotOnMenu, nothing announced",
            route: "PUT /catalog/stores/{storeId}/sold-out/{posCode}",
            params: &[("storeId", "S1001"), ("posCode", "CHALUPPA")],
            body: Value::Null,
            status: 422,
            output: Some(json!({"body": {"error": {"code": "NotOnMenu"}}})),
            publishes: &[],
        },
        Case {
            name: "back",
            description: "Mark an item back: Item Availability Changed",
            route: "DELETE /catalog/stores/{storeId}/sold-out/{posCode}",
            params: &[("storeId", "S1001"), ("posCode", "CHALUPA")],
            body: Value::Null,
            status: 200,
            output: Some(json!({"body": {"id": "S1001", "unavailable": []}})),
            publishes: &["Item Availability Changed"],
        },
        Case {
            name: "special-hours-closed",
            description: "Close a store on a holiday (special hours, no event)",
            route: "PUT /catalog/stores/{storeId}/special-hours/{date}",
            params: &[("storeId", "S1001"), ("date", "2026-12-25")],
            body: json!({"hours": []}),
            status: 200,
            output: Some(json!({"body": {"id": "S1001", "specialHours": {"2026-12-25": []}}})),
            publishes: &[],
        },
        Case {
            name: "special-hours-bad-interval",
            description: "A malformed interval: 422 InvalidCatalogue, nothing written",
            route: "PUT /catalog/stores/{storeId}/special-hours/{date}",
            params: &[("storeId", "S1001"), ("date", "2026-12-24")],
            body: json!({"hours": ["9am-5pm"]}),
            status: 422,
            output: Some(json!({"body": {"error": {"code": "InvalidCatalogue"}}})),
            publishes: &[],
        },
        Case {
            name: "special-hours-clear",
            description: "Back to the weekly hours on a date",
            route: "DELETE /catalog/stores/{storeId}/special-hours/{date}",
            params: &[("storeId", "S1001"), ("date", "2026-12-25")],
            body: Value::Null,
            status: 200,
            output: Some(json!({"body": {"id": "S1001", "specialHours": {}}})),
            publishes: &[],
        },
        Case {
            name: "publish-menu",
            description: "Publish core-us with a new item: version 2, its stores moved, Menu Published",
            route: "POST /catalog/menus",
            params: &[],
            body: menu,
            status: 201,
            output: Some(json!({"body": {"menu": "core-us", "version": 2, "stores": 3}})),
            publishes: &["Menu Published"],
        },
        Case {
            name: "publish-menu-refused",
            description: "A menu with a negative price and a nameless item: 422 MenuRefused listing both, the live version unchanged",
            route: "POST /catalog/menus",
            params: &[],
            body: refused,
            status: 422,
            output: Some(json!({"body": {"error": {"code": "MenuRefused"}}})),
            publishes: &[],
        },
        Case {
            name: "publish-menu-no-store",
            description: "A menu no store uses (a typo in its id): 400, nothing written",
            route: "POST /catalog/menus",
            params: &[],
            body: {
                let mut m = menu_for_typo.clone();
                m["id"] = json!("core-uss");
                m
            },
            status: 400,
            output: Some(json!({"body": {"error": {"code": "InvalidRequest"}}})),
            publishes: &[],
        },
        Case {
            name: "unknown-route",
            description: "A route the function does not serve: 404 UnknownRoute",
            route: "POST /catalog/stores",
            params: &[],
            body: Value::Null,
            status: 404,
            output: Some(json!({"body": {"error": {"code": "UnknownRoute"}}})),
            publishes: &[],
        },
    ])
}

/// Writes every sample and returns their manifest entries.
pub async fn generate(root: &std::path::Path, out: &mut Output) -> Result<Vec<Sample>, String> {
    out.manage("events/catalog-admin");
    let env = samples::memory_env(root);
    let mut manifest = Vec::new();
    for case in cases(root)? {
        let body = match &case.body {
            Value::Null => String::new(),
            v => v.to_string(),
        };
        let (world, _clock) = samples::memory_world(root)?;
        let backend = Backend::Memory(world.clone());
        let admin = wiring::catalog_admin(&env, &backend)
            .await
            .map_err(|e| e.to_string())?;
        let response = admin
            .handle(&AdminRequest {
                route_key: case.route.to_owned(),
                path_parameters: case
                    .params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                body: body.clone(),
                caller: CALLER.to_owned(),
            })
            .await;
        let types: Vec<String> = world
            .publisher
            .events()
            .iter()
            .map(|e| e.detail_type.clone())
            .collect();
        let expect = Expect {
            status: Some(case.status),
            output: case.output.clone(),
            publishes: case.publishes.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        let as_output = json!({ "statusCode": response.status, "body": response.body });
        samples::check(&expect, &Ok(as_output), &types)
            .map_err(|e| format!("sample catalog-admin/{}: {e}", case.name))?;
        let file = format!("catalog-admin/{}.json", case.name);
        out.json(&format!("events/{file}"), &event(&case, &body))?;
        manifest.push(Sample {
            file,
            function: "catalog-admin".to_owned(),
            description: case.description.to_owned(),
            expect,
            expect_under_watch: None,
        });
    }
    Ok(manifest)
}
