//! The catalogue admin route's contract: an HTTP request (as API Gateway's HTTP API hands it
//! over, after verifying the caller's SigV4 signature and IAM permission) → a [`Change`] →
//! an HTTP answer. The `catalog-admin` function translates the Lambda event to an
//! [`AdminRequest`] and an [`AdminResponse`] back, nothing more.
//!
//! | route | body | change |
//! |---|---|---|
//! | `GET /catalog/stores` | | what is live, every store |
//! | `POST /catalog/menus` | one menu (an entry of `menus` in the catalogue file) | publish its next version |
//! | `PUT /catalog/stores/{storeId}/pause` | `{"reason": "…", "until": "<RFC 3339>"}` (`until` optional) | pause |
//! | `DELETE /catalog/stores/{storeId}/pause` | | resume |
//! | `PUT /catalog/stores/{storeId}/sold-out/{posCode}` | | sold out ("86'd") |
//! | `DELETE /catalog/stores/{storeId}/sold-out/{posCode}` | | back |
//! | `PUT /catalog/stores/{storeId}/special-hours/{date}` | `{"hours": ["HH:MM-HH:MM", …]}` (`[]`: closed) | that day's hours |
//! | `DELETE /catalog/stores/{storeId}/special-hours/{date}` | | back to the weekly hours |
//!
//! A store change answers 200 with the store's document as written; a menu, 201 with
//! `{"menu", "version", "stores"}`; the listing, 200 with `{"stores": [...]}`. A refusal is
//! `{"error": {"code", "message"}}` (a refused menu adds `problems`, every one): 400
//! `InvalidRequest` (the request itself), 404 `UnknownStore` or `UnknownRoute`, 409 `Conflict`
//! (changed meanwhile: send it again), 422 `MenuRefused`, `NotOnMenu` or `InvalidCatalogue`,
//! 503 `StorageUnavailable`, and 500 `NotAnnounced` (the change is made and its event is not:
//! send the same request again; every change is idempotent).

use std::collections::HashMap;

use order_domain::StoreId;
use serde_json::{Value, json};

use super::{AdminError, Applied, CatalogAdministration, Change, ChangeError, PauseChange};

/// Every route of the admin API (`METHOD path`), as the template declares them.
pub const ROUTES: [&str; 8] = [
    "GET /catalog/stores",
    "POST /catalog/menus",
    "PUT /catalog/stores/{storeId}/pause",
    "DELETE /catalog/stores/{storeId}/pause",
    "PUT /catalog/stores/{storeId}/sold-out/{posCode}",
    "DELETE /catalog/stores/{storeId}/sold-out/{posCode}",
    "PUT /catalog/stores/{storeId}/special-hours/{date}",
    "DELETE /catalog/stores/{storeId}/special-hours/{date}",
];

/// One request to the admin API.
#[derive(Debug, Clone, Default)]
pub struct AdminRequest {
    /// `METHOD /path/{param}`, one of [`ROUTES`].
    pub route_key: String,
    /// The path's parameters.
    pub path_parameters: HashMap<String, String>,
    /// The body, as text (empty when there is none).
    pub body: String,
    /// Who is calling (the IAM principal's ARN API Gateway verified), for the audit line.
    pub caller: String,
}

/// The answer: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl CatalogAdministration {
    /// Answers one admin API request: makes and announces the change it asks for, or says
    /// why not. Never fails: every outcome is a response.
    pub async fn handle(&self, request: &AdminRequest) -> AdminResponse {
        if request.route_key == "GET /catalog/stores" {
            return match self.list().await {
                Ok(stores) => respond(200, json!({ "stores": stores })),
                Err(e) => refusal(&e),
            };
        }
        let change = match change(request) {
            Ok(c) => c,
            Err(r) => return r,
        };
        // The audit line: who changed what.
        tracing::info!(caller = %request.caller, route = %request.route_key, ?change, "catalogue change");
        match self.apply(change).await {
            Ok(Applied::Menu(p)) => respond(201, json!(p)),
            Ok(Applied::Store(doc)) => respond(200, doc),
            Err(ChangeError::Refused(e)) => refusal(&e),
            Err(e @ ChangeError::NotAnnounced(_)) => {
                let message = super::error_chain(&e);
                tracing::error!(caller = %request.caller, route = %request.route_key, error = %message, "catalogue change not announced");
                error(500, "NotAnnounced", &message, None)
            }
        }
    }
}

/// The change a request asks for, or the response refusing it.
fn change(request: &AdminRequest) -> Result<Change, AdminResponse> {
    let param = |name: &str| -> Result<String, AdminResponse> {
        request
            .path_parameters
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| bad(&format!("the path has no {name}")))
    };
    let store = || -> Result<StoreId, AdminResponse> {
        StoreId::parse(&param("storeId")?).map_err(|e| bad(&e.to_string()))
    };
    let date = || -> Result<chrono::NaiveDate, AdminResponse> {
        let d = param("date")?;
        chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|e| bad(&format!("date {d:?} is not YYYY-MM-DD: {e}")))
    };
    let item = |available| -> Result<Change, AdminResponse> {
        Ok(Change::ItemAvailability {
            store: store()?,
            pos_code: param("posCode")?,
            available,
        })
    };
    let body = || -> Result<Value, AdminResponse> {
        serde_json::from_str(&request.body).map_err(|e| bad(&format!("the body is not JSON: {e}")))
    };
    match request.route_key.as_str() {
        "POST /catalog/menus" => Ok(Change::PublishMenu {
            menu: request.body.clone(),
        }),
        "PUT /catalog/stores/{storeId}/pause" => {
            let body = body()?;
            if let Some(other) = body.as_object().and_then(|o| {
                o.keys()
                    .find(|k| !["reason", "until"].contains(&k.as_str()))
            }) {
                return Err(bad(&format!(
                    "the body has {other:?}; a pause takes \"reason\" and \"until\" only"
                )));
            }
            let reason = body["reason"]
                .as_str()
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| bad("the body needs a non-empty \"reason\""))?;
            let until = match &body["until"] {
                Value::Null => None,
                Value::String(u) => Some(
                    chrono::DateTime::parse_from_rfc3339(u)
                        .map_err(|e| bad(&format!("\"until\" {u:?} is not RFC 3339: {e}")))?
                        .to_utc(),
                ),
                other => return Err(bad(&format!("\"until\" is not a string: {other}"))),
            };
            Ok(Change::Pause {
                store: store()?,
                pause: PauseChange {
                    reason: reason.to_owned(),
                    until,
                },
            })
        }
        "DELETE /catalog/stores/{storeId}/pause" => Ok(Change::Resume { store: store()? }),
        "PUT /catalog/stores/{storeId}/sold-out/{posCode}" => item(false),
        "DELETE /catalog/stores/{storeId}/sold-out/{posCode}" => item(true),
        "PUT /catalog/stores/{storeId}/special-hours/{date}" => {
            let hours = body()?["hours"]
                .as_array()
                .ok_or_else(|| {
                    bad("the body needs \"hours\": a list of \"HH:MM-HH:MM\" ([] closes the store that day)")
                })?
                .iter()
                .map(|h| {
                    h.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad(&format!("an interval is not a string: {h}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Change::SpecialHours {
                store: store()?,
                date: date()?,
                hours: Some(hours),
            })
        }
        "DELETE /catalog/stores/{storeId}/special-hours/{date}" => Ok(Change::SpecialHours {
            store: store()?,
            date: date()?,
            hours: None,
        }),
        other => Err(error(
            404,
            "UnknownRoute",
            &format!(
                "no catalogue route {other:?} (routes: {})",
                ROUTES.join(", ")
            ),
            None,
        )),
    }
}

fn bad(message: &str) -> AdminResponse {
    error(400, "InvalidRequest", message, None)
}

/// The response refusing a change.
fn refusal(e: &AdminError) -> AdminResponse {
    let message = super::error_chain(e);
    match e {
        AdminError::MenuRefused { problems, .. } => {
            error(422, "MenuRefused", &message, Some(problems))
        }
        AdminError::NotOnMenu { .. } => error(422, "NotOnMenu", &message, None),
        AdminError::Invalid(_) => error(422, "InvalidCatalogue", &message, None),
        AdminError::UnknownStore(_) => error(404, "UnknownStore", &message, None),
        AdminError::Conflict(_) => error(409, "Conflict", &message, None),
        AdminError::InvalidChange(_) => error(400, "InvalidRequest", &message, None),
        AdminError::Storage(_) => {
            tracing::error!(error = %message, "catalogue storage failed");
            error(503, "StorageUnavailable", &message, None)
        }
    }
}

fn error(status: u16, code: &str, message: &str, problems: Option<&Vec<String>>) -> AdminResponse {
    let mut e = json!({ "code": code, "message": message });
    if let Some(p) = problems {
        e["problems"] = json!(p);
    }
    respond(status, json!({ "error": e }))
}

fn respond(status: u16, body: Value) -> AdminResponse {
    AdminResponse { status, body }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog_admin::CatalogAdmin as _;
    use crate::memory::{FixedClock, InMemoryCatalogAdmin, RecordingPublisher};
    use crate::ports::CatalogSource as _;

    fn admin() -> (
        CatalogAdministration,
        Arc<InMemoryCatalogAdmin>,
        Arc<RecordingPublisher>,
    ) {
        let store = Arc::new(InMemoryCatalogAdmin::embedded().unwrap());
        let bus = Arc::new(RecordingPublisher::default());
        let at = "2026-12-01T12:00:00Z".parse().unwrap();
        let admin = CatalogAdministration {
            admin: store.clone(),
            bus: bus.clone(),
            clock: Arc::new(FixedClock::at(at)),
        };
        (admin, store, bus)
    }

    fn pause(store: &str, body: &str) -> AdminRequest {
        AdminRequest {
            route_key: "PUT /catalog/stores/{storeId}/pause".to_owned(),
            path_parameters: HashMap::from([("storeId".to_owned(), store.to_owned())]),
            body: body.to_owned(),
            caller: "arn:aws:iam::123456789012:user/ops".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_change_the_bus_did_not_take_is_made_and_answered_not_announced() {
        let (admin, store, bus) = admin();
        bus.fail_next(1);
        let r = admin
            .handle(&pause("S1001", r#"{"reason":"fryer down"}"#))
            .await;
        assert_eq!(r.status, 500, "{:?}", r.body);
        assert_eq!(r.body["error"]["code"], "NotAnnounced");
        // Made: the catalogue the order path reads has the store paused.
        let id = StoreId::parse("S1001").unwrap();
        let catalog = store.catalog().store(&id).await.unwrap().unwrap();
        assert_eq!(
            catalog.store(&id).unwrap().status,
            order_domain::StoreStatus::Paused
        );
        assert!(bus.events().is_empty());
        // The same request again: still paused, announced this time.
        let again = admin
            .handle(&pause("S1001", r#"{"reason":"fryer down"}"#))
            .await;
        assert_eq!(again.status, 200);
        assert_eq!(bus.detail_types(), ["Store Paused"]);
    }

    #[tokio::test]
    async fn a_bad_request_names_its_problem_and_changes_and_announces_nothing() {
        let (admin, store, bus) = admin();
        let cases = [
            (
                pause("S1001", "not json"),
                400,
                "InvalidRequest",
                "not JSON",
            ),
            (
                pause("S1001", r#"{"reason":"  "}"#),
                400,
                "InvalidRequest",
                "reason",
            ),
            (
                pause("S1001", r#"{"reason":"x","until":"tomorrow"}"#),
                400,
                "InvalidRequest",
                "RFC 3339",
            ),
            (
                pause("s-1001!", r#"{"reason":"x"}"#),
                400,
                "InvalidRequest",
                "store id",
            ),
            (
                pause("S9999", r#"{"reason":"x"}"#),
                404,
                "UnknownStore",
                "S9999",
            ),
        ];
        for (request, status, code, says) in cases {
            let r = admin.handle(&request).await;
            assert_eq!(
                (r.status, r.body["error"]["code"].as_str()),
                (status, Some(code)),
                "{:?}",
                r.body
            );
            let message = r.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{message}");
        }
        // S1001 is listed, still open; nothing was announced.
        let listed = store.list().await.unwrap();
        let s1001 = listed
            .iter()
            .find(|s| s.id == "S1001")
            .expect("S1001 is in the catalogue");
        assert_eq!(s1001.status, "open");
        assert!(bus.events().is_empty());
    }
}
