//! The order lifecycle and its allowed transitions. Storage enforces the same table with
//! conditional writes, so a late or retried writer never moves an order backwards.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where an order is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OrderStatus {
    /// Claimed by dedup; not yet accepted.
    Received,
    /// The partner was told the store accepts it.
    Accepted,
    /// Waiting for its release time (callback task in the workflow).
    Held,
    /// Released by time or by a courier; about to go to the POS.
    Released,
    /// The store's POS has it.
    SentToPos,
    /// Refused; the partner was told. Terminal.
    Rejected,
    /// Cancelled at the partner's or customer's request. Terminal.
    Cancelled,
    /// Could not be completed; compensated. Terminal.
    Failed,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Received,
        OrderStatus::Accepted,
        OrderStatus::Held,
        OrderStatus::Released,
        OrderStatus::SentToPos,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
        OrderStatus::Failed,
    ];

    /// The stable name stored in the orders table.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "Received",
            OrderStatus::Accepted => "Accepted",
            OrderStatus::Held => "Held",
            OrderStatus::Released => "Released",
            OrderStatus::SentToPos => "SentToPos",
            OrderStatus::Rejected => "Rejected",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Failed => "Failed",
        }
    }

    /// No transition leaves a terminal status.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Rejected | OrderStatus::Cancelled | OrderStatus::Failed
        )
    }

    /// Whether the pipeline still owes the order an ending: neither terminal nor at the POS.
    /// An open order past its deadline is stranded (the sweeper's to end).
    pub const fn is_open(self) -> bool {
        !self.is_terminal() && !matches!(self, OrderStatus::SentToPos)
    }

    /// The statuses from which `self` may be entered. `Received` is only ever created.
    pub const fn allowed_predecessors(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Received => &[],
            Accepted => &[Received],
            Held => &[Accepted],
            Released => &[Held],
            SentToPos => &[Accepted, Released],
            Rejected => &[Received],
            Cancelled => &[Received, Accepted, Held, Released, SentToPos],
            Failed => &[Received, Accepted, Held, Released, SentToPos],
        }
    }

    /// Whether `self → next` is a forward move of the lifecycle.
    pub fn can_transition_to(self, next: OrderStatus) -> bool {
        next.allowed_predecessors().contains(&self)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown order status {s:?}"))
    }
}

/// What released a held order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ReleasedBy {
    /// Its release time came.
    Time,
    /// A courier came near the store early.
    Courier,
}

impl ReleasedBy {
    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReleasedBy::Time => "time",
            ReleasedBy::Courier => "courier",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_moves_forward() {
        let path = [Received, Accepted, Held, Released, SentToPos];
        for w in path.windows(2) {
            assert!(w[0].can_transition_to(w[1]), "{} -> {}", w[0], w[1]);
        }
        assert!(Accepted.can_transition_to(SentToPos));
    }

    #[test]
    fn no_status_moves_backwards_or_leaves_a_terminal_state() {
        assert!(!SentToPos.can_transition_to(Held));
        assert!(!Released.can_transition_to(Accepted));
        assert!(!Held.can_transition_to(Received));
        for t in [Rejected, Cancelled, Failed] {
            assert!(t.is_terminal());
            for next in OrderStatus::ALL {
                assert!(!t.can_transition_to(next), "{t} -> {next}");
            }
        }
    }

    #[test]
    fn only_a_received_order_can_be_rejected() {
        assert!(Received.can_transition_to(Rejected));
        assert!(!Accepted.can_transition_to(Rejected));
    }

    #[test]
    fn a_status_never_transitions_to_itself() {
        for s in OrderStatus::ALL {
            assert!(!s.can_transition_to(s), "{s}");
        }
    }

    /// The whole table, written out: a change to `allowed_predecessors` must change this too.
    #[test]
    fn the_lifecycle_is_exactly_this_table() {
        #[rustfmt::skip]
        let table: [[u8; 8]; 8] = [
            //            Rec Acc Hld Rel Snt Rej Can Fai   (to)
            /* Received */ [0, 1, 0, 0, 0, 1, 1, 1],
            /* Accepted */ [0, 0, 1, 0, 1, 0, 1, 1],
            /* Held     */ [0, 0, 0, 1, 0, 0, 1, 1],
            /* Released */ [0, 0, 0, 0, 1, 0, 1, 1],
            /* SentToPos*/ [0, 0, 0, 0, 0, 0, 1, 1],
            /* Rejected */ [0, 0, 0, 0, 0, 0, 0, 0],
            /* Cancelled*/ [0, 0, 0, 0, 0, 0, 0, 0],
            /* Failed   */ [0, 0, 0, 0, 0, 0, 0, 0],
        ];
        for (i, from) in OrderStatus::ALL.into_iter().enumerate() {
            for (j, to) in OrderStatus::ALL.into_iter().enumerate() {
                assert_eq!(
                    from.can_transition_to(to),
                    table[i][j] == 1,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
        }
    }
}
