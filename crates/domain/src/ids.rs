//! Identifiers as newtypes that parse on construction, so an invalid id never travels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value is empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which identifier.
        kind: &'static str,
    },
    /// The value is longer than allowed.
    #[error("{kind} is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// Which identifier.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value holds a character outside the allowed set. The message names the
    /// identifier and the rule, never the value (ids come from partners' payloads).
    #[error(
        "{kind} contains a character other than letters, digits and {allowed} (at character {position})"
    )]
    BadCharacter {
        /// Which identifier.
        kind: &'static str,
        /// The offending character (for callers; not in the message).
        ch: char,
        /// Its position, counted from 1.
        position: usize,
        /// The punctuation allowed besides letters and digits.
        allowed: &'static str,
    },
    /// The value is only dots (`.`, `..`): in a URL path it is a dot segment, which a URL
    /// resolves (`/orders/../accept` is `/accept`), so it could rewrite an outbound call's path.
    #[error("{kind} must not be only dots")]
    DotSegment {
        /// Which identifier.
        kind: &'static str,
    },
    /// Not one of the known partners.
    #[error("unknown partner; expected one of ubereats, doordash, grubhub, app")]
    UnknownPartner(String),
}

fn check(
    kind: &'static str,
    value: &str,
    max: usize,
    allowed: &'static str,
) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let len = value.chars().count();
    if len > max {
        return Err(IdError::TooLong { kind, len, max });
    }
    if let Some((i, ch)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || allowed.contains(*c)))
    {
        return Err(IdError::BadCharacter {
            kind,
            ch,
            position: i + 1,
            allowed,
        });
    }
    if value.chars().all(|c| c == '.') {
        return Err(IdError::DotSegment { kind });
    }
    Ok(())
}

/// The JSON Schema pattern equivalent to [`check`] (with `maxLength`), with `-` last in each
/// class: the allowed characters, at least one of them not a dot.
#[cfg(feature = "schema")]
fn id_pattern(allowed: &str) -> String {
    let class = |punct: &str| {
        let mut p: String = punct.chars().filter(|c| *c != '-').collect();
        if punct.contains('-') {
            p.push('-');
        }
        format!("[A-Za-z0-9{p}]")
    };
    let any = class(allowed);
    let not_dot = class(&allowed.replace('.', ""));
    format!("^{any}*{not_dot}{any}*$")
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:literal, $allowed:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $kind,
                    "pattern": id_pattern($allowed),
                    "maxLength": $max,
                })
            }
        }

        impl $name {
            /// Parses and validates the identifier.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value, $max, $allowed)?;
                Ok(Self(value))
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A partner's own id for an order (a UUID for some partners, a number for others).
    PartnerOrderId,
    "partner order id",
    128,
    "-_.:"
);
string_id!(
    /// The chain's store number, for example `S1001`.
    StoreId,
    "store id",
    32,
    "-_"
);
string_id!(
    /// A point-of-sale item or modifier code.
    PosItemCode,
    "POS item code",
    64,
    "-_."
);
string_id!(
    /// The id the store's POS gave an order.
    PosOrderId,
    "POS order id",
    128,
    "-_.:"
);
string_id!(
    /// Follows one order across webhooks, events, logs and workflow steps.
    CorrelationId,
    "correlation id",
    128,
    "-_.:"
);
string_id!(
    /// The pipeline's own order id: `<partner>.<partner order id>`, so the same partner order
    /// always maps to the same id (see [`OrderId::for_partner_order`]).
    OrderId,
    "order id",
    160,
    "-_.:"
);

impl OrderId {
    /// The deterministic id of a partner's order.
    pub fn for_partner_order(partner: Partner, partner_order_id: &PartnerOrderId) -> Self {
        Self(format!(
            "{}.{}",
            partner.as_str(),
            partner_order_id.as_str()
        ))
    }
}

/// The delivery partners, and the chain's own app, that send orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Partner {
    /// Uber Eats-style API: notification webhooks, the order fetched by id, money in e5 units.
    #[serde(rename = "ubereats")]
    UberEats,
    /// DoorDash-style API: full orders pushed, money in cents, bearer-token webhooks.
    #[serde(rename = "doordash")]
    DoorDash,
    /// Grubhub-style API: full orders pushed, money as decimal strings, local times.
    #[serde(rename = "grubhub")]
    Grubhub,
    /// The chain's own app.
    #[serde(rename = "app")]
    ChainApp,
}

impl Partner {
    /// How long the partner waits for an order to be accepted or denied before it cancels the
    /// order itself, if it says: Uber Eats, 11.5 minutes ("orders that are not accepted or
    /// denied within 11.5 minutes are automatically cancelled", developer.uber.com, Eats API,
    /// `orders.notification` webhook reference; confirmed). DoorDash publishes no such window
    /// (its confirmation page was not found to state one); Grubhub and the app none either.
    pub fn acceptance_window(self) -> Option<chrono::TimeDelta> {
        match self {
            Partner::UberEats => Some(chrono::TimeDelta::seconds(690)),
            Partner::DoorDash | Partner::Grubhub | Partner::ChainApp => None,
        }
    }

    /// Every partner, in a stable order.
    pub const ALL: [Partner; 4] = [
        Partner::UberEats,
        Partner::DoorDash,
        Partner::Grubhub,
        Partner::ChainApp,
    ];

    /// The partner's stable name, as used in routes, events and ids.
    pub const fn as_str(self) -> &'static str {
        match self {
            Partner::UberEats => "ubereats",
            Partner::DoorDash => "doordash",
            Partner::Grubhub => "grubhub",
            Partner::ChainApp => "app",
        }
    }
}

impl fmt::Display for Partner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Partner {
    type Err = IdError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Partner::ALL
            .into_iter()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| IdError::UnknownPartner(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_is_derived_from_partner_and_partner_order_id() {
        let id = OrderId::for_partner_order(
            Partner::DoorDash,
            &PartnerOrderId::parse("9f1c-22").unwrap(),
        );
        assert_eq!(id.as_str(), "doordash.9f1c-22");
    }

    #[test]
    fn an_empty_store_id_is_refused_with_its_name() {
        let err = StoreId::parse("").unwrap_err();
        assert_eq!(err.to_string(), "store id must not be empty");
    }

    #[test]
    fn a_partner_order_id_with_a_slash_is_refused() {
        let err = PartnerOrderId::parse("a/b").unwrap_err();
        assert!(
            matches!(err, IdError::BadCharacter { ch: '/', .. }),
            "{err}"
        );
    }

    /// Ids travel into URL paths (`/v1/eats/orders/{id}/accept_pos_order`): none may be or
    /// hold a dot segment, a separator or an escape, whichever id it is.
    #[test]
    fn no_id_can_change_a_url_path() {
        for hostile in [
            ".", "..", "...", "%2e%2e", "%2E%2E", ".%2e", "/", "a/b", "?", "a?b", "#", "a\\b",
        ] {
            for err in [
                PartnerOrderId::parse(hostile).err(),
                PosOrderId::parse(hostile).err(),
                PosItemCode::parse(hostile).err(),
                StoreId::parse(hostile).err(),
                OrderId::parse(hostile).err(),
            ] {
                let err = err.unwrap_or_else(|| panic!("{hostile:?} was taken"));
                // The message names the rule, never the value.
                assert!(!err.to_string().contains(hostile), "{err}");
            }
        }
        // Dots inside an id are not segments of their own, and stay allowed.
        for fine in ["a..b", ".a", "a.", "1.2.3"] {
            PartnerOrderId::parse(fine).unwrap();
        }
        let err = PartnerOrderId::parse("a b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "partner order id contains a character other than letters, digits and -_.: (at character 2)"
        );
    }

    #[test]
    fn an_overlong_id_is_refused() {
        let err = PosItemCode::parse("x".repeat(65)).unwrap_err();
        assert!(matches!(
            err,
            IdError::TooLong {
                len: 65,
                max: 64,
                ..
            }
        ));
    }

    #[test]
    fn partners_round_trip_through_their_names() {
        for p in Partner::ALL {
            assert_eq!(p.as_str().parse::<Partner>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!("deliveroo".parse::<Partner>().is_err());
    }

    #[test]
    fn ids_deserialize_only_when_valid() {
        assert!(serde_json::from_str::<StoreId>("\"S1001\"").is_ok());
        assert!(serde_json::from_str::<StoreId>("\"S 1001\"").is_err());
    }
}
