//! The functions' inputs and outputs: what the workflow passes to each Task and what it reads
//! back. The contract tests check the workflow against these types.

use chrono::{DateTime, Utc};
use order_domain::{Hold, OrderId, PosOrderId, ReleasedBy, StoreId};
use order_events::{Detail, OrderReceived, OutboundEvent};
use serde::{Deserialize, Serialize};

pub use crate::ports::OrderHandle;

/// The version of the shape of a value the functions write into the workflow state for
/// another function to read (the order's handle, the hold plan): `schemaVersion`. While a
/// deployment's canary runs, and for as long as a held order's execution lives, a function of
/// one release reads what a function of the other wrote, so each reader takes the current
/// version and the previous one (absent: the shape before versions, v0.2's) and refuses a
/// newer one by name rather than misread it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StateSchema(u32);

impl StateSchema {
    /// What this release writes.
    pub const CURRENT: StateSchema = StateSchema(1);

    /// The version's number.
    pub fn number(self) -> u32 {
        self.0
    }
}

impl Default for StateSchema {
    /// Absent: the shape before values carried a version.
    fn default() -> Self {
        StateSchema(0)
    }
}

impl<'de> Deserialize<'de> for StateSchema {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        let current = Self::CURRENT.0;
        if v > current {
            Err(serde::de::Error::custom(format!(
                "schemaVersion {v} is newer than this release reads ({current}): deploy the release that wrote it"
            )))
        } else if v + 1 < current {
            Err(serde::de::Error::custom(format!(
                "schemaVersion {v} is older than the previous release's ({})",
                current - 1
            )))
        } else {
            Ok(StateSchema(v))
        }
    }
}

/// The received order as the workflow keeps it: the `detail` of `Order Received`.
pub type Received = Detail<OrderReceived>;

/// A caught workflow error, as Step Functions' `Catch` writes it (`{"Error", "Cause"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// The error name.
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause: a Lambda error's JSON (`errorType`, `errorMessage`) or plain text.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl TaskError {
    /// The human message inside the cause: `errorMessage` of a Lambda error, else the cause.
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.cause)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| self.cause.clone())
    }
}

/// `dedup` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupInput {
    /// The received order.
    pub received: Received,
    /// The workflow execution running this step (`$$.Execution.Id`): its retries of this step
    /// are the same claimant, so a retry after a crash is not taken for a duplicate delivery.
    #[serde(
        default,
        rename = "executionId",
        skip_serializing_if = "Option::is_none"
    )]
    pub execution_id: Option<String>,
}

/// What dedup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupOutcome {
    /// First time: process it.
    New,
    /// Seen before with the same payload: end quietly.
    Duplicate,
    /// Seen before with a different payload: end visibly.
    Conflict,
}

/// `dedup` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DedupOutput {
    /// What dedup found.
    pub outcome: DedupOutcome,
    /// The order.
    pub order_id: OrderId,
    /// Correlation id.
    pub correlation_id: String,
    /// `Order Duplicate Ignored`, for duplicates and conflicts.
    pub event: Option<OutboundEvent>,
}

/// `adapt-order` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptInput {
    /// The received order.
    pub received: Received,
}

/// `adapt-order` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptOutput {
    /// The canonical order's handle: the routing fields and its document.
    pub order: OrderHandle,
}

/// `accept-order` input: the partner conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AcceptInput {
    /// Decide and, if the store takes it, accept with the partner.
    Accept {
        /// The order's handle.
        order: OrderHandle,
        /// Correlation id.
        correlation_id: String,
    },
    /// Before acceptance: tell the partner no (a rejection, or a failure).
    Deny {
        /// The received order.
        received: Received,
        /// The error that ended it.
        error: TaskError,
    },
    /// Dedup failed for good, so this delivery does not know whether it owns the order: settle
    /// that by creating the order's record (a conditional put), then tell the partner no as
    /// [`AcceptInput::Deny`] does if the record is this delivery's, or end as a duplicate if
    /// another delivery's.
    DenyUnclaimed {
        /// The received order.
        received: Received,
        /// Dedup's error.
        error: TaskError,
        /// This execution (`$$.Execution.Id`): the owner the record must name.
        execution_id: String,
    },
    /// After acceptance: tell the partner the order will not be made (its own cancellation,
    /// or a failure).
    Cancel {
        /// The order's handle.
        order: OrderHandle,
        /// Correlation id.
        correlation_id: String,
        /// The error that ended it.
        error: TaskError,
    },
}

/// When and how long to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldPlan {
    /// The shape's version ([`StateSchema`]).
    #[serde(default)]
    pub schema_version: StateSchema,
    /// When it goes to the POS at the latest.
    pub release_at: DateTime<Utc>,
    /// From when a courier may release it.
    pub early_release_from: DateTime<Utc>,
    /// Seconds until `release_at` (the hold task's `TimeoutSecondsPath`), at least 1.
    pub timeout_seconds: u64,
}

impl HoldPlan {
    /// The domain hold.
    pub fn hold(&self) -> Hold {
        Hold {
            release_at: self.release_at,
            early_release_from: self.early_release_from,
        }
    }
}

/// `accept-order` output for `accept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// The hold, or null to send now.
    #[serde(default)]
    pub hold: Option<HoldPlan>,
    /// The latest the store's POS may take the order and the kitchen still make it in time
    /// (`order_domain::send_by`): how long a POS outage is waited out before the order is
    /// cancelled with the partner. Absent from states written before it was kept.
    #[serde(default, rename = "sendBy", skip_serializing_if = "Option::is_none")]
    pub send_by: Option<DateTime<Utc>>,
}

/// An output that ends the workflow with an outcome event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The event to publish.
    pub outcome: OutboundEvent,
}

/// `hold-order` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum HoldInput {
    /// Store the task token; the workflow waits for the callback or the timeout.
    Hold {
        /// The order.
        order_id: OrderId,
        /// Its store.
        store_id: StoreId,
        /// The plan.
        plan: HoldPlan,
        /// `$$.Task.Token`.
        task_token: String,
        /// Correlation id.
        correlation_id: String,
    },
    /// The hold timed out: release by time.
    Expire {
        /// The order.
        order_id: OrderId,
        /// Its store.
        store_id: StoreId,
        /// Correlation id.
        correlation_id: String,
    },
}

/// How a held order was released (the callback's output, or `expire`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    /// Time or courier.
    pub released_by: ReleasedBy,
}

/// `hold-order` output for `hold` (the task's result comes later, from the callback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldStored {
    /// The order.
    pub order_id: OrderId,
}

/// `pos` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PosInput {
    /// Create the order in the store's POS.
    Send {
        /// The order's handle.
        order: OrderHandle,
        /// Correlation id.
        correlation_id: String,
        /// What accept-order decided ([`Accepted`]), for its send-by: how long a POS outage
        /// is waited out. Absent from inputs written before it was passed (the POS is then
        /// waited for on the workflow's retries alone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted: Option<Accepted>,
    },
    /// Void a POS order (compensation): the one with this id, or, without one, whatever the
    /// POS created under the order's idempotency key (the order id); nothing if it has none.
    Void {
        /// The order's handle.
        order: OrderHandle,
        /// The POS's id, when the caller knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pos_order_id: Option<PosOrderId>,
        /// Correlation id.
        correlation_id: String,
    },
}

/// `pos` output for `send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// The POS's id.
    pub pos_order_id: PosOrderId,
    /// `Order Sent To POS`.
    pub outcome: OutboundEvent,
}

/// `pos` output for `void`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voided {
    /// Whether the POS confirmed the void (false if it had no such order).
    pub voided: bool,
}

/// `release-order` output: what a courier or cancellation event did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseSummary {
    /// Orders released to the POS.
    pub released: Vec<OrderId>,
    /// Orders whose held task was failed with `OrderCancelled`.
    pub cancelled: Vec<OrderId>,
    /// Orders voided in the POS and cancelled directly (already sent).
    pub voided: Vec<OrderId>,
    /// Why nothing (more) happened, if so.
    pub note: Option<String>,
}

/// `accept-order` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AcceptOutput {
    /// For `accept`.
    Accepted(Accepted),
    /// For `deny` and `cancel`.
    Outcome(Outcome),
}

/// `hold-order` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HoldOutput {
    /// For `hold`.
    Stored(HoldStored),
    /// For `expire`.
    Released(Release),
}

/// `pos` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PosOutput {
    /// For `send`.
    Sent(Sent),
    /// For `void`.
    Voided(Voided),
}

#[cfg(test)]
mod state_schema_tests {
    use super::*;

    #[test]
    fn a_state_value_of_this_release_or_the_previous_reads_and_a_newer_one_is_refused_by_name() {
        let plan = |v: &str| {
            serde_json::from_str::<HoldPlan>(&format!(
                r#"{{{v}"releaseAt": "2026-12-07T12:00:00Z", "earlyReleaseFrom": "2026-12-07T11:40:00Z", "timeoutSeconds": 60}}"#
            ))
        };
        assert_eq!(plan("").unwrap().schema_version, StateSchema::default());
        assert_eq!(
            plan(r#""schemaVersion": 0, "#)
                .unwrap()
                .schema_version
                .number(),
            0
        );
        assert_eq!(
            plan(r#""schemaVersion": 1, "#).unwrap().schema_version,
            StateSchema::CURRENT
        );
        let newer = plan(r#""schemaVersion": 2, "#).unwrap_err().to_string();
        assert!(
            newer.contains("schemaVersion 2 is newer than this release reads"),
            "{newer}"
        );
        // What this release writes says which shape it is.
        let written = HoldPlan {
            schema_version: StateSchema::CURRENT,
            ..plan("").unwrap()
        };
        assert_eq!(serde_json::to_value(written).unwrap()["schemaVersion"], 1);
    }
}
