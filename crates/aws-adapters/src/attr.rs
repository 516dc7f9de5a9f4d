//! Reading and writing DynamoDB attribute maps.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn time(t: DateTime<Utc>) -> AttributeValue {
    s(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// A missing or mistyped attribute.
#[derive(Debug, thiserror::Error)]
#[error("attribute {name}: {problem}")]
pub(crate) struct AttrError {
    pub name: String,
    pub problem: &'static str,
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, AttrError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(AttrError {
            name: name.to_owned(),
            problem: "is not a string",
        }),
        None => Err(AttrError {
            name: name.to_owned(),
            problem: "is missing",
        }),
    }
}

pub(crate) fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(crate) fn get_n(item: &Item, name: &str) -> Result<i64, AttrError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| AttrError {
            name: name.to_owned(),
            problem: "is not an integer",
        }),
        Some(_) => Err(AttrError {
            name: name.to_owned(),
            problem: "is not a number",
        }),
        None => Err(AttrError {
            name: name.to_owned(),
            problem: "is missing",
        }),
    }
}

pub(crate) fn opt_n(item: &Item, name: &str) -> Option<i64> {
    get_n(item, name).ok()
}

pub(crate) fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

pub(crate) fn get_time(item: &Item, name: &str) -> Result<DateTime<Utc>, AttrError> {
    get_s(item, name)?.parse().map_err(|_| AttrError {
        name: name.to_owned(),
        problem: "is not an RFC 3339 time",
    })
}

pub(crate) fn parse<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, AttrError> {
    get_s(item, name)?.parse().map_err(|_| AttrError {
        name: name.to_owned(),
        problem: "has an unexpected value",
    })
}

/// The attribute every item this release writes carries: the version of its shape.
pub const SCHEMA_VERSION_ATTR: &str = "schemaVersion";

/// The shape of the items this release writes. An item written before items carried a version
/// reads as version 0, the previous shape: the same attributes.
pub const ITEM_SCHEMA_VERSION: i64 = 1;

/// [`ITEM_SCHEMA_VERSION`] as the attribute value a writer puts.
pub(crate) fn schema_version() -> AttributeValue {
    n(ITEM_SCHEMA_VERSION)
}

/// The expression value an `UpdateItem` binds [`schema_version`] to.
pub(crate) const SCHEMA_VERSION_VALUE: &str = ":schemaVersion";

/// `update`, an `UpdateItem` expression, that also sets the item's schema version (bound to
/// [`SCHEMA_VERSION_VALUE`]): every write says which shape it wrote, a create or an update.
pub(crate) fn set_schema_version(update: &str) -> String {
    match update.strip_prefix("SET ") {
        Some(rest) => format!("SET {SCHEMA_VERSION_ATTR} = {SCHEMA_VERSION_VALUE}, {rest}"),
        None => format!("SET {SCHEMA_VERSION_ATTR} = {SCHEMA_VERSION_VALUE} {update}"),
    }
}

/// Accepts an item of the current shape or the previous one (while a deployment's canary runs,
/// the two releases read each other's items); refuses a newer one by name rather than misread
/// it.
pub(crate) fn check_schema(item: &Item) -> Result<(), AttrError> {
    let version = match item.get(SCHEMA_VERSION_ATTR) {
        None => 0,
        Some(_) => get_n(item, SCHEMA_VERSION_ATTR)?,
    };
    if (ITEM_SCHEMA_VERSION - 1..=ITEM_SCHEMA_VERSION).contains(&version) {
        Ok(())
    } else {
        Err(AttrError {
            name: SCHEMA_VERSION_ATTR.to_owned(),
            problem: if version > ITEM_SCHEMA_VERSION {
                "is newer than this release reads (deploy the release that wrote it)"
            } else {
                "is older than the previous release's"
            },
        })
    }
}

#[cfg(test)]
mod schema_tests {
    #[test]
    fn an_update_sets_the_schema_version_with_its_own_clauses() {
        assert_eq!(
            super::set_schema_version("SET a = :a REMOVE b"),
            "SET schemaVersion = :schemaVersion, a = :a REMOVE b"
        );
        assert_eq!(
            super::set_schema_version("REMOVE b"),
            "SET schemaVersion = :schemaVersion REMOVE b"
        );
    }

    use super::*;

    fn item(version: Option<&str>) -> Item {
        let mut i = Item::new();
        if let Some(v) = version {
            i.insert(
                SCHEMA_VERSION_ATTR.to_owned(),
                AttributeValue::N(v.to_owned()),
            );
        }
        i
    }

    #[test]
    fn a_reader_takes_the_current_and_the_previous_shape_and_names_any_other() {
        assert!(
            check_schema(&item(None)).is_ok(),
            "written before versions: the previous"
        );
        assert!(check_schema(&item(Some("1"))).is_ok());
        let newer = check_schema(&item(Some("2"))).unwrap_err();
        assert_eq!(newer.name, SCHEMA_VERSION_ATTR);
        assert!(newer.problem.contains("newer"), "{newer}");
        assert!(check_schema(&item(Some("-1"))).is_err());
        let mut mistyped = Item::new();
        mistyped.insert(
            SCHEMA_VERSION_ATTR.to_owned(),
            AttributeValue::S("1".into()),
        );
        assert!(check_schema(&mistyped).is_err());
    }
}
