//! Why an order is refused. The reason codes are stable: they appear in events, metrics,
//! workflow error causes and partner deny calls.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stable reason code for refusing an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RejectionReason {
    /// The partner's store id maps to no store of the chain.
    UnknownStore,
    /// The store is closed, or will be at the requested time (its hours, a holiday).
    StoreClosed,
    /// The store is paused (too busy, equipment down): the detail gives the reason and until
    /// when.
    StorePaused,
    /// An item is not on the store's menu mapping.
    UnknownItem,
    /// A modifier is not on the store's menu mapping.
    UnknownModifier,
    /// An item is on the menu but temporarily unavailable at the store.
    ItemUnavailable,
    /// The partner's price differs from the menu beyond the tolerance.
    PriceMismatch,
    /// A field the pipeline needs is absent.
    MissingField,
    /// A field is present but its value is unusable.
    InvalidField,
    /// The order is in a currency the store does not take.
    UnsupportedCurrency,
    /// The order has no items.
    EmptyOrder,
    /// The order is scheduled further ahead than the store accepts.
    ScheduledTooFarAhead,
    /// The partner's window to accept the order has passed ([`crate::Partner::acceptance_window`]):
    /// the partner cancels such an order itself, so it is not accepted late.
    AcceptanceWindowPassed,
}

impl RejectionReason {
    /// Every reason, for metrics and tests.
    pub const ALL: [RejectionReason; 13] = [
        RejectionReason::UnknownStore,
        RejectionReason::StoreClosed,
        RejectionReason::StorePaused,
        RejectionReason::UnknownItem,
        RejectionReason::UnknownModifier,
        RejectionReason::ItemUnavailable,
        RejectionReason::PriceMismatch,
        RejectionReason::MissingField,
        RejectionReason::InvalidField,
        RejectionReason::UnsupportedCurrency,
        RejectionReason::EmptyOrder,
        RejectionReason::ScheduledTooFarAhead,
        RejectionReason::AcceptanceWindowPassed,
    ];

    /// The stable code.
    pub const fn code(self) -> &'static str {
        match self {
            RejectionReason::UnknownStore => "UnknownStore",
            RejectionReason::StoreClosed => "StoreClosed",
            RejectionReason::StorePaused => "StorePaused",
            RejectionReason::UnknownItem => "UnknownItem",
            RejectionReason::UnknownModifier => "UnknownModifier",
            RejectionReason::ItemUnavailable => "ItemUnavailable",
            RejectionReason::PriceMismatch => "PriceMismatch",
            RejectionReason::MissingField => "MissingField",
            RejectionReason::InvalidField => "InvalidField",
            RejectionReason::UnsupportedCurrency => "UnsupportedCurrency",
            RejectionReason::EmptyOrder => "EmptyOrder",
            RejectionReason::ScheduledTooFarAhead => "ScheduledTooFarAhead",
            RejectionReason::AcceptanceWindowPassed => "AcceptanceWindowPassed",
        }
    }
}

impl fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for RejectionReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RejectionReason::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| format!("unknown rejection reason {s:?}"))
    }
}

/// A refusal with its reason and a human-readable detail (never customer data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[error("{reason}: {detail}")]
pub struct Rejection {
    /// Stable reason code.
    pub reason: RejectionReason,
    /// What exactly was wrong, for operators.
    pub detail: String,
}

impl Rejection {
    /// A rejection with a reason and detail.
    pub fn new(reason: RejectionReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// A required field is absent.
    pub fn missing(field: &str) -> Self {
        Self::new(
            RejectionReason::MissingField,
            format!("{field} is required"),
        )
    }

    /// A field's value is unusable.
    pub fn invalid(field: &str, why: impl fmt::Display) -> Self {
        Self::new(RejectionReason::InvalidField, format!("{field}: {why}"))
    }

    /// Parses the `"<Reason>: <detail>"` form that [`fmt::Display`] writes, as it comes back
    /// in a workflow error's cause.
    pub fn parse_message(message: &str) -> Option<Self> {
        let (code, detail) = message.split_once(": ").unwrap_or((message, ""));
        let reason = code.trim().parse().ok()?;
        Some(Self::new(reason, detail.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_round_trips_through_its_message() {
        let r = Rejection::new(
            RejectionReason::UnknownItem,
            "item 'x' is not on menu core-us",
        );
        let text = r.to_string();
        assert_eq!(text, "UnknownItem: item 'x' is not on menu core-us");
        assert_eq!(Rejection::parse_message(&text), Some(r));
    }

    #[test]
    fn an_unknown_code_does_not_parse() {
        assert_eq!(Rejection::parse_message("Nope: whatever"), None);
    }

    #[test]
    fn every_code_parses_back_to_its_reason() {
        for r in RejectionReason::ALL {
            assert_eq!(r.code().parse::<RejectionReason>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
        }
    }
}
