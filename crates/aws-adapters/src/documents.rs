//! The documents table: the claim check. Every webhook body and canonical order is stored
//! once, gzip-compressed, and passed everywhere else by its [`DocumentRef`]: the customer's
//! name, phone, address and notes live here and nowhere else on the order's path (a
//! reference written inline by an earlier release is still read, `pipeline::ports::inline_body`).
//!
//! A document is one or more items under its key: part 0 holds the header (size, SHA-256,
//! number of parts, expiry) and the first slice of the compressed bytes, parts 1… the rest,
//! each at most [`PART_BYTES`], so any document fits DynamoDB's 400 KB item limit whatever it
//! compresses to. Parts are written last to first, so a reader that finds the header finds
//! every part; readers read consistently and check the size and SHA-256.

use std::io::{Read as _, Write as _};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeDelta, Utc};
use order_events::DocumentRef;
use pipeline::ports::{Documents, RepoError, check_document, document_key, inline_body};

use crate::attr::{Item, get_n, n, s};
use crate::repo_error as err;
use crate::tables::{DOCUMENTS_KEY, DOCUMENTS_PART, DOCUMENTS_TTL_ATTR};

/// The most compressed bytes one item holds: under DynamoDB's 400 KB item limit (the
/// developer guide's "Service, account, and table quotas") with room for the key and header.
pub const PART_BYTES: usize = 350 * 1024;

/// How long a document is kept, days: as long as the bus archive keeps the `Order Received`
/// events a replay re-derives orders from (30 days, the template's `RetentionDays`), and more
/// than twice the longest hold ([`order_domain::MAX_SCHEDULE_DAYS`]), so a held order always
/// finds its canonical form when its hold ends (asserted at compile time below).
pub const KEEP_DAYS: i64 = 30;

/// [`KEEP_DAYS`] as a duration.
pub const KEEP_FOR: TimeDelta = TimeDelta::days(KEEP_DAYS);

// A stored order never expires before its release (and the sweeper's grace after it).
const _: () = assert!(KEEP_DAYS > 2 * order_domain::MAX_SCHEDULE_DAYS as i64);

/// The documents table.
#[derive(Debug, Clone)]
pub struct DynamoDocuments {
    client: Client,
    table: String,
}

impl DynamoDocuments {
    /// The IAM actions its calls need on the documents table.
    pub const IAM_ACTIONS: &'static [&'static str] = &["dynamodb:GetItem", "dynamodb:PutItem"];
    /// The IAM actions reading needs (behind `pipeline::ports::ReadOnlyDocuments`).
    pub const IAM_READ_ACTIONS: &'static [&'static str] = &["dynamodb:GetItem"];
    /// The IAM actions storing needs (behind `pipeline::ports::WriteOnlyDocuments`).
    pub const IAM_WRITE_ACTIONS: &'static [&'static str] = &["dynamodb:PutItem"];

    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(document: &str, part: usize) -> [(String, AttributeValue); 2] {
        [
            (DOCUMENTS_KEY.to_owned(), s(document)),
            (DOCUMENTS_PART.to_owned(), n(part as i64)),
        ]
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(body)?;
    z.finish()
}

fn gunzip(compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed).read_to_end(&mut out)?;
    Ok(out)
}

fn blob(item: &Item) -> Result<&[u8], RepoError> {
    match item.get("body") {
        Some(AttributeValue::B(b)) => Ok(b.as_ref()),
        _ => Err(RepoError::new("read document", "a part has no body")),
    }
}

#[async_trait]
impl Documents for DynamoDocuments {
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError> {
        const OP: &str = "store document";
        let sha256 = idempotency::sha256_hex(body);
        let key = document_key(prefix, &sha256);
        let compressed = gzip(body).map_err(|e| RepoError::caused(OP, e))?;
        let parts: Vec<&[u8]> = compressed.chunks(PART_BYTES).collect();
        let expires = (Utc::now() + KEEP_FOR).timestamp();
        for (i, part) in parts.iter().enumerate().rev() {
            let mut req = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(Self::key(&key, i).into_iter().collect()))
                .item("body", AttributeValue::B(Blob::new(*part)))
                .item(DOCUMENTS_TTL_ATTR, n(expires));
            if i == 0 {
                req = req
                    .item(
                        crate::attr::SCHEMA_VERSION_ATTR,
                        crate::attr::schema_version(),
                    )
                    .item("parts", n(parts.len() as i64))
                    .item("bytes", n(body.len() as i64))
                    .item("sha256", s(&sha256))
                    .item("encoding", s("gzip"));
            }
            req.send().await.map_err(|e| err(OP, e))?;
        }
        Ok(DocumentRef {
            key,
            bytes: body.len() as u64,
            sha256,
            inline: None,
        })
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        const OP: &str = "read document";
        if let Some(body) = inline_body(r)? {
            return Ok(Some(body));
        }
        let read = |part: usize| {
            self.client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(&r.key, part).into_iter().collect()))
                .consistent_read(true)
                .send()
        };
        let Some(header) = read(0).await.map_err(|e| err(OP, e))?.item else {
            return Ok(None);
        };
        crate::attr::check_schema(&header).map_err(|e| RepoError::caused(OP, e))?;
        let parts = get_n(&header, "parts").map_err(|e| RepoError::caused(OP, e))?;
        let mut compressed = blob(&header)?.to_vec();
        for i in 1..usize::try_from(parts).unwrap_or(0) {
            let item = read(i).await.map_err(|e| err(OP, e))?.item.ok_or_else(|| {
                RepoError::new(OP, format!("document {} lacks part {i} of {parts}", r.key))
            })?;
            compressed.extend_from_slice(blob(&item)?);
        }
        let body = gunzip(&compressed).map_err(|e| RepoError::caused(OP, e))?;
        check_document(r, &body)?;
        Ok(Some(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_shrinks_order_json() {
        let body = serde_json::to_vec(&serde_json::json!({
            "items": (0..500).map(|i| serde_json::json!({"sku": format!("SKU-{i}"), "qty": 1, "name": "Crunchwrap Supreme"})).collect::<Vec<_>>()
        }))
        .unwrap();
        let z = gzip(&body).unwrap();
        assert!(z.len() * 5 < body.len(), "{} → {}", body.len(), z.len());
        assert_eq!(gunzip(&z).unwrap(), body);
    }
}
