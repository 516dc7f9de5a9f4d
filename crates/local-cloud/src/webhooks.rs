//! Partner webhooks made from the samples in `events/partners/`, fit to be sent now: every
//! timestamp moved by the time since the samples' clock ([`SAMPLE_TIME`]), chosen times set
//! relative to now, the partner order id given a per-run suffix (so runs never collide with
//! earlier orders in a persisted table), and signed the way the partner signs.

use std::path::Path;

use chrono::{DateTime, FixedOffset, Offset, TimeDelta, Utc};
use order_domain::{OrderId, Partner, PartnerOrderId};
use partners::parse_webhook;
use partners::webhook::Webhook;
use serde_json::Value;

pub use lambda_support::samples::SAMPLE_TIME;

/// Why a sample could not be made into a webhook.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("{path} is not JSON: {source}")]
    Json {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Not a webhook of the partner.
    #[error("{path} is not a {partner} webhook: {why}")]
    NotWebhook {
        /// The path.
        path: String,
        /// The partner.
        partner: Partner,
        /// Why.
        why: String,
    },
    /// A field to set is missing.
    #[error("{path} has no field {pointer}")]
    NoField {
        /// The path.
        path: String,
        /// The JSON pointer.
        pointer: String,
    },
}

/// A partner payload on its way to being sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// The partner.
    pub partner: Partner,
    /// The JSON.
    pub json: Value,
    path: String,
}

fn sample_time() -> DateTime<Utc> {
    SAMPLE_TIME.parse().unwrap_or_default()
}

/// The partner a sample path belongs to (`events/partners/<partner>/…`).
pub fn partner_of(path: &Path) -> Option<Partner> {
    path.parent()?.file_name()?.to_str()?.parse().ok()
}

impl Payload {
    /// Reads a sample.
    pub fn load(partner: Partner, path: &Path) -> Result<Self, SampleError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SampleError::Read {
            path: shown.clone(),
            source,
        })?;
        let json = serde_json::from_str(&text).map_err(|source| SampleError::Json {
            path: shown.clone(),
            source,
        })?;
        Ok(Self {
            partner,
            json,
            path: shown,
        })
    }

    /// Moves every timestamp by `now - SAMPLE_TIME`: RFC 3339 strings keep their offset, and
    /// integers within a week of the samples' clock are taken as epoch seconds.
    pub fn rebase(mut self, now: DateTime<Utc>) -> Self {
        shift(&mut self.json, now - sample_time());
        self
    }

    /// Sets the timestamp at `pointer` to `at`, in the offset the field already uses.
    pub fn at(mut self, pointer: &str, at: DateTime<Utc>) -> Result<Self, SampleError> {
        let field = self.field(pointer)?;
        let offset: FixedOffset = field
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map_or(Utc.fix(), |t| *t.offset());
        let at = at.with_timezone(&offset);
        *field = Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        Ok(self)
    }

    /// Sets any field at `pointer`.
    pub fn set(mut self, pointer: &str, value: Value) -> Result<Self, SampleError> {
        *self.field(pointer)? = value;
        Ok(self)
    }

    /// The field at `pointer`, which must exist.
    fn field(&mut self, pointer: &str) -> Result<&mut Value, SampleError> {
        self.json
            .pointer_mut(pointer)
            .ok_or_else(|| SampleError::NoField {
                path: self.path.clone(),
                pointer: pointer.to_owned(),
            })
    }

    /// The partner order id the webhook is about.
    pub fn partner_order_id(&self) -> Result<PartnerOrderId, SampleError> {
        let (webhook, _) =
            parse_webhook(self.partner, self.json.to_string().as_bytes()).map_err(|e| {
                SampleError::NotWebhook {
                    path: self.path.clone(),
                    partner: self.partner,
                    why: e.to_string(),
                }
            })?;
        let id = match webhook {
            Webhook::Order(n) => n.partner_order_id,
            Webhook::Cancellation(n) => n.partner_order_id,
            Webhook::CourierArriving(n) => n.partner_order_id,
            Webhook::CourierLocation(n) => {
                n.partner_order_id.ok_or_else(|| SampleError::NotWebhook {
                    path: self.path.clone(),
                    partner: self.partner,
                    why: "the courier update names no order".to_owned(),
                })?
            }
            Webhook::MenuRefresh(_) => {
                return Err(SampleError::NotWebhook {
                    path: self.path.clone(),
                    partner: self.partner,
                    why: "a menu refresh request names no order".to_owned(),
                });
            }
        };
        Ok(id)
    }

    /// Replaces `from` with `to` in every string (ids, and URLs that carry them).
    pub fn rename(mut self, from: &str, to: &str) -> Self {
        replace(&mut self.json, from, to);
        self
    }

    /// Replaces every string that is exactly `from` with `to` (a store id that is also a
    /// substring of other ids).
    pub fn rename_exact(mut self, from: &str, to: &str) -> Self {
        replace_exact(&mut self.json, from, to);
        self
    }

    /// The body to send.
    pub fn body(&self) -> Vec<u8> {
        self.json.to_string().into_bytes()
    }
}

fn shift(v: &mut Value, by: TimeDelta) {
    let sample_epoch = sample_time().timestamp();
    match v {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                *s = (t + by).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            }
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64().filter(|i| (i - sample_epoch).abs() < 7 * 86_400) {
                *v = Value::from(i + by.num_seconds());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shift(x, by)),
        Value::Object(o) => o.values_mut().for_each(|x| shift(x, by)),
        _ => {}
    }
}

fn replace(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|x| replace(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| replace(x, from, to)),
        _ => {}
    }
}

fn replace_exact(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_exact(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_exact(x, from, to)),
        _ => {}
    }
}

/// The pipeline's id of a partner order.
pub fn order_id(partner: Partner, partner_order_id: &PartnerOrderId) -> OrderId {
    OrderId::for_partner_order(partner, partner_order_id)
}

/// The authentication headers the partner would send with `body`.
pub fn sign(partner: Partner, body: &[u8], secret: &str) -> Vec<(String, String)> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    partners::auth::sign(partner, body, secret, Utc::now(), &nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(json: Value) -> Payload {
        Payload {
            partner: Partner::Grubhub,
            json,
            path: "test".to_owned(),
        }
    }

    #[test]
    fn rebasing_moves_times_and_epochs_but_not_prices() {
        let now: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        let p = payload(json!({
            "placed_at": "2026-11-22T09:59:00-08:00",
            "event_time": sample_time().timestamp(),
            "price": 449,
            "name": "Taco",
        }))
        .rebase(now);
        let by = now - sample_time();
        assert_eq!(p.json["placed_at"], "2026-12-31T15:59:00-08:00");
        assert_eq!(
            p.json["event_time"],
            sample_time().timestamp() + by.num_seconds()
        );
        assert_eq!(p.json["price"], 449);
        assert_eq!(p.json["name"], "Taco");
    }

    #[test]
    fn a_time_is_set_in_the_fields_own_offset() {
        let at: DateTime<Utc> = "2026-11-22T20:00:00Z".parse().unwrap();
        let p = payload(json!({ "when": "2026-11-22T09:59:00-08:00", "utc": null }))
            .at("/when", at)
            .unwrap()
            .at("/utc", at)
            .unwrap();
        assert_eq!(p.json["when"], "2026-11-22T12:00:00-08:00");
        assert_eq!(p.json["utc"], "2026-11-22T20:00:00Z");
        assert!(payload(json!({})).at("/missing", at).is_err());
    }

    #[test]
    fn renaming_reaches_nested_strings_and_urls() {
        let p = payload(
            json!({ "meta": { "resource_id": "o-1" }, "href": "https://x/v2/eats/order/o-1" }),
        )
        .rename("o-1", "o-1-run");
        assert_eq!(p.json["meta"]["resource_id"], "o-1-run");
        assert_eq!(p.json["href"], "https://x/v2/eats/order/o-1-run");
    }

    #[test]
    fn samples_name_their_partner_by_directory() {
        assert_eq!(
            partner_of(Path::new("events/partners/doordash/order.json")),
            Some(Partner::DoorDash)
        );
        assert_eq!(partner_of(Path::new("events/intake/x.json")), None);
    }
}
