//! What an invocation did to the memory world besides answering and publishing.

use super::*;

/// What an invocation did besides answering and publishing, read from the memory world (not
/// from the function's answer): one line per effect, in the order seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Effects {
    /// Orders-table changes, one per changed field: `<orderId> created <status>`,
    /// `<orderId> <field> <before> -> <after>` (fields `status`, `cancelRequested`, `posVoided`,
    /// `storeId` (set when the adapted order is attached), `posOrderId`, `reason`),
    /// `<orderId> removed`, and `<orderId> cancellation kept` for a cancellation kept before
    /// its order had a record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<String>,
    /// Held-orders rows: `hold <orderId>` (added), `take <orderId>` (removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// POS changes: `create <store> <externalId>`, `void <store> <externalId>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pos: Vec<String>,
    /// Partner notifications: `<action> <partner> <partnerOrderId>`, action being `accept`,
    /// `deny <Reason>`, `deny-failure` or `cancel <Reason>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partner: Vec<String>,
    /// Workflow callbacks: `succeed <token>`, `fail <token> <error>`, `heartbeat <token>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<String>,
    /// Documents stored (the claim check): `stored <key prefix>` (the key less its SHA-256).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
    /// Standard executions started (the handover): `start <name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub started: Vec<String>,
}

impl Effects {
    /// Nothing done.
    pub fn is_empty(&self) -> bool {
        *self == Effects::default()
    }
}

/// The parts of a memory world an invocation can change, to diff before and after.
pub struct Snapshot {
    orders: std::collections::BTreeMap<String, std::collections::BTreeMap<&'static str, String>>,
    early: std::collections::BTreeSet<String>,
    held: std::collections::BTreeSet<String>,
    pos: Vec<(String, String, bool)>,
    partner: usize,
    store_statuses: usize,
    item_statuses: usize,
    callbacks: usize,
    documents: std::collections::BTreeSet<String>,
    started: usize,
}

impl Snapshot {
    /// The world as it is now.
    pub fn of(w: &MemoryWorld) -> Self {
        Snapshot {
            orders: w
                .orders
                .all()
                .into_iter()
                .map(|r| {
                    let text = |v: Option<String>| v.unwrap_or_else(|| "none".to_owned());
                    let fields = std::collections::BTreeMap::from([
                        ("status", format!("{:?}", r.status)),
                        ("cancelRequested", r.cancel_requested.to_string()),
                        ("posVoided", r.pos_voided.to_string()),
                        ("storeId", text(r.store_id.map(|s| s.to_string()))),
                        ("posOrderId", text(r.pos_order_id.map(|p| p.to_string()))),
                        ("reason", text(r.reason)),
                    ]);
                    (r.order_id.to_string(), fields)
                })
                .collect(),
            early: w
                .orders
                .early_cancellations()
                .into_iter()
                .map(|(id, _)| id.to_string())
                .collect(),
            held: w
                .held
                .all()
                .into_iter()
                .map(|h| h.order_id.to_string())
                .collect(),
            pos: w
                .pos
                .orders()
                .into_iter()
                .map(|p| {
                    (
                        p.store.to_string(),
                        p.ticket.external_id.to_string(),
                        p.voided,
                    )
                })
                .collect(),
            partner: w.partners.calls().len(),
            store_statuses: w.partners.store_statuses().len(),
            item_statuses: w.partners.item_statuses().len(),
            callbacks: w.callbacks.calls().len(),
            started: w.starter.started().len(),
            documents: w.documents.keys().into_iter().collect(),
        }
    }

    /// What changed from `self` to the world now.
    pub fn effects_since(&self, w: &MemoryWorld) -> Effects {
        use partners::PartnerAction;
        use pipeline::memory::CallbackCall;
        let now = Snapshot::of(w);
        let mut orders = Vec::new();
        for (id, fields) in &now.orders {
            match self.orders.get(id) {
                None => orders.push(format!(
                    "{id} created {}",
                    fields.get("status").map_or("", String::as_str)
                )),
                Some(before) => {
                    for (field, value) in fields {
                        let was = before.get(field).map_or("none", String::as_str);
                        if was != value {
                            orders.push(format!("{id} {field} {was} -> {value}"));
                        }
                    }
                }
            }
        }
        orders.extend(
            self.orders
                .keys()
                .filter(|id| !now.orders.contains_key(*id))
                .map(|id| format!("{id} removed")),
        );
        orders.extend(
            now.early
                .difference(&self.early)
                .map(|id| format!("{id} cancellation kept")),
        );
        let mut held: Vec<String> = now
            .held
            .difference(&self.held)
            .map(|id| format!("hold {id}"))
            .collect();
        held.extend(
            self.held
                .difference(&now.held)
                .map(|id| format!("take {id}")),
        );
        let mut pos = Vec::new();
        for (i, (store, external, voided)) in now.pos.iter().enumerate() {
            match self.pos.get(i) {
                None => {
                    pos.push(format!("create {store} {external}"));
                    if *voided {
                        pos.push(format!("void {store} {external}"));
                    }
                }
                Some((_, _, was)) if *voided && !was => {
                    pos.push(format!("void {store} {external}"))
                }
                Some(_) => {}
            }
        }
        let partner = w.partners.calls()[self.partner..]
            .iter()
            .map(|c| {
                let action = match &c.action {
                    PartnerAction::Accept { .. } => "accept".to_owned(),
                    PartnerAction::Deny(r) => format!("deny {:?}", r.reason),
                    PartnerAction::DenyFailure { .. } => "deny-failure".to_owned(),
                    PartnerAction::Cancel { reason, .. } => format!("cancel {reason:?}"),
                };
                format!("{action} {} {}", c.order.partner, c.order.partner_order_id)
            })
            .chain(
                w.partners.store_statuses()[self.store_statuses..]
                    .iter()
                    .map(|(partner, store, availability)| {
                        let status = match availability {
                            partners::StoreAvailability::Online => "online",
                            partners::StoreAvailability::Paused { .. } => "paused",
                        };
                        format!("store {status} {partner} {store}")
                    }),
            )
            .chain(w.partners.item_statuses()[self.item_statuses..].iter().map(
                |(partner, store, item, availability)| {
                    let status = if availability.is_available() {
                        "available"
                    } else {
                        "sold-out"
                    };
                    format!("item {status} {partner} {store} {item}")
                },
            ))
            .collect::<Vec<_>>();
        let callbacks = w.callbacks.calls()[self.callbacks..]
            .iter()
            .map(|c| match c {
                CallbackCall::Succeed { token, .. } => format!("succeed {token}"),
                CallbackCall::Fail { token, error, .. } => format!("fail {token} {error}"),
                CallbackCall::Heartbeat { token } => format!("heartbeat {token}"),
            })
            .collect();
        let documents = now
            .documents
            .difference(&self.documents)
            .map(|k| {
                format!(
                    "stored {}",
                    k.rsplit_once('/').map_or(k.as_str(), |(p, _)| p)
                )
            })
            .collect();
        let started = w.starter.started()[self.started..]
            .iter()
            .map(|(name, _)| format!("start {name}"))
            .collect();
        Effects {
            orders,
            held,
            pos,
            partner,
            callbacks,
            documents,
            started,
        }
    }
}
