//! Keys and payload hashes from chosen fields of the input.

use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `<namespace>#<sha256 of the chosen fields>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A key from its stored form.
    pub fn from_stored(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JSON with object keys sorted at every level and no whitespace, so equal values hash
/// equally whatever order their fields arrived in.
pub fn canonical_json(value: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Which fields make the key and which the payload hash.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Prefix naming what is guarded (e.g. `dedup`).
    pub namespace: String,
    /// JSON Pointers to the key fields.
    pub key_fields: Vec<String>,
    /// JSON Pointer to the part of the input whose hash must match on repeats (`""` = all).
    pub payload_field: String,
}

/// A key field is absent from the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("idempotency key field {0} is missing or null in the input")]
pub struct MissingKeyField(pub String);

impl KeySpec {
    /// The key for `input`; every key field must be present and non-null.
    pub fn key(&self, input: &Value) -> Result<IdempotencyKey, MissingKeyField> {
        let mut parts = Vec::with_capacity(self.key_fields.len());
        for pointer in &self.key_fields {
            match input.pointer(pointer) {
                Some(v) if !v.is_null() => parts.push(v.clone()),
                _ => return Err(MissingKeyField(pointer.clone())),
            }
        }
        let digest = sha256_hex(canonical_json(&Value::Array(parts)).as_bytes());
        Ok(IdempotencyKey(format!("{}#{digest}", self.namespace)))
    }

    /// The hash of the validated part of `input` (absent counts as null).
    pub fn payload_hash(&self, input: &Value) -> String {
        let part = input.pointer(&self.payload_field).unwrap_or(&Value::Null);
        sha256_hex(canonical_json(part).as_bytes())
    }
}
