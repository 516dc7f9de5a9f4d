//! Shared fixtures of the black-box suites: the repository root and a DynamoDB Local that the
//! tests start themselves (or use, if `DYNAMODB_ENDPOINT` names a running one).

#![allow(clippy::panic, clippy::expect_used)]

pub mod dynamodb;

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
