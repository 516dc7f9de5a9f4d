//! Intake: a partner webhook becomes an event on the bus, or a clear HTTP error.
//!
//! Order of checks: known partner route (404) → body size (413) → signature or token on the
//! raw body (401) → JSON and webhook shape (400, announced as `Webhook Rejected`) → replay
//! window (401) → an order's body stored once in the documents table (the claim check; 503
//! if it fails) → publish its reference (503 if the bus fails, so the partner retries) → 202.

use std::sync::Arc;

use order_domain::{Catalog, CorrelationId, OrderId, Partner};
use order_events::{
    CourierArriving, CourierLocationUpdated, DocumentRef, MenuRefreshRequested, Metadata,
    OrderCancellationRequested, OrderReceived, OutboundEvent, WebhookRejected,
};
use partners::auth::{self, AuthError};
use partners::{Webhook, WebhookError, acknowledgement, parse_webhook};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::ports::CatalogSource;
use crate::ports::{Clock, Documents, EventPublisher, Metric, Metrics};

pub use super::webhook_secrets::WebhookSecrets;

/// The largest webhook body intake takes, bytes: 1 MiB. The partners publish no smaller cap
/// for their order webhooks (a 1,200-line catering order from the app is 191 KB), and the
/// chain's largest orders must reach the store; the body is stored once by reference, so
/// nothing downstream carries it. Above Lambda's 6 MB synchronous payload and API Gateway's
/// 10 MB request quotas there is room for the base64 an HTTP API may add.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 1024 * 1024;

/// Intake limits.
#[derive(Debug, Clone, Copy)]
pub struct IntakeConfig {
    /// Larger bodies get 413 ([`MAX_WEBHOOK_BODY_BYTES`] by default).
    pub max_body_bytes: usize,
    /// Signed timestamps further than this from now get 401; `None` disables the check
    /// (local sample replays only).
    pub replay_window_seconds: Option<i64>,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: MAX_WEBHOOK_BODY_BYTES,
            replay_window_seconds: Some(300),
        }
    }
}

/// A webhook as HTTP delivered it.
#[derive(Debug)]
pub struct WebhookRequest<'a> {
    /// The `{partner}` route parameter.
    pub partner: &'a str,
    /// Headers.
    pub headers: &'a [(String, String)],
    /// Raw body.
    pub body: &'a [u8],
}

/// The HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    /// Status code.
    pub status: u16,
    /// JSON body; `Null` for none (the partner expects an empty body).
    pub body: Value,
    /// `Retry-After` seconds, on 503.
    pub retry_after: Option<u32>,
    /// The correlation id given to this request.
    pub correlation_id: String,
}

/// The intake use case.
pub struct Intake {
    /// Store catalogue, to map courier events to stores.
    pub catalog: Arc<dyn CatalogSource>,
    /// Webhook credentials.
    pub secrets: WebhookSecrets,
    /// The bus.
    pub publisher: Arc<dyn EventPublisher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
    /// Limits.
    pub config: IntakeConfig,
    /// The claim-check store an order's body goes to.
    pub documents: Arc<dyn Documents>,
}

const CORRELATION_HEADER: &str = "x-correlation-id";

impl Intake {
    fn refuse(
        &self,
        partner: Option<Partner>,
        status: u16,
        code: &str,
        message: String,
        cid: &str,
    ) -> WebhookResponse {
        self.metrics
            .record(Metric::WebhookRefused { partner, status });
        warn!(
            partner = partner.map(Partner::as_str),
            status,
            code,
            correlation_id = cid,
            "webhook refused: {message}"
        );
        WebhookResponse {
            status,
            body: json!({ "error": { "code": code, "message": message }, "correlationId": cid }),
            retry_after: None,
            correlation_id: cid.to_owned(),
        }
    }

    /// Handles one webhook.
    pub async fn handle(&self, req: WebhookRequest<'_>) -> WebhookResponse {
        let now = self.clock.now();
        let cid = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(CORRELATION_HEADER))
            .and_then(|(_, v)| CorrelationId::parse(v.as_str()).ok())
            .map(|c| c.to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());

        let Ok(partner) = req.partner.parse::<Partner>() else {
            return self.refuse(
                None,
                404,
                "UnknownPartner",
                format!("no webhook route for partner {:?}", req.partner),
                &cid,
            );
        };
        if req.body.len() > self.config.max_body_bytes {
            return self.refuse(
                Some(partner),
                413,
                "PayloadTooLarge",
                format!(
                    "body is {} bytes; at most {} are accepted",
                    req.body.len(),
                    self.config.max_body_bytes
                ),
                &cid,
            );
        }
        // A deployment without this partner's credential (or with a weak one) refuses its
        // webhooks rather than accepting them unauthenticated.
        let verified = match self
            .secrets
            .verify(partner, req.headers, req.body, self.clock.now())
            .await
        {
            Ok(v) => v,
            Err(e) => return self.refuse(Some(partner), 401, "Unauthorized", e.to_string(), &cid),
        };
        let (webhook, _parsed) = match parse_webhook(partner, req.body) {
            Ok(parsed) => parsed,
            Err(WebhookError::UnsupportedType { kind, .. })
                if acknowledgement(partner).ignores_other_types =>
            {
                // Every event type comes to this one URL: taken, recorded, not acted on.
                self.metrics.record(Metric::WebhookIgnored {
                    partner,
                    event_type: kind.clone(),
                });
                info!(partner = partner.as_str(), event_type = %kind, correlation_id = %cid, "webhook ignored: a type the pipeline does not use");
                return Self::acknowledged(
                    partner,
                    json!({ "status": "ignored", "eventType": kind, "correlationId": cid }),
                    cid,
                );
            }
            Err(e) => {
                let problem = e.to_string();
                self.announce_rejected(partner, &problem, req.body, &cid)
                    .await;
                return self.refuse(Some(partner), 400, "MalformedWebhook", problem, &cid);
            }
        };
        if let (Some(window), Some(signed_at)) = (
            self.config.replay_window_seconds,
            verified.signed_at.or(webhook.sent_at()),
        ) && let Err(e @ AuthError::OutsideReplayWindow { .. }) =
            auth::check_replay_window(signed_at, now, window)
        {
            return self.refuse(Some(partner), 401, "Unauthorized", e.to_string(), &cid);
        }
        // An order's body is stored once; the event carries its reference.
        let payload_ref = match &webhook {
            Webhook::Order(n) => {
                let prefix = format!("payload/{partner}/{}", n.partner_order_id);
                match self.documents.put(&prefix, req.body).await {
                    Ok(r) => Some(r),
                    Err(e) => {
                        warn!(partner = partner.as_str(), correlation_id = %cid, error = %e, "could not store the webhook body");
                        return self.unavailable(partner, cid);
                    }
                }
            }
            _ => None,
        };
        // A courier's position is about a store: read that store's catalogue first.
        let catalog = match &webhook {
            Webhook::CourierLocation(n) => {
                match self
                    .catalog
                    .partner_store(partner, &n.partner_store_id)
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        warn!(partner = partner.as_str(), correlation_id = %cid, error = %e, "could not read the catalogue");
                        return self.unavailable(partner, cid);
                    }
                }
            }
            _ => None,
        };
        let built = self.event_for(partner, webhook, payload_ref, catalog.as_deref(), now, &cid);
        let (event, kind, order_id) = match built {
            Ok(x) => x,
            Err(problem) => {
                self.announce_rejected(partner, &problem, req.body, &cid)
                    .await;
                return self.refuse(Some(partner), 400, "MalformedWebhook", problem, &cid);
            }
        };
        if let Err(e) = self.publisher.publish(std::slice::from_ref(&event)).await {
            warn!(partner = partner.as_str(), correlation_id = %cid, error = %e, "could not publish webhook event");
            return self.unavailable(partner, cid);
        }
        self.metrics.record(Metric::WebhookAccepted { partner });
        info!(partner = partner.as_str(), kind, order_id = order_id.as_ref().map(|o| o.as_str()), correlation_id = %cid, "webhook accepted");
        let mut body = json!({ "status": "accepted", "kind": kind, "correlationId": cid });
        if let Some(id) = order_id {
            body["orderId"] = Value::from(id.to_string());
        }
        Self::acknowledged(partner, body, cid)
    }

    /// The answer to a webhook taken, as `partner` expects it
    /// ([`partners::acknowledgement`]): `receipt` as the body, or no body (`Value::Null`).
    fn acknowledged(partner: Partner, receipt: Value, cid: String) -> WebhookResponse {
        let ack = acknowledgement(partner);
        WebhookResponse {
            status: ack.status,
            body: if ack.empty_body { Value::Null } else { receipt },
            retry_after: None,
            correlation_id: cid,
        }
    }

    /// 503 with `Retry-After`: the partner retries the webhook.
    fn unavailable(&self, partner: Partner, cid: String) -> WebhookResponse {
        self.metrics.record(Metric::WebhookRefused {
            partner: Some(partner),
            status: 503,
        });
        WebhookResponse {
            status: 503,
            body: json!({ "error": { "code": "Unavailable", "message": "try again shortly" }, "correlationId": cid }),
            retry_after: Some(1),
            correlation_id: cid,
        }
    }

    fn event_for(
        &self,
        partner: Partner,
        webhook: Webhook,
        payload_ref: Option<DocumentRef>,
        catalog: Option<&Catalog>,
        now: chrono::DateTime<chrono::Utc>,
        cid: &str,
    ) -> Result<(OutboundEvent, &'static str, Option<OrderId>), String> {
        let built = match webhook {
            Webhook::Order(n) => {
                let order_id = OrderId::for_partner_order(partner, &n.partner_order_id);
                let payload_ref =
                    payload_ref.ok_or_else(|| "the order's body was not stored".to_owned())?;
                let event = OutboundEvent::new(
                    Metadata::new(cid, format!("{order_id}/order-received"), now),
                    OrderReceived {
                        partner,
                        partner_order_id: n.partner_order_id,
                        partner_store_id: n.partner_store_id,
                        payload_kind: n.kind,
                        received_at: now,
                        payload_ref,
                    },
                );
                (event, "order", Some(order_id))
            }
            Webhook::Cancellation(n) => {
                let order_id = OrderId::for_partner_order(partner, &n.partner_order_id);
                let event = OutboundEvent::new(
                    Metadata::new(cid, format!("{order_id}/order-cancellation-requested"), now),
                    OrderCancellationRequested {
                        partner,
                        partner_order_id: n.partner_order_id,
                        order_id: order_id.clone(),
                        partner_store_id: n.partner_store_id,
                        reason: n.reason,
                        requested_at: now,
                    },
                );
                (event, "cancellation", Some(order_id))
            }
            Webhook::CourierArriving(n) => {
                let order_id = OrderId::for_partner_order(partner, &n.partner_order_id);
                let event = OutboundEvent::new(
                    Metadata::new(
                        cid,
                        format!("{order_id}/courier-arriving/{}", n.signal.replace(' ', "-")),
                        now,
                    ),
                    CourierArriving {
                        partner,
                        partner_order_id: n.partner_order_id,
                        order_id: order_id.clone(),
                        signal: n.signal,
                        observed_at: now,
                    },
                );
                (event, "courierArriving", Some(order_id))
            }
            Webhook::CourierLocation(n) => {
                let store = catalog
                    .and_then(|c| c.store_for_partner(partner, &n.partner_store_id))
                    .ok_or_else(|| {
                        format!(
                            "{partner} store {:?} is not a store of the chain",
                            n.partner_store_id
                        )
                    })?;
                let key = format!(
                    "{}/courier/{}/{}",
                    store.id,
                    n.partner_order_id.as_ref().map_or("-", |p| p.as_str()),
                    now.timestamp_millis()
                );
                let order_id = n
                    .partner_order_id
                    .as_ref()
                    .map(|p| OrderId::for_partner_order(partner, p));
                let event = OutboundEvent::new(
                    Metadata::new(cid, key, now),
                    CourierLocationUpdated {
                        partner,
                        partner_order_id: n.partner_order_id,
                        store_id: store.id.clone(),
                        location: n.location,
                        eta_seconds: n.eta_seconds,
                        observed_at: now,
                    },
                );
                (event, "courierLocation", order_id)
            }
            Webhook::MenuRefresh(n) => {
                let event = OutboundEvent::new(
                    Metadata::new(
                        cid,
                        format!(
                            "{partner}/menu-refresh/{}/{}",
                            n.partner_store_id, n.event_id
                        ),
                        now,
                    ),
                    MenuRefreshRequested {
                        partner,
                        partner_store_id: n.partner_store_id,
                        partner_event_id: n.event_id,
                        received_at: now,
                    },
                );
                (event, "menuRefresh", None)
            }
        };
        let (event, kind, order_id) = built;
        Ok((
            event.map_err(|e| format!("event does not serialize: {e}"))?,
            kind,
            order_id,
        ))
    }

    /// An authenticated but unusable webhook is recorded on the bus (and so in its archive):
    /// nothing a partner sent is silently dropped.
    async fn announce_rejected(&self, partner: Partner, problem: &str, body: &[u8], cid: &str) {
        let now = self.clock.now();
        let digest = idempotency::sha256_hex(body);
        let event = OutboundEvent::new(
            Metadata::new(cid, format!("{partner}/webhook-rejected/{digest}"), now),
            WebhookRejected {
                partner,
                problem: problem.chars().take(500).collect(),
                body_sha256: digest,
                body_bytes: body.len() as u64,
                received_at: now,
            },
        );
        match event {
            Ok(e) => {
                if let Err(err) = self.publisher.publish(&[e]).await {
                    warn!(partner = partner.as_str(), correlation_id = cid, error = %err, "could not announce a rejected webhook");
                }
            }
            Err(err) => warn!(error = %err, "could not build Webhook Rejected"),
        }
    }
}
