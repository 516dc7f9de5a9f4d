//! Errors as a contract: every failure a function reports crosses the Lambda boundary with
//! one of the stable names in [`names`], which the workflow's `Retry` and `Catch` match on.

use order_domain::{OrderId, OrderStatus, Rejection};

use crate::ports::{ApiError, CallbackError, PublishError, RepoError};

/// The error names functions report (`errorType`), and the names the workflow uses.
pub mod names {
    /// The order is refused (business rule or unmappable payload). Caught: deny with partner.
    pub const ORDER_REJECTED: &str = "OrderRejected";
    /// A partner API did not answer in time or answered 5xx/429. Retried.
    pub const PARTNER_UNAVAILABLE: &str = "PartnerUnavailable";
    /// A partner API refused the call (4xx). Caught: compensate.
    pub const PARTNER_REFUSED: &str = "PartnerRefused";
    /// The store's POS did not answer in time or answered 5xx/429. Retried.
    pub const POS_UNAVAILABLE: &str = "PosUnavailable";
    /// The store's POS refused the order (4xx). Caught: compensate.
    pub const POS_REJECTED: &str = "PosRejected";
    /// The store's POS is still unavailable and the order can no longer be made in time (past
    /// its send-by). Caught: void and cancel with the partner.
    pub const POS_DEADLINE_PASSED: &str = "PosDeadlinePassed";
    /// The partner cancelled the order. Caught: acknowledge, no POS order.
    pub const ORDER_CANCELLED: &str = "OrderCancelled";
    /// Another execution holds the same order's dedup claim. Retried: it becomes a duplicate.
    pub const ORDER_IN_PROGRESS: &str = "OrderInProgress";
    /// DynamoDB failed. Retried.
    pub const STORAGE_UNAVAILABLE: &str = "StorageUnavailable";
    /// EventBridge failed. Retried.
    pub const EVENTS_UNAVAILABLE: &str = "EventsUnavailable";
    /// Step Functions task callbacks failed. Retried.
    pub const CALLBACK_UNAVAILABLE: &str = "CallbackUnavailable";
    /// The function's input is not what its type expects. Caught: fail visibly.
    pub const INVALID_INPUT: &str = "InvalidInput";
    /// The order's status has moved on (for example it was cancelled). Caught: compensate.
    pub const STATUS_CONFLICT: &str = "StatusConflict";

    /// The sweeper found the order still open past its deadline and a grace period (its
    /// workflow gone: an execution that failed or timed out, a handover in the dead letters).
    /// Not reported by a function: the sweeper writes it as the `$.error` of the execution it
    /// starts to end the order (deny or void and cancel with the partner).
    pub const ORDER_STRANDED: &str = "OrderStranded";

    /// Every name a function can report.
    pub const REPORTED: [&str; 13] = [
        ORDER_REJECTED,
        PARTNER_UNAVAILABLE,
        PARTNER_REFUSED,
        POS_UNAVAILABLE,
        POS_REJECTED,
        POS_DEADLINE_PASSED,
        ORDER_CANCELLED,
        ORDER_IN_PROGRESS,
        STORAGE_UNAVAILABLE,
        EVENTS_UNAVAILABLE,
        CALLBACK_UNAVAILABLE,
        INVALID_INPUT,
        STATUS_CONFLICT,
    ];

    /// The names worth retrying.
    pub const TRANSIENT: [&str; 6] = [
        PARTNER_UNAVAILABLE,
        POS_UNAVAILABLE,
        ORDER_IN_PROGRESS,
        STORAGE_UNAVAILABLE,
        EVENTS_UNAVAILABLE,
        CALLBACK_UNAVAILABLE,
    ];
}

/// Everything a use case can fail with. One vocabulary, because the workflow sees one.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Refused; the message is `<Reason>: <detail>` so the deny step can read it back.
    #[error("{0}")]
    Rejected(Rejection),
    /// A partner API is unavailable.
    #[error("partner API unavailable")]
    PartnerUnavailable(#[source] ApiError),
    /// A partner API refused the call.
    #[error("partner API refused the call")]
    PartnerRefused(#[source] ApiError),
    /// The POS is unavailable.
    #[error("POS unavailable")]
    PosUnavailable(#[source] ApiError),
    /// The POS refused the order.
    #[error("POS refused the order")]
    PosRejected(#[source] ApiError),
    /// The POS stayed unavailable past the order's send-by: it can no longer be made in time.
    #[error("the POS stayed unavailable past order {order_id}'s send-by")]
    PosDeadlinePassed {
        /// The order.
        order_id: OrderId,
        /// The POS's last failure.
        #[source]
        source: Box<ApiError>,
    },
    /// The partner cancelled the order.
    #[error("order {order_id} was cancelled by the partner{detail}")]
    Cancelled {
        /// The order.
        order_id: OrderId,
        /// Extra detail, starting with "; " when present.
        detail: String,
    },
    /// Another execution is processing the same order.
    #[error("order {order_id} is being claimed by another execution until {until}")]
    InProgress {
        /// The order.
        order_id: OrderId,
        /// When that claim expires.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Storage failed.
    #[error("storage unavailable")]
    Storage(#[source] RepoError),
    /// The bus failed.
    #[error("event bus unavailable")]
    Events(#[source] PublishError),
    /// A task callback failed.
    #[error("task callback failed")]
    Callback(#[source] CallbackError),
    /// The input is not what the function expects.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The status moved on.
    #[error("order {order_id} is {current}; it cannot become {wanted}")]
    StatusConflict {
        /// The order.
        order_id: OrderId,
        /// Where it is.
        current: OrderStatus,
        /// Where we tried to move it.
        wanted: OrderStatus,
    },
}

impl PipelineError {
    /// The stable name reported as the Lambda `errorType`.
    pub fn name(&self) -> &'static str {
        match self {
            PipelineError::Rejected(_) => names::ORDER_REJECTED,
            PipelineError::PartnerUnavailable(_) => names::PARTNER_UNAVAILABLE,
            PipelineError::PartnerRefused(_) => names::PARTNER_REFUSED,
            PipelineError::PosUnavailable(_) => names::POS_UNAVAILABLE,
            PipelineError::PosRejected(_) => names::POS_REJECTED,
            PipelineError::PosDeadlinePassed { .. } => names::POS_DEADLINE_PASSED,
            PipelineError::Cancelled { .. } => names::ORDER_CANCELLED,
            PipelineError::InProgress { .. } => names::ORDER_IN_PROGRESS,
            PipelineError::Storage(_) => names::STORAGE_UNAVAILABLE,
            PipelineError::Events(_) => names::EVENTS_UNAVAILABLE,
            PipelineError::Callback(_) => names::CALLBACK_UNAVAILABLE,
            PipelineError::InvalidInput(_) => names::INVALID_INPUT,
            PipelineError::StatusConflict { .. } => names::STATUS_CONFLICT,
        }
    }

    /// The message with every cause, `outer: inner: innermost`. Rejections stay bare so their
    /// `<Reason>: <detail>` form survives.
    pub fn message_with_causes(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        message
    }

    /// A partner API error, classified.
    pub fn partner(e: ApiError) -> Self {
        if e.is_transient() {
            PipelineError::PartnerUnavailable(e)
        } else {
            PipelineError::PartnerRefused(e)
        }
    }

    /// A POS API error, classified.
    pub fn pos(e: ApiError) -> Self {
        if e.is_transient() {
            PipelineError::PosUnavailable(e)
        } else {
            PipelineError::PosRejected(e)
        }
    }
}

impl From<RepoError> for PipelineError {
    fn from(e: RepoError) -> Self {
        PipelineError::Storage(e)
    }
}

impl From<PublishError> for PipelineError {
    fn from(e: PublishError) -> Self {
        PipelineError::Events(e)
    }
}

impl From<CallbackError> for PipelineError {
    fn from(e: CallbackError) -> Self {
        PipelineError::Callback(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ErrorKind;

    /// One of each variant, with the name the workflow matches on (written out, as the ASL
    /// spells it) and whether the workflow retries it.
    fn every_variant() -> Vec<(PipelineError, &'static str, bool)> {
        use order_domain::RejectionReason;
        let api = || ApiError::new(ErrorKind::Transient, "pos", "create", "timed out");
        let order_id = || OrderId::parse("app.a-1").unwrap();
        vec![
            (
                PipelineError::Rejected(Rejection::new(RejectionReason::StoreClosed, "x")),
                "OrderRejected",
                false,
            ),
            (
                PipelineError::PartnerUnavailable(api()),
                "PartnerUnavailable",
                true,
            ),
            (
                PipelineError::PartnerRefused(api()),
                "PartnerRefused",
                false,
            ),
            (PipelineError::PosUnavailable(api()), "PosUnavailable", true),
            (PipelineError::PosRejected(api()), "PosRejected", false),
            (
                PipelineError::PosDeadlinePassed {
                    order_id: order_id(),
                    source: Box::new(api()),
                },
                "PosDeadlinePassed",
                false,
            ),
            (
                PipelineError::Cancelled {
                    order_id: order_id(),
                    detail: String::new(),
                },
                "OrderCancelled",
                false,
            ),
            (
                PipelineError::InProgress {
                    order_id: order_id(),
                    until: chrono::DateTime::UNIX_EPOCH,
                },
                "OrderInProgress",
                true,
            ),
            (
                PipelineError::Storage(RepoError::new("put", "x")),
                "StorageUnavailable",
                true,
            ),
            (
                PipelineError::Events(PublishError {
                    failed: 1,
                    total: 1,
                    message: "x".into(),
                    source: None,
                }),
                "EventsUnavailable",
                true,
            ),
            (
                PipelineError::Callback(CallbackError {
                    operation: "succeed",
                    message: "x".into(),
                    source: None,
                }),
                "CallbackUnavailable",
                true,
            ),
            (
                PipelineError::InvalidInput("x".into()),
                "InvalidInput",
                false,
            ),
            (
                PipelineError::StatusConflict {
                    order_id: order_id(),
                    current: OrderStatus::Cancelled,
                    wanted: OrderStatus::SentToPos,
                },
                "StatusConflict",
                false,
            ),
        ]
    }

    /// Fails to compile when a variant is added, until `every_variant` lists it.
    fn listed(e: &PipelineError) -> usize {
        match e {
            PipelineError::Rejected(_) => 0,
            PipelineError::PartnerUnavailable(_) => 1,
            PipelineError::PartnerRefused(_) => 2,
            PipelineError::PosUnavailable(_) => 3,
            PipelineError::PosRejected(_) => 4,
            PipelineError::PosDeadlinePassed { .. } => 5,
            PipelineError::Cancelled { .. } => 6,
            PipelineError::InProgress { .. } => 7,
            PipelineError::Storage(_) => 8,
            PipelineError::Events(_) => 9,
            PipelineError::Callback(_) => 10,
            PipelineError::InvalidInput(_) => 11,
            PipelineError::StatusConflict { .. } => 12,
        }
    }

    #[test]
    fn every_variant_reports_its_literal_name_and_only_transient_ones_are_retryable() {
        let all = every_variant();
        let positions: Vec<usize> = all.iter().map(|(e, _, _)| listed(e)).collect();
        assert_eq!(
            positions,
            (0..13).collect::<Vec<_>>(),
            "one of each variant, in order"
        );
        for (e, name, transient) in &all {
            assert_eq!(e.name(), *name, "{e:?}");
            assert_eq!(names::TRANSIENT.contains(name), *transient, "{name}");
        }
        let reported: Vec<&str> = all.iter().map(|(_, n, _)| *n).collect();
        assert_eq!(
            reported,
            names::REPORTED,
            "REPORTED lists every variant, in order"
        );
        let transient: Vec<&str> = all.iter().filter(|v| v.2).map(|v| v.1).collect();
        assert_eq!(transient, names::TRANSIENT);
    }

    #[test]
    fn the_message_keeps_every_cause() {
        let e = PipelineError::pos(ApiError::new(
            ErrorKind::Permanent,
            "pos",
            "create",
            "unknown item code",
        ));
        assert_eq!(e.name(), names::POS_REJECTED);
        assert_eq!(
            e.message_with_causes(),
            "POS refused the order: pos create failed (Permanent): unknown item code"
        );
    }
}
