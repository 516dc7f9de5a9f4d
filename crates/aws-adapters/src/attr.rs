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
