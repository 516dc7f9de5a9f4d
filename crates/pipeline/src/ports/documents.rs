//! The claim check: documents (webhook bodies, canonical orders) stored once and referred to
//! by events and workflow state, and the in-memory twin.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use order_events::DocumentRef;

use super::*;

/// The claim-check store: a document (a webhook body, a canonical order) is stored once and
/// passed everywhere else by its [`DocumentRef`], so no event or workflow state carries more
/// than a reference whatever the order's size, and the customer's name, phone, address and
/// notes stay in the documents table (the bus archive, the bus's dead-letter queue and the
/// workflows' histories keep what they carry for weeks). Every document is stored; none
/// travels inline (a reference an earlier release wrote inline is still read: [`inline_body`]).
#[async_trait]
pub trait Documents: Send + Sync {
    /// Stores `body` under a key made of `prefix` and the body's SHA-256 (storing the same
    /// body again is harmless) and returns its reference.
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError>;
    /// The document's bytes, checked against the reference's size and SHA-256; `None` if it
    /// is not there (never stored, or expired).
    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError>;
}

/// Documents a use case may read but not write (accept-order and pos read the canonical
/// order; their roles allow reads only): a write is an error that says so.
pub struct ReadOnlyDocuments(pub std::sync::Arc<dyn Documents>);

#[async_trait]
impl Documents for ReadOnlyDocuments {
    async fn put(&self, prefix: &str, _body: &[u8]) -> Result<DocumentRef, RepoError> {
        Err(RepoError::new(
            "store document",
            format!("this function only reads documents (storing {prefix})"),
        ))
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        self.0.get(r).await
    }
}

/// Documents a use case may write but not read (intake stores webhook bodies; its role allows
/// writes only): a read is an error that says so.
pub struct WriteOnlyDocuments(pub std::sync::Arc<dyn Documents>);

#[async_trait]
impl Documents for WriteOnlyDocuments {
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError> {
        self.0.put(prefix, body).await
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        Err(RepoError::new(
            "read document",
            format!("this function only stores documents (reading {})", r.key),
        ))
    }
}

/// The documents of a use case built for work that reads and writes none (release-order voids
/// and cancels by the order's handle): its function gets no access to the documents table,
/// and any use is an error that says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDocuments;

#[async_trait]
impl Documents for NoDocuments {
    async fn put(&self, prefix: &str, _body: &[u8]) -> Result<DocumentRef, RepoError> {
        Err(RepoError::new(
            "store document",
            format!("this function has no documents table (storing {prefix})"),
        ))
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        Err(RepoError::new(
            "read document",
            format!("this function has no documents table (reading {})", r.key),
        ))
    }
}

/// Checks `body` against its reference (size and SHA-256): a document store must never hand
/// back other bytes than were stored.
pub fn check_document(r: &DocumentRef, body: &[u8]) -> Result<(), RepoError> {
    let sha256 = idempotency::sha256_hex(body);
    if body.len() as u64 != r.bytes || sha256 != r.sha256 {
        return Err(RepoError::new(
            "read document",
            format!(
                "document {} is {} bytes with SHA-256 {sha256}, not the {} bytes with {} it was stored as",
                r.key,
                body.len(),
                r.bytes,
                r.sha256
            ),
        ));
    }
    Ok(())
}

/// The inline body of `r`, checked, if it has one: a reference written by a release before
/// this one carried a document of 16 KiB or less inline. None is written now (customer data stays
/// in the documents table), but an order received or held across the upgrade still holds one,
/// so every reader accepts both shapes.
pub fn inline_body(r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
    match &r.inline {
        Some(text) => {
            check_document(r, text.as_bytes())?;
            Ok(Some(text.as_bytes().to_vec()))
        }
        None => Ok(None),
    }
}

/// The key a document is stored under: `prefix/sha256`.
pub fn document_key(prefix: &str, sha256: &str) -> String {
    format!("{prefix}/{sha256}")
}

/// Documents in memory, checked on read as the DynamoDB adapter checks them.
#[derive(Debug, Default)]
pub struct InMemoryDocuments {
    docs: Mutex<HashMap<String, Vec<u8>>>,
}

impl InMemoryDocuments {
    /// Every stored key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = lock(&self.docs).keys().cloned().collect();
        k.sort();
        k
    }

    /// Every document, `(prefix, body)` by key (the key is `prefix/sha256`).
    pub fn all(&self) -> Vec<(String, Vec<u8>)> {
        let mut all: Vec<(String, Vec<u8>)> = lock(&self.docs)
            .iter()
            .map(|(k, v)| {
                let prefix = k.rsplit_once('/').map_or(k.as_str(), |(p, _)| p);
                (prefix.to_owned(), v.clone())
            })
            .collect();
        all.sort();
        all
    }

    /// Forgets a document (as its expiry would).
    pub fn forget(&self, key: &str) {
        lock(&self.docs).remove(key);
    }
}

#[async_trait]
impl Documents for InMemoryDocuments {
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError> {
        let sha256 = idempotency::sha256_hex(body);
        let key = document_key(prefix, &sha256);
        lock(&self.docs).insert(key.clone(), body.to_vec());
        Ok(DocumentRef {
            key,
            bytes: body.len() as u64,
            sha256,
            inline: None,
        })
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        if let Some(body) = inline_body(r)? {
            return Ok(Some(body));
        }
        let Some(body) = lock(&self.docs).get(&r.key).cloned() else {
            return Ok(None);
        };
        check_document(r, &body)?;
        Ok(Some(body))
    }
}
