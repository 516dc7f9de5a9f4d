//! Generates every sample by running the real use cases in memory at [`SAMPLE_TIME`]:
//! webhooks go through intake, whose events become the workflow steps' inputs, whose outputs
//! become the next steps' inputs. Each sample's expectation is written here by hand and is
//! checked while generating; the handler tests check them again against the functions.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use lambda_support::samples::{
    Expect, Manifest, Sample, SeedStep, check, memory_env, memory_world, run_step, sample_time,
};
use lambda_support::wiring::{self, Backend, MemoryWorld};
use lambda_support::{Env, samples};
use order_domain::Partner;
use order_events::OutboundEvent;
use pipeline::usecases::intake::{Intake, WebhookRequest};
use serde_json::{Value, json};

use crate::output::Output;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn deadline() -> DateTime<Utc> {
    sample_time() + TimeDelta::seconds(30)
}

fn status(code: u16) -> Expect {
    Expect {
        status: Some(code),
        ..Default::default()
    }
}

fn output(v: Value) -> Expect {
    Expect {
        output: Some(v),
        ..Default::default()
    }
}

fn error(name: &str, contains: &str) -> Expect {
    Expect {
        error_type: Some(name.to_owned()),
        message_contains: Some(contains.to_owned()),
        ..Default::default()
    }
}

/// `e`, and the effects the sample has on the memory world (a JSON [`samples::Effects`]).
fn affecting(mut e: Expect, effects: Value) -> Expect {
    // A typo here must not pass as "no effects": it becomes one the check cannot match.
    e.effects = serde_json::from_value(effects).unwrap_or_else(|err| samples::Effects {
        orders: vec![format!("unreadable effects: {err}")],
        ..Default::default()
    });
    e
}

fn publishing(mut e: Expect, types: &[&str]) -> Expect {
    e.publishes = types.iter().map(|s| (*s).to_owned()).collect();
    e
}

/// A webhook to send through intake.
struct Hook {
    /// Sample name (file `intake/<name>.json`), also its correlation id.
    name: &'static str,
    /// Route partner.
    route: &'static str,
    /// Raw body under `events/partners/`, or literal bytes.
    body: Body,
    /// How it is signed.
    signing: Signing,
    /// Written as a sample (otherwise only used to produce events).
    write: bool,
    /// The order role whose events it produces, if any.
    role: Option<&'static str>,
    description: &'static str,
    expect: Expect,
    expect_under_watch: Option<Expect>,
}

enum Body {
    File(&'static str),
    Bytes(Vec<u8>),
}

enum Signing {
    /// Signed by the route's partner at the sample time.
    Valid,
    /// Signed at another time.
    At(DateTime<Utc>),
    /// Signed, then the body changed.
    Tampered,
    /// Signed with another credential.
    WrongSecret,
    /// Not signed.
    None,
}

fn hook(
    name: &'static str,
    route: &'static str,
    file: &'static str,
    role: Option<&'static str>,
    description: &'static str,
    expect: Expect,
) -> Hook {
    Hook {
        name,
        route,
        body: Body::File(file),
        signing: Signing::Valid,
        write: true,
        role,
        description,
        expect,
        expect_under_watch: None,
    }
}

fn internal(
    name: &'static str,
    route: &'static str,
    file: &'static str,
    role: &'static str,
) -> Hook {
    Hook {
        write: false,
        ..hook(
            name,
            route,
            file,
            Some(role),
            "",
            publishing(status(taken(route)), RECEIVED),
        )
    }
}

const RECEIVED: &[&str] = &["Order Received"];

/// The status intake answers a webhook it took from `route`'s partner with (Uber Eats: 200
/// and an empty body, as its webhook guide asks; the others: 202).
fn taken(route: &str) -> u16 {
    route
        .parse::<order_domain::Partner>()
        .map_or(202, |p| partners::acknowledgement(p).status)
}

fn hooks() -> Vec<Hook> {
    let accepted = |t: &'static [&'static str]| publishing(status(202), t);
    let taken_by_uber = |t: &'static [&'static str]| publishing(status(taken("ubereats")), t);
    let taken_by_doordash = |t: &'static [&'static str]| publishing(status(taken("doordash")), t);
    let mut oversize = br#"{"event":{"type":"OrderCreate"},"order":{"id":"dd-big","store":{"merchant_supplied_id":"S1001"},"special_instructions":""#.to_vec();
    oversize.extend(std::iter::repeat_n(b'x', 66 * 1024));
    oversize.extend(br#""}}"#);
    vec![
        hook("ubereats-order", "ubereats", "ubereats/notification.json", Some("U"), "Uber Eats-style order notification (the order is fetched later)", taken_by_uber(RECEIVED)),
        hook("ubereats-order-scheduled", "ubereats", "ubereats/notification-scheduled.json", Some("US"), "Uber Eats-style notification of a scheduled order", taken_by_uber(RECEIVED)),
        hook("doordash-order", "doordash", "doordash/order.json", Some("D"), "DoorDash-style full order, bearer token", taken_by_doordash(RECEIVED)),
        hook("doordash-order-scheduled", "doordash", "doordash/order-scheduled.json", Some("B"), "DoorDash-style scheduled order", taken_by_doordash(RECEIVED)),
        hook("grubhub-order", "grubhub", "grubhub/order.json", Some("G"), "Grubhub-style full order, HMAC with timestamp and nonce", accepted(RECEIVED)),
        hook("app-order", "app", "app/order.json", Some("A"), "App order, Stripe-style signature", accepted(RECEIVED)),
        hook("app-order-scheduled", "app", "app/order-scheduled.json", Some("AS"), "App order for a later pickup", accepted(RECEIVED)),
        hook("ubereats-cancel", "ubereats", "ubereats/cancel.json", None, "Uber Eats-style cancellation", taken_by_uber(&["Order Cancellation Requested"])),
        hook("doordash-cancel", "doordash", "doordash/cancel.json", None, "DoorDash-style cancellation", taken_by_doordash(&["Order Cancellation Requested"])),
        hook("grubhub-cancel", "grubhub", "grubhub/cancel.json", Some("cancel-G"), "Grubhub-style cancellation (of an order already at the POS)", accepted(&["Order Cancellation Requested"])),
        hook("app-cancel", "app", "app/cancel.json", Some("cancel-AS2"), "App cancellation (of a held order)", accepted(&["Order Cancellation Requested"])),
        hook("ubereats-release", "ubereats", "ubereats/release.json", None, "Uber Eats orders.release: the courier reached the store's geofence", taken_by_uber(&["Courier Arriving"])),
        hook("doordash-courier", "doordash", "doordash/courier.json", Some("courier-D2"), "DoorDash Dasher status arriving_at_store: the Dasher is near", taken_by_doordash(&["Courier Arriving"])),
        hook("doordash-order-release", "doordash", "doordash/order-release.json", None, "DoorDash order release webhook: the Dasher crossed the store's geofence", taken_by_doordash(&["Courier Arriving"])),
        hook("doordash-dasher-confirmed", "doordash", "doordash/dasher-confirmed.json", None, "DoorDash Dasher status dasher_confirmed: taken (200), recorded and not acted on", publishing(status(taken("doordash")), &[])),
        hook("grubhub-courier", "grubhub", "grubhub/courier.json", Some("courier-far"), "Grubhub-style driver still far away", accepted(&["Courier Location Updated"])),
        hook("app-courier", "app", "app/courier.json", None, "App courier position", accepted(&["Courier Location Updated"])),
        Hook { signing: Signing::Tampered, ..hook("forged-signature", "ubereats", "ubereats/notification.json", None, "Body changed after signing: 401", publishing(status(401), &[])) },
        Hook { signing: Signing::WrongSecret, ..hook("wrong-token", "doordash", "doordash/order.json", None, "Wrong bearer token: 401", publishing(status(401), &[])) },
        Hook { signing: Signing::None, ..hook("missing-signature", "grubhub", "grubhub/order.json", None, "No signature headers: 401", publishing(status(401), &[])) },
        Hook {
            signing: Signing::At(sample_time() - TimeDelta::hours(1)),
            expect_under_watch: Some(status(202)),
            ..hook("replayed", "app", "app/order.json", None, "Signed an hour before it arrived: 401 (accepted under watch, where the replay window is off)", publishing(status(401), &[]))
        },
        Hook { body: Body::Bytes(b"{\"type\":\"order.created\",\"order\":".to_vec()), ..hook("malformed-json", "app", "", None, "Authentic but not JSON: 400 and a Webhook Rejected event", publishing(status(400), &["Webhook Rejected"])) },
        Hook { body: Body::Bytes(br#"{"event":{"type":"MenuUpdate"},"order":{"id":"dd-x","store":{"merchant_supplied_id":"S1001"}}}"#.to_vec()), ..hook("unsupported-type", "doordash", "", None, "A DoorDash event type the pipeline does not use: taken (200), recorded and not acted on (every subscription shares the environment's one endpoint)", publishing(status(taken("doordash")), &[])) },
        Hook { body: Body::Bytes(br#"{"event_type":"store.menu_refresh_request","event_id":"c1f3a3de-3a55-4c6a-9a57-5b1a4f2d9001","event_time":1795370400,"store_id":"6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001","partner_store_id":"S1001","resource_href":"https://api.uber.com/v2/eats/stores/6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001/menus","webhook_meta":{"client_id":"sample-client","webhook_config_id":"sample-config","webhook_msg_timestamp":1795370400,"webhook_msg_uuid":"0b6c7b5e-90a4-4d2e-8d44-3f1c2a7e9001"}}"#.to_vec()), ..hook("ubereats-menu-refresh", "ubereats", "", None, "An Uber Eats menu refresh request (a body of its own shape, naming the store): 200 and an empty body, and Menu Refresh Requested on the bus for store-status", taken_by_uber(&["Menu Refresh Requested"])) },
        Hook { body: Body::Bytes(br#"{"event_type":"store.provisioned","event_id":"c1f3a3de-3a55-4c6a-9a57-5b1a4f2d9002","event_time":1795370400,"store_id":"6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001"}"#.to_vec()), ..hook("ubereats-unused-type", "ubereats", "", None, "An Uber Eats event type the pipeline does not use (a store provisioned; its body shape is assumed): 200 and an empty body, recorded as a metric and not acted on (Uber Eats sends every type to the one URL and re-sends what is not answered 200)", publishing(status(taken("ubereats")), &[])) },
        Hook { body: Body::Bytes(br#"{"type":"courier.location","storeNumber":"9999","location":{"lat":1.0,"lon":1.0}}"#.to_vec()), ..hook("courier-unknown-store", "app", "", None, "A courier for a store the chain does not have: 400", publishing(status(400), &["Webhook Rejected"])) },
        Hook { body: Body::Bytes(oversize), ..hook("oversize", "doordash", "", None, "A body over the cap (64 KiB in the samples' environment, 1 MiB deployed): 413", publishing(status(413), &[])) },
        hook("unknown-partner", "deliveroo", "app/order.json", None, "A partner without a route: 404", publishing(status(404), &[])),
        internal("ubereats-closed-store", "ubereats", "ubereats/notification-closed-store.json", "rej-closed"),
        internal("ubereats-missing-order", "ubereats", "ubereats/notification-missing-order.json", "UM"),
        internal("doordash-order-2", "doordash", "doordash/order-2.json", "D2"),
        internal("doordash-order-unclaimed", "doordash", "doordash/order-unclaimed.json", "DU"),
        internal("doordash-unknown-store", "doordash", "doordash/order-unknown-store.json", "rej-store"),
        internal("doordash-missing-field", "doordash", "doordash/order-missing-field.json", "rej-missing"),
        internal("grubhub-unknown-item", "grubhub", "grubhub/order-unknown-item.json", "rej-item"),
        internal("grubhub-unsupported-currency", "grubhub", "grubhub/order-unsupported-currency.json", "rej-currency"),
        internal("app-price-mismatch", "app", "app/order-price-mismatch.json", "rej-price"),
        internal("app-unknown-modifier", "app", "app/order-unknown-modifier.json", "rej-modifier"),
        internal("app-empty-order", "app", "app/order-empty.json", "rej-empty"),
        internal("app-paused-store", "app", "app/order-paused-store.json", "rej-paused"),
        internal("app-order-new", "app", "app/order-new.json", "N"),
        internal("app-order-scheduled-2", "app", "app/order-scheduled-2.json", "AS2"),
    ]
}

fn api_gateway_request(
    route: &str,
    headers: &[(String, String)],
    body: &[u8],
    request_id: &str,
) -> Value {
    let path = format!("/webhooks/{route}");
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let (body, b64) = match std::str::from_utf8(body) {
        Ok(text) => (Value::from(text), false),
        Err(_) => (Value::from(base64_encode(body)), true),
    };
    json!({
        "version": "2.0",
        "routeKey": format!("POST /webhooks/{route}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "sample",
            "domainName": "sample.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "sample",
            "http": { "method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "partner-webhooks/1.0" },
            "requestId": request_id,
            "routeKey": format!("POST /webhooks/{route}"),
            "stage": "$default",
            "time": "22/Nov/2026:18:00:00 +0000",
            "timeEpoch": sample_time().timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": b64,
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

struct Gen {
    root: std::path::PathBuf,
    env: Env,
    world: Arc<MemoryWorld>,
    backend: Backend,
    seed: Vec<SeedStep>,
    manifest: Vec<Sample>,
    /// Order Received details (and other intake events) by role.
    events: BTreeMap<&'static str, OutboundEvent>,
    /// One sample of every event type.
    catalogue: BTreeMap<String, OutboundEvent>,
}

impl Gen {
    fn note_events(&mut self, events: impl IntoIterator<Item = OutboundEvent>) {
        for e in events {
            self.catalogue.entry(e.detail_type.clone()).or_insert(e);
        }
    }

    fn note_outputs(&mut self, v: &Value) {
        for key in ["outcome", "event"] {
            if let Some(e) = v.get(key).filter(|e| !e.is_null())
                && let Ok(e) = serde_json::from_value::<OutboundEvent>(e.clone())
            {
                self.note_events([e]);
            }
        }
    }

    async fn webhooks(&mut self, intake: &Intake, out: &mut Output) -> Result<(), String> {
        let secrets: BTreeMap<String, String> = serde_json::from_str(
            &std::fs::read_to_string(self.root.join("events/dev-secrets/webhooks.json"))
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        for h in hooks() {
            let mut body = match &h.body {
                Body::File(f) => {
                    let v: Value = serde_json::from_str(
                        &std::fs::read_to_string(self.root.join("events/partners").join(f))
                            .map_err(|e| format!("{f}: {e}"))?,
                    )
                    .map_err(|e| format!("{f}: {e}"))?;
                    serde_json::to_vec(&v).map_err(|e| e.to_string())?
                }
                Body::Bytes(b) => b.clone(),
            };
            let partner: Option<Partner> = h.route.parse().ok();
            let mut headers = vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-correlation-id".to_owned(), format!("corr-{}", h.name)),
            ];
            if let Some(p) = partner {
                let secret = secrets
                    .get(p.as_str())
                    .ok_or_else(|| format!("no dev secret for {p}"))?;
                let signed = match h.signing {
                    Signing::Valid | Signing::Tampered => partners::auth::sign(
                        p,
                        &body,
                        secret,
                        sample_time(),
                        &format!("nonce-{}", h.name),
                    ),
                    Signing::At(t) => {
                        partners::auth::sign(p, &body, secret, t, &format!("nonce-{}", h.name))
                    }
                    Signing::WrongSecret => {
                        partners::auth::sign(p, &body, "not-the-secret", sample_time(), "n")
                    }
                    Signing::None => vec![],
                };
                headers.extend(signed);
            } else {
                headers.extend(partners::auth::sign(
                    Partner::ChainApp,
                    &body,
                    "x",
                    sample_time(),
                    "n",
                ));
            }
            if matches!(h.signing, Signing::Tampered) {
                let text = String::from_utf8_lossy(&body).replace("\"pos\"", "\"forged\"");
                body = text.into_bytes();
            }
            let before = self.world.publisher.events().len();
            let resp = intake
                .handle(WebhookRequest {
                    partner: h.route,
                    headers: &headers,
                    body: &body,
                })
                .await;
            let published: Vec<OutboundEvent> = self.world.publisher.events()[before..].to_vec();
            let types: Vec<String> = published.iter().map(|e| e.detail_type.clone()).collect();
            let as_output = json!({ "statusCode": resp.status, "body": resp.body });
            check(&h.expect, &Ok(as_output), &types)
                .map_err(|e| format!("webhook {}: {e}", h.name))?;
            if let (Some(role), Some(first)) = (h.role, published.first()) {
                self.events.insert(role, first.clone());
            }
            self.note_events(published);
            if h.write {
                let file = format!("intake/{}.json", h.name);
                out.json(
                    &format!("events/{file}"),
                    &api_gateway_request(h.route, &headers, &body, &format!("sample-{}", h.name)),
                )?;
                self.manifest.push(Sample {
                    file,
                    function: "intake".to_owned(),
                    description: h.description.to_owned(),
                    expect: h.expect,
                    expect_under_watch: h.expect_under_watch,
                });
            }
        }
        Ok(())
    }

    fn received(&self, role: &str) -> Result<Value, String> {
        self.events
            .get(role)
            .map(|e| json!({ "received": e.detail }))
            .ok_or_else(|| format!("no received order for role {role}"))
    }

    fn envelope(&self, role: &str) -> Result<Value, String> {
        self.events
            .get(role)
            .map(|e| e.to_envelope(&format!("sample-{role}"), sample_time(), ACCOUNT, REGION))
            .ok_or_else(|| format!("no event for role {role}"))
    }

    /// Runs a seed step on the shared world and records it.
    async fn seed(&mut self, function: &str, input: Value) -> Result<Value, String> {
        let before = self.world.publisher.events().len();
        let result = run_step(&self.backend, &self.env, function, &input, deadline())
            .await
            .map_err(|e| format!("seed {function} {input}: {e}"))?;
        let published = self.world.publisher.events()[before..].to_vec();
        self.note_events(published);
        self.note_outputs(&result);
        self.seed.push(SeedStep {
            function: function.to_owned(),
            input,
        });
        Ok(result)
    }

    /// Runs a sample on a fresh seeded world, checks it, and records it.
    #[allow(clippy::too_many_arguments)]
    async fn sample(
        &mut self,
        out: &mut Output,
        function: &str,
        name: &str,
        description: &str,
        input: Value,
        expect: Expect,
        expect_under_watch: Option<Expect>,
    ) -> Result<(), String> {
        let (world, _clock) = memory_world(&self.root)?;
        let backend = Backend::Memory(world.clone());
        samples::replay_seed(&backend, &self.env, &self.seed, deadline()).await?;
        let before = world.publisher.events().len();
        let snapshot = samples::Snapshot::of(&world);
        let result = run_step(&backend, &self.env, function, &input, deadline()).await;
        let effects = snapshot.effects_since(&world);
        let published: Vec<OutboundEvent> = world.publisher.events()[before..].to_vec();
        let types: Vec<String> = published.iter().map(|e| e.detail_type.clone()).collect();
        let result = match result {
            Ok(v) => Ok(v),
            Err(samples::StepError::Pipeline(e)) => {
                Err((e.name().to_owned(), e.message_with_causes()))
            }
            Err(e) => return Err(format!("{function}/{name}: {e}")),
        };
        check(&expect, &result, &types).map_err(|e| format!("sample {function}/{name}: {e}"))?;
        if let (Some(want), Ok(v)) = (&expect.stored_order, &result) {
            let stored = samples::stored_order(&world, v).await?;
            samples::contains(want, &stored).map_err(|d| {
                format!("sample {function}/{name}: the stored order differs at {d}: {stored}")
            })?;
        }
        if effects != expect.effects {
            return Err(format!(
                "sample {function}/{name}: expected effects {:?}, got {effects:?}",
                expect.effects
            ));
        }
        if let Ok(v) = &result {
            self.note_outputs(v);
        }
        self.note_events(published);
        let file = format!("{function}/{name}.json");
        out.json(&format!("events/{file}"), &input)?;
        self.manifest.push(Sample {
            file,
            function: function.to_owned(),
            description: description.to_owned(),
            expect,
            expect_under_watch,
        });
        Ok(())
    }
}

fn hold_input(order: &Value, plan: &Value, cid: &str) -> Value {
    let id = order["id"].as_str().unwrap_or_default();
    json!({
        "action": "hold",
        "orderId": id,
        "storeId": order["storeId"],
        "plan": plan,
        "taskToken": format!("token-{id}"),
        "correlationId": cid,
    })
}

fn lambda_error(name: &str, message: &str) -> Value {
    json!({ "Error": name, "Cause": json!({ "errorType": name, "errorMessage": message }).to_string() })
}

/// Generates everything.
pub async fn generate(root: &Path, out: &mut Output) -> Result<(), String> {
    for dir in [
        "intake",
        "dedup",
        "adapt-order",
        "accept-order",
        "hold-order",
        "pos",
        "release-order",
        "store-status",
        "handover",
        "sweeper",
        "samples",
    ] {
        out.manage(&format!("events/{dir}"));
    }
    let (world, _clock) = memory_world(root)?;
    let backend = Backend::Memory(world.clone());
    let env = memory_env(root);
    let intake = wiring::intake(&env, &backend)
        .await
        .map_err(|e| e.to_string())?;
    let mut g = Gen {
        root: root.to_owned(),
        env,
        world,
        backend,
        seed: Vec::new(),
        manifest: Vec::new(),
        events: BTreeMap::new(),
        catalogue: BTreeMap::new(),
    };
    g.webhooks(&intake, out).await?;
    // The bodies intake stored, so every sample's world has them.
    for (prefix, body) in g.world.documents.all() {
        let body = String::from_utf8(body).map_err(|e| format!("a stored body: {e}"))?;
        g.seed(
            samples::DOCUMENTS_STEP,
            json!({ "prefix": prefix, "body": body }),
        )
        .await?;
    }

    // The seed: every order brought to the state its samples start from.
    fn g_cid<'a>(g: &'a Gen, role: &str) -> Result<&'a str, String> {
        g.events
            .get(role)
            .and_then(|e| e.correlation_id())
            .ok_or_else(|| format!("no correlation id for {role}"))
    }
    let seeded = [
        "A",
        "AS",
        "AS2",
        "D",
        "D2",
        "B",
        "G",
        "U",
        "US",
        "UM",
        "rej-closed",
        "rej-store",
        "rej-missing",
        "rej-item",
        "rej-currency",
        "rej-price",
        "rej-modifier",
        "rej-empty",
        "rej-paused",
    ];
    for role in seeded {
        let input = g.received(role)?;
        let o = g.seed("dedup", input).await?;
        if o["outcome"] != "new" {
            return Err(format!("seed dedup of {role} was not new: {o}"));
        }
    }
    let mut orders = BTreeMap::new();
    for role in ["A", "AS", "AS2", "D", "D2", "B", "G", "U", "US"] {
        let o = g.seed("adapt-order", g.received(role)?).await?;
        orders.insert(role, o["order"].clone());
    }
    let mut plans = BTreeMap::new();
    for role in ["AS2", "D", "D2", "B", "G", "U", "US"] {
        let c = g_cid(&g, role)?.to_owned();
        let o = g
            .seed(
                "accept-order",
                json!({ "action": "accept", "order": orders[role], "correlationId": c }),
            )
            .await?;
        plans.insert(role, o["hold"].clone());
    }
    for role in ["AS2", "D2", "B", "G", "US"] {
        if plans[role].is_null() {
            return Err(format!("seed order {role} was expected to be held"));
        }
        let c = g_cid(&g, role)?.to_owned();
        g.seed("hold-order", hold_input(&orders[role], &plans[role], &c))
            .await?;
    }
    let gc = g_cid(&g, "G")?.to_owned();
    g.seed("hold-order", json!({ "action": "expire", "orderId": orders["G"]["id"], "storeId": "S1001", "correlationId": gc })).await?;
    let sent = g
        .seed(
            "pos",
            json!({ "action": "send", "order": orders["G"], "correlationId": gc }),
        )
        .await?;
    let g_pos_id = sent["posOrderId"].clone();

    // dedup
    let new = g.received("N")?;
    g.sample(
        out,
        "dedup",
        "new",
        "The first delivery of an order: claimed, recorded as Received",
        new,
        affecting(
            output(json!({ "outcome": "new" })),
            json!({"orders": ["app.APP-20261122-0009 created Received"]}),
        ),
        None,
    )
    .await?;
    let mut dup = g.received("A")?;
    dup["received"]["metadata"]["correlationId"] = json!("corr-app-order-retry");
    g.sample(out, "dedup", "duplicate", "The same order delivered again: a quiet duplicate", dup.clone(), output(json!({ "outcome": "duplicate", "event": { "detailType": "Order Duplicate Ignored", "detail": { "data": { "payloadMismatch": false } } } })), None).await?;
    let mut conflict = dup;
    // Another body for the same order id: its reference names other bytes.
    let other = "5".repeat(64);
    conflict["received"]["data"]["payloadRef"]["sha256"] = json!(other);
    conflict["received"]["data"]["payloadRef"]["key"] =
        json!(format!("payload/app/APP-20261122-0001/{other}"));
    g.sample(out, "dedup", "conflict", "The same order id with a different payload: a conflict", conflict, output(json!({ "outcome": "conflict", "event": { "detail": { "data": { "payloadMismatch": true } } } })), None).await?;
    let mut malformed = g.received("N")?;
    malformed["received"]["data"]
        .as_object_mut()
        .map(|m| m.remove("partnerOrderId"));
    g.sample(
        out,
        "dedup",
        "malformed",
        "An input without the partner order id: InvalidInput",
        malformed,
        error("InvalidInput", "partnerOrderId"),
        None,
    )
    .await?;

    // adapt-order
    let adapted = [
        (
            "ubereats",
            "U",
            "Uber Eats-style: fetched by id, e5 money, local times",
            json!({ "order": { "storeId": "S1001", "items": [{ "posCode": "CRUNCHWRAP" }, { "posCode": "DRINK-LG" }], "subtotal": { "amountMinor": 1627 }, "timing": { "kind": "asap" } } }),
        ),
        (
            "ubereats-scheduled",
            "US",
            "Uber Eats-style scheduled order",
            json!({ "order": { "timing": { "kind": "scheduled", "readyAt": "2026-11-22T20:45:00Z" } } }),
        ),
        (
            "doordash",
            "D",
            "DoorDash: cents without currency, categories, an option's nested extra (a sauce for the steak) as a modifier of its own, the note from order_special_instructions, placed when received (DoorDash's order has no created_at)",
            json!({ "order": { "items": [{ "posCode": "CHALUPA", "modifiers": [{ "posCode": "SUB-STEAK" }, { "posCode": "SAUCE-FIRE" }] }, { "posCode": "CINNA-DELIGHTS" }], "subtotal": { "amountMinor": 1447, "currency": "USD" }, "notes": "leave at door", "placedAt": "2026-11-22T18:00:00Z" } }),
        ),
        (
            "doordash-scheduled",
            "B",
            "DoorDash-style scheduled order",
            json!({ "order": { "timing": { "kind": "scheduled", "readyAt": "2026-11-22T21:30:00Z" } } }),
        ),
        (
            "grubhub",
            "G",
            "Grubhub-style: decimal strings, option quantities",
            json!({ "order": { "fulfillment": "pickup", "items": [{ "posCode": "QUESADILLA-CHKN" }, { "posCode": "TACO-CRUNCHY" }], "subtotal": { "amountMinor": 1346 } } }),
        ),
        (
            "app",
            "A",
            "App order: SKUs mapped through the menu",
            json!({ "order": { "id": "app.APP-20261122-0001", "items": [{ "posCode": "CRUNCHWRAP" }, { "posCode": "TACO-SOFT" }] } }),
        ),
    ];
    for (name, role, description, expect) in adapted {
        let input = g.received(role)?;
        // The workflow gets the order's handle; the canonical order is a document.
        let handle = Expect {
            stored_order: Some(expect["order"].clone()),
            ..output(json!({ "order": { "storeId": "S1001", "document": {} } }))
        };
        g.sample(out, "adapt-order", name, description, input, handle, None)
            .await?;
    }
    let rejected = [
        ("unknown-item", "rej-item", "UnknownItem"),
        ("unknown-modifier", "rej-modifier", "UnknownModifier"),
        ("price-mismatch", "rej-price", "PriceMismatch"),
        (
            "unsupported-currency",
            "rej-currency",
            "UnsupportedCurrency",
        ),
        ("empty-order", "rej-empty", "EmptyOrder"),
        ("paused-store", "rej-paused", "StorePaused"),
        ("paused-store-ubereats", "rej-closed", "StorePaused"),
        ("unknown-store", "rej-store", "UnknownStore"),
        ("missing-field", "rej-missing", "MissingField"),
    ];
    for (name, role, reason) in rejected {
        let input = g.received(role)?;
        let description = format!("Rejected with {reason}");
        g.sample(
            out,
            "adapt-order",
            name,
            &description,
            input,
            error("OrderRejected", &format!("{reason}: ")),
            None,
        )
        .await?;
    }
    let missing = g.received("UM")?;
    g.sample(
        out,
        "adapt-order",
        "partner-order-missing",
        "The partner API does not know the notified order: PartnerRefused",
        missing,
        error("PartnerRefused", "404"),
        None,
    )
    .await?;
    g.sample(
        out,
        "adapt-order",
        "malformed",
        "Not an adapt input: InvalidInput",
        json!({ "received": { "data": {} } }),
        error("InvalidInput", "adapt-order input"),
        None,
    )
    .await?;

    // accept-order
    let ac = g_cid(&g, "A")?.to_owned();
    g.sample(
        out,
        "accept-order",
        "accept",
        "The store takes an ASAP order: accepted with the partner, no hold",
        json!({ "action": "accept", "order": orders["A"], "correlationId": ac }),
        affecting(output(json!({ "hold": null })), json!({"orders": ["app.APP-20261122-0001 status Received -> Accepted", "app.APP-20261122-0001 storeId none -> S1001"], "partner": ["accept app APP-20261122-0001"]})),
        None,
    )
    .await?;
    let asc = g_cid(&g, "AS")?.to_owned();
    g.sample(
        out,
        "accept-order",
        "accept-scheduled",
        "A pickup at 19:30 with 12 minutes of prep: held until 19:18 (under watch the time has passed: no hold)",
        json!({ "action": "accept", "order": orders["AS"], "correlationId": asc }),
        affecting(output(json!({ "hold": { "releaseAt": "2026-11-22T19:18:00Z", "timeoutSeconds": 4680 } })), json!({"orders": ["app.APP-20261122-0002 status Received -> Accepted", "app.APP-20261122-0002 storeId none -> S1001"], "partner": ["accept app APP-20261122-0002"]})),
        Some(output(json!({}))),
    )
    .await?;
    let mut deny = g.received("rej-item")?;
    deny["action"] = json!("deny");
    deny["error"] = lambda_error(
        "OrderRejected",
        "UnknownItem: grubhub item \"7009999\" (Chicken Quesadilla) is not on menu core-us",
    );
    g.sample(out, "accept-order", "deny-rejected", "After a rejection: the partner is told no, Order Rejected", deny, affecting(output(json!({ "outcome": { "detailType": "Order Rejected", "detail": { "data": { "reason": "UnknownItem", "partnerNotified": true } } } })), json!({"orders": ["grubhub.gh-3e7b9c1d-0002 reason none -> UnknownItem: grubhub item \"7009999\" (Chicken Quesadilla) is not on menu core-us", "grubhub.gh-3e7b9c1d-0002 status Received -> Rejected"], "partner": ["deny UnknownItem grubhub gh-3e7b9c1d-0002"]})), None).await?;
    let mut deny_failed = g.received("UM")?;
    deny_failed["action"] = json!("deny");
    deny_failed["error"] = lambda_error(
        "PartnerRefused",
        "partner API refused the call: ubereats fetch order failed (Permanent, HTTP 404): no order",
    );
    g.sample(out, "accept-order", "deny-failed", "A failure before acceptance: the partner is told, Order Failed", deny_failed, affecting(output(json!({ "outcome": { "detailType": "Order Failed", "detail": { "data": { "error": "PartnerRefused" } } } })), json!({"orders": ["ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e99 reason none -> PartnerRefused: partner API refused the call: ubereats fetch order failed (Permanent, HTTP 404): no order", "ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e99 status Received -> Failed"], "partner": ["deny-failure ubereats 5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e99"]})), None).await?;
    let mut unclaimed = g.received("DU")?;
    unclaimed["action"] = json!("denyUnclaimed");
    unclaimed["executionId"] =
        json!("arn:aws:states:us-east-1:123456789012:execution:orders-dev-workflow:sample-du");
    unclaimed["error"] = lambda_error(
        "StorageUnavailable",
        "idempotency: the store did not answer",
    );
    g.sample(out, "accept-order", "deny-unclaimed", "Dedup failed for good and no record of the order exists: this delivery makes it, so the order is its own; the partner is told no, Order Failed", unclaimed, affecting(output(json!({ "outcome": { "detailType": "Order Failed", "detail": { "data": { "error": "StorageUnavailable", "partnerNotified": true } } } })), json!({"orders": ["doordash.dd-7f1e2a90-0006 created Failed"], "partner": ["deny-failure doordash dd-7f1e2a90-0006"]})), None).await?;
    let mut unclaimed_owned = g.received("A")?;
    unclaimed_owned["received"]["metadata"]["correlationId"] = json!("corr-app-order-unclaimed");
    unclaimed_owned["action"] = json!("denyUnclaimed");
    unclaimed_owned["executionId"] =
        json!("arn:aws:states:us-east-1:123456789012:execution:orders-dev-workflow:sample-twin");
    unclaimed_owned["error"] = lambda_error(
        "OrderInProgress",
        "app.APP-20261122-0001 is being processed",
    );
    g.sample(out, "accept-order", "deny-unclaimed-owned", "Dedup failed for good, but another execution made the order's record: it owns the order; this one tells no one, Order Duplicate Ignored", unclaimed_owned, output(json!({ "outcome": { "detailType": "Order Duplicate Ignored", "detail": { "data": { "payloadMismatch": false } } } })), None).await?;
    let bc = g_cid(&g, "B")?.to_owned();
    g.sample(out, "accept-order", "cancel-cancelled", "The partner cancelled a held order: acknowledged, Order Cancelled", json!({ "action": "cancel", "order": orders["B"], "correlationId": bc, "error": { "Error": "OrderCancelled", "Cause": "consumer_cancelled" } }), affecting(output(json!({ "outcome": { "detailType": "Order Cancelled" } })), json!({"orders": ["doordash.dd-7f1e2a90-0002 status Held -> Cancelled"], "partner": ["cancel PartnerRequested doordash dd-7f1e2a90-0002"]})), None).await?;
    g.sample(out, "accept-order", "cancel-failed", "A failure after acceptance: the partner is told, Order Failed", json!({ "action": "cancel", "order": orders["G"], "correlationId": gc, "error": { "Error": "States.Timeout", "Cause": "the publish step timed out" } }), affecting(output(json!({ "outcome": { "detailType": "Order Failed", "detail": { "data": { "error": "States.Timeout" } } } })), json!({"orders": ["grubhub.gh-3e7b9c1d-0001 reason none -> States.Timeout: the publish step timed out", "grubhub.gh-3e7b9c1d-0001 status SentToPos -> Failed"], "partner": ["cancel Internal grubhub gh-3e7b9c1d-0001"]})), None).await?;
    g.sample(
        out,
        "accept-order",
        "malformed",
        "An unknown action: InvalidInput",
        json!({ "action": "launch" }),
        error("InvalidInput", "accept-order input"),
        None,
    )
    .await?;

    // hold-order
    let dc = g_cid(&g, "D")?.to_owned();
    g.sample(
        out,
        "hold-order",
        "hold",
        "Stores the task token of an order waiting for its courier",
        hold_input(&orders["D"], &plans["D"], &dc),
        affecting(publishing(
            output(json!({ "orderId": "doordash.dd-7f1e2a90-0001" })),
            &["Order Held"],
        ), json!({"orders": ["doordash.dd-7f1e2a90-0001 status Accepted -> Held"], "held": ["hold doordash.dd-7f1e2a90-0001"]})),
        None,
    )
    .await?;
    let usc = g_cid(&g, "US")?.to_owned();
    g.sample(out, "hold-order", "expire", "The hold timed out: released by time", json!({ "action": "expire", "orderId": orders["US"]["id"], "storeId": "S1001", "correlationId": usc }), affecting(publishing(output(json!({ "releasedBy": "time" })), &["Order Released"]), json!({"orders": ["ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e02 status Held -> Released"], "held": ["take ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e02"]})), None).await?;

    // pos
    let uc = g_cid(&g, "U")?.to_owned();
    g.sample(
        out,
        "pos",
        "send",
        "Creates the order in the store's POS",
        json!({ "action": "send", "order": orders["U"], "correlationId": uc }),
        affecting(output(json!({ "outcome": { "detailType": "Order Sent To POS" } })), json!({"orders": ["ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e01 posOrderId none -> POS-S1001-00002", "ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e01 status Accepted -> SentToPos"], "pos": ["create S1001 ubereats.5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e01"]})),
        None,
    )
    .await?;
    g.sample(out, "pos", "void", "Voids a POS order (compensation)", json!({ "action": "void", "order": orders["G"], "posOrderId": g_pos_id, "correlationId": gc }), affecting(output(json!({ "voided": true })), json!({"orders": ["grubhub.gh-3e7b9c1d-0001 posVoided false -> true"], "pos": ["void S1001 grubhub.gh-3e7b9c1d-0001"]})), None).await?;

    // release-order
    let near = g.envelope("courier-D2")?;
    g.sample(
        out,
        "release-order",
        "courier-near",
        "A Dasher near the store releases its held order (under watch only once the real clock reaches its early-release time)",
        near,
        affecting(publishing(
            output(json!({ "released": ["doordash.dd-7f1e2a90-0005"] })),
            &["Order Released"],
        ), json!({"orders": ["doordash.dd-7f1e2a90-0005 status Held -> Released"], "held": ["take doordash.dd-7f1e2a90-0005"], "callbacks": ["succeed token-doordash.dd-7f1e2a90-0005"]})),
        Some(output(json!({}))),
    )
    .await?;
    let far = g.envelope("courier-far")?;
    g.sample(
        out,
        "release-order",
        "courier-far",
        "A driver still far away releases nothing",
        far,
        output(json!({ "released": [], "note": "courier is not near store S1001" })),
        None,
    )
    .await?;
    let cancel_held = g.envelope("cancel-AS2")?;
    g.sample(
        out,
        "release-order",
        "cancel-held",
        "A cancellation fails the held order's task",
        cancel_held,
        affecting(output(json!({ "cancelled": ["app.APP-20261122-0007"] })), json!({"orders": ["app.APP-20261122-0007 cancelRequested false -> true", "app.APP-20261122-0007 reason none -> changed plans"], "held": ["take app.APP-20261122-0007"], "callbacks": ["fail token-app.APP-20261122-0007 OrderCancelled"]})),
        None,
    )
    .await?;
    let cancel_sent = g.envelope("cancel-G")?;
    g.sample(
        out,
        "release-order",
        "cancel-sent",
        "A cancellation after the POS has the order: voided and cancelled",
        cancel_sent,
        affecting(publishing(
            output(json!({ "voided": ["grubhub.gh-3e7b9c1d-0001"] })),
            &["Order Cancelled"],
        ), json!({"orders": ["grubhub.gh-3e7b9c1d-0001 cancelRequested false -> true", "grubhub.gh-3e7b9c1d-0001 posVoided false -> true", "grubhub.gh-3e7b9c1d-0001 reason none -> diner requested", "grubhub.gh-3e7b9c1d-0001 status SentToPos -> Cancelled"], "pos": ["void S1001 grubhub.gh-3e7b9c1d-0001"], "partner": ["cancel PartnerRequested grubhub gh-3e7b9c1d-0001"]})),
        None,
    )
    .await?;
    let mut unknown = g.envelope("cancel-G")?;
    unknown["detail"]["data"]["orderId"] = json!("grubhub.gh-never-seen");
    unknown["detail"]["data"]["partnerOrderId"] = json!("gh-never-seen");
    g.sample(
        out,
        "release-order",
        "cancel-unknown",
        "A cancellation of an order the pipeline has not seen yet: kept, and applied when the order arrives",
        unknown,
        affecting(
            output(json!({ "note": "order grubhub.gh-never-seen has not arrived yet; the cancellation is kept and applies when it does" })),
            json!({ "orders": ["grubhub.gh-never-seen cancellation kept"] }),
        ),
        None,
    )
    .await?;
    let wrong = g.envelope("A")?;
    g.sample(
        out,
        "release-order",
        "wrong-event",
        "An event release-order does not handle: InvalidInput",
        wrong,
        error("InvalidInput", "Order Received"),
        None,
    )
    .await?;

    // The store catalogue's changes, as the operators' tools announce them.
    {
        use aws_adapters::catalog_admin::{self, PauseChange, Published};
        let store = order_domain::StoreId::parse("S1001").map_err(|e| e.to_string())?;
        let at = sample_time();
        let pause = PauseChange {
            reason: "fryer down".to_owned(),
            until: Some(at + chrono::TimeDelta::minutes(45)),
        };
        let published = Published {
            menu: "core-us".to_owned(),
            version: 2,
            stores: 3,
        };
        for e in [
            catalog_admin::pause_announcement(&store, Some(&pause), at),
            catalog_admin::pause_announcement(&store, None, at),
            catalog_admin::menu_announcement(&published, at),
            catalog_admin::availability_announcement(&store, "CHALUPA", false, at),
        ] {
            let e = e.map_err(|e| e.to_string())?;
            g.catalogue.insert(e.detail_type.clone(), e);
        }
    }

    // store-status: the partners are told the store as the catalogue has it (the memory
    // backend's catalogue is the repository's: S1003 paused for its refit, S1001 open).
    {
        use aws_adapters::catalog_admin::{self, PauseChange};
        let at = sample_time();
        let envelope = |e: Result<OutboundEvent, _>, name: &str| -> Result<Value, String> {
            let e = e.map_err(|e: pipeline::catalog_admin::AdminError| e.to_string())?;
            serde_json::to_value(e.to_envelope(&format!("sample-{name}"), at, ACCOUNT, REGION))
                .map_err(|e| e.to_string())
        };
        let store = |id: &str| order_domain::StoreId::parse(id).map_err(|e| e.to_string());
        let refit = PauseChange {
            reason: "kitchen refit".to_owned(),
            until: None,
        };
        let paused = envelope(
            catalog_admin::pause_announcement(&store("S1003")?, Some(&refit), at),
            "paused",
        )?;
        g.sample(
            out,
            "store-status",
            "paused",
            "A store paused: Uber Eats, DoorDash and the app are told; Grubhub publishes no store-status call",
            paused,
            affecting(
                output(json!({ "storeId": "S1003", "availability": { "status": "paused", "reason": "kitchen refit" }, "told": ["ubereats", "doordash", "app"], "notSupported": ["grubhub"] })),
                json!({ "partner": ["store paused ubereats 6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1003", "store paused doordash S1003", "store paused app 1003"] }),
            ),
            None,
        )
        .await?;
        let resumed = envelope(
            catalog_admin::pause_announcement(&store("S1001")?, None, at),
            "resumed",
        )?;
        g.sample(
            out,
            "store-status",
            "resumed",
            "A store resumed: its partners are told it is online",
            resumed,
            affecting(
                output(json!({ "storeId": "S1001", "availability": { "status": "online" }, "told": ["ubereats", "doordash", "app"] })),
                json!({ "partner": ["store online ubereats 6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001", "store online doordash S1001", "store online app 1001"] }),
            ),
            None,
        )
        .await?;
        let stale = envelope(
            catalog_admin::pause_announcement(&store("S1001")?, Some(&refit), at),
            "stale-pause",
        )?;
        g.sample(
            out,
            "store-status",
            "stale-pause",
            "A pause handled after the store was resumed: the catalogue, not the event, says what the partners are told (online)",
            stale,
            affecting(
                output(json!({ "storeId": "S1001", "availability": { "status": "online" } })),
                json!({ "partner": ["store online ubereats 6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001", "store online doordash S1001", "store online app 1001"] }),
            ),
            None,
        )
        .await?;
        let unknown = envelope(
            catalog_admin::pause_announcement(&store("S9999")?, None, at),
            "unknown-store",
        )?;
        g.sample(
            out,
            "store-status",
            "unknown-store",
            "A store the catalogue does not hold: nothing to tell",
            unknown,
            output(json!({ "storeId": "S9999", "told": [], "note": "store S9999 is not in the catalogue" })),
            None,
        )
        .await?;
        let item = |id: &str, code: &str, available: bool, name: &str| -> Result<Value, String> {
            envelope(
                catalog_admin::availability_announcement(&store(id)?, code, available, at),
                name,
            )
        };
        g.sample(
            out,
            "store-status",
            "item-sold-out",
            "An item sold out (fire sauce at S2001, on Uber Eats and the app only): each partner listing it is told by its own ids",
            item("S2001", "SAUCE-FIRE", false, "item-sold-out")?,
            affecting(
                output(json!({ "storeId": "S2001", "items": [{ "posCode": "SAUCE-FIRE", "available": false }], "told": ["ubereats", "app"] })),
                json!({ "partner": ["item sold-out ubereats 6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b2001 0f2f6c4e-1a1e-4c1e-9a01-000000000205", "item sold-out app 2001 sku-sauce-fire"] }),
            ),
            None,
        )
        .await?;
        g.sample(
            out,
            "store-status",
            "item-back",
            "An item back on sale: Uber Eats, DoorDash and the app are told; Grubhub publishes no item availability call",
            item("S1001", "CHALUPA", true, "item-back")?,
            affecting(
                output(json!({ "storeId": "S1001", "items": [{ "posCode": "CHALUPA", "available": true }], "told": ["ubereats", "doordash", "app"], "notSupported": ["grubhub"] })),
                json!({ "partner": ["item available ubereats 6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001 0f2f6c4e-1a1e-4c1e-9a01-000000000103", "item available doordash S1001 MSI-103", "item available app 1001 sku-chalupa"] }),
            ),
            None,
        )
        .await?;
        let refresh = OutboundEvent::new(
            order_events::Metadata::new(
                "sample-menu-refresh",
                "ubereats/menu-refresh/6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b2001/c1f3a3de-3a55-4c6a-9a57-5b1a4f2d9001",
                at,
            ),
            order_events::MenuRefreshRequested {
                partner: order_domain::Partner::UberEats,
                partner_store_id: "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b2001".to_owned(),
                partner_event_id: "c1f3a3de-3a55-4c6a-9a57-5b1a4f2d9001".to_owned(),
                received_at: at,
            },
        )
        .map_err(|e| e.to_string())?;
        // The store, then each item and modifier core-kr lists for Uber, in POS-code order
        // (ADD-CHEESE …200, ADD-GUAC …202, …), fire sauce (…205) sold out at S2001.
        let uber_s2001 = "ubereats 6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b2001";
        let by_code = [
            200, 202, 201, 104, 103, 108, 102, 107, 106, 204, 105, 205, 203, 100, 101,
        ];
        let refreshed: Vec<String> = std::iter::once(format!("store online {uber_s2001}"))
            .chain(by_code.iter().map(|n| {
                let status = if *n == 205 { "sold-out" } else { "available" };
                format!("item {status} {uber_s2001} 0f2f6c4e-1a1e-4c1e-9a01-000000000{n}")
            }))
            .collect();
        let refresh =
            serde_json::to_value(refresh.to_envelope("sample-menu-refresh", at, ACCOUNT, REGION))
                .map_err(|e| e.to_string())?;
        g.sample(
            out,
            "store-status",
            "menu-refresh",
            "Uber Eats asks for S2001's menu again: Uber alone is told the store's status and each of the 15 items it lists (fire sauce sold out)",
            refresh,
            affecting(
                output(json!({ "storeId": "S2001", "availability": { "status": "online" }, "told": ["ubereats"] })),
                json!({ "partner": refreshed }),
            ),
            None,
        )
        .await?;
        g.sample(
            out,
            "store-status",
            "item-not-on-menu",
            "A code the store's menu does not list (left over from an earlier menu): nothing to tell",
            item("S1001", "CHALUPPA", false, "item-not-on-menu")?,
            output(json!({ "storeId": "S1001", "told": [], "note": "CHALUPPA is not on the menu of store S1001" })),
            None,
        )
        .await?;
        let menu = envelope(
            catalog_admin::menu_announcement(
                &catalog_admin::Published {
                    menu: "core-us".to_owned(),
                    version: 2,
                    stores: 3,
                },
                at,
            ),
            "wrong-event",
        )?;
        g.sample(
            out,
            "store-status",
            "wrong-event",
            "An event store-status does not handle: InvalidInput",
            menu,
            error("InvalidInput", "Menu Published"),
            None,
        )
        .await?;
    }

    // handover: the handover queue's batches (SQS event source mapping, partial batch
    // responses). Each message carries the Express state at the step it handed over at.
    {
        let received = g
            .events
            .get("A")
            .map(|e| e.detail.clone())
            .ok_or("no received event for A")?;
        let order_id = format!(
            "app.{}",
            received["data"]["partnerOrderId"]
                .as_str()
                .unwrap_or_default()
        );
        let owner = format!(
            "arn:aws:states:{REGION}:{ACCOUNT}:express:orders-sample-workflow:sample:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        );
        let message = |code: &str, at: &str, error: &str| {
            json!({
                "name": format!("{code}-3b7f1c0e9d2a4b6c8e1f0a2b3c4d5e6f7a8b9c0d"),
                "input": {
                    "received": received,
                    "orderId": order_id,
                    "owner": owner,
                    "error": { "Error": error, "Cause": "{\"errorType\":\"PosUnavailable\"}" },
                    "handover": { "at": at, "code": code, "from": owner },
                }
            })
            .to_string()
        };
        let record = |id: &str, body: String| {
            json!({
                "messageId": id,
                "receiptHandle": format!("sample-receipt-{id}"),
                "body": body,
                "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": sample_time().timestamp_millis().to_string() },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:orders-sample-handovers"),
                "awsRegion": REGION,
            })
        };
        let send = message("send-to-pos", "Send to POS", "PosUnavailable");
        g.sample(
            out,
            "handover",
            "batch",
            "Two handovers (a POS outage, a hold): each starts its Standard execution, named for its step and owner",
            json!({ "Records": [record("m-1", send.clone()), record("m-2", message("hold", "Hold", "States.ALL"))] }),
            affecting(
                output(json!({ "batchItemFailures": [] })),
                json!({ "started": [
                    "start send-to-pos-3b7f1c0e9d2a4b6c8e1f0a2b3c4d5e6f7a8b9c0d",
                    "start hold-3b7f1c0e9d2a4b6c8e1f0a2b3c4d5e6f7a8b9c0d"
                ] }),
            ),
            None,
        )
        .await?;
        g.sample(
            out,
            "handover",
            "unreadable",
            "A message that is not a handover is named as a batch item failure (the queue brings it back, then dead-letters it); the rest of the batch starts",
            json!({ "Records": [record("m-1", "{\"name\":".to_owned()), record("m-2", send)] }),
            affecting(
                output(json!({ "batchItemFailures": [{ "itemIdentifier": "m-1" }] })),
                json!({ "started": ["start send-to-pos-3b7f1c0e9d2a4b6c8e1f0a2b3c4d5e6f7a8b9c0d"] }),
            ),
            None,
        )
        .await?;
    }

    // sweeper: EventBridge's scheduled event. The seeded orders are all within their
    // deadlines, so a run starts nothing (the use case's tests strand orders on purpose).
    g.sample(
        out,
        "sweeper",
        "scheduled",
        "EventBridge's scheduled event: a run over the seeded orders, none of them open past its deadline and grace, starts nothing (the use case's tests strand orders on purpose; under cargo lambda watch, on today's clock, every seeded order is overdue and re-driven)",
        json!({
            "version": "0",
            "id": "5f3d2a1b-6c7e-4f80-9a1b-2c3d4e5f6a7b",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2026-11-22T20:00:00Z",
            "region": REGION,
            "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/orders-sample-sweeper")],
            "detail": {}
        }),
        output(json!({ "redriven": [], "left": [], "skipped": 0, "errors": 0 })),
        // Under cargo lambda watch the clock is today's: the seeded orders, placed on the
        // samples' fixed day, are all overdue there, and each is re-driven without error.
        Some(output(json!({ "left": [], "skipped": 0, "errors": 0 }))),
    )
    .await?;

    // pre-traffic-check: CodeDeploy's hook event. Not run here: the hook invokes the other
    // functions, which only a Lambda service serves; `make invoke-samples` checks it under
    // cargo lambda watch, where it reaches the watcher's functions and reports nothing.
    let hook = "pre-traffic-check/hook.json";
    out.json(
        &format!("events/{hook}"),
        &json!({
            "DeploymentId": "d-SAMPLE0001",
            "LifecycleEventHookExecutionId": "sample-hook-execution-0001"
        }),
    )?;
    g.manifest.push(Sample {
        file: hook.to_owned(),
        function: "pre-traffic-check".to_owned(),
        description: "CodeDeploy's PreTraffic hook event: every function's new version invoked with each sample it must read, in the pre-traffic envelope (under cargo lambda watch: the watcher's functions, and nothing reported)".to_owned(),
        expect: output(json!({ "failures": [] })),
        expect_under_watch: None,
    });

    // The catalogue admin route's requests.
    g.manifest
        .extend(crate::catalog_samples::generate(root, out).await?);

    // The seed, the manifest, and one sample of every event type.
    out.json("events/seed.json", &g.seed)?;
    out.json(
        "events/manifest.json",
        &Manifest {
            samples: g.manifest,
        },
    )?;
    for (detail_type, e) in &g.catalogue {
        let slug = order_events::slug(detail_type);
        out.json(
            &format!("events/samples/{slug}.json"),
            &e.to_envelope(&format!("sample-{slug}"), sample_time(), ACCOUNT, REGION),
        )?;
    }
    let missing: Vec<_> = order_events::ALL_EVENTS
        .iter()
        .chain(&order_events::CATALOGUE_CHANGE_EVENTS)
        .filter(|(_, d)| !g.catalogue.contains_key(*d))
        .map(|(_, d)| *d)
        .collect();
    if !missing.is_empty() {
        return Err(format!("no sample was produced for {missing:?}"));
    }
    Ok(())
}
