//! The AWS JSON protocols (awsJson1_0/1_1): one POST per call, the operation in
//! `X-Amz-Target`, errors as `{"__type", "message"}` with HTTP 400.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The operation named by `X-Amz-Target` (`Service_Version.Operation` or `Service.Operation`).
pub fn operation(headers: &HeaderMap) -> Option<String> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    target.rsplit('.').next().map(str::to_owned)
}

/// A successful answer.
pub fn ok(body: Value, content_type: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

/// An error answer the SDKs map to `error_type`.
pub fn error(
    status: StatusCode,
    error_type: &str,
    message: impl Into<String>,
    content_type: &'static str,
) -> Response {
    let body = json!({ "__type": error_type, "message": message.into() });
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

/// awsJson1_0 (Step Functions, DynamoDB).
pub const JSON_1_0: &str = "application/x-amz-json-1.0";
/// awsJson1_1 (EventBridge, Secrets Manager).
pub const JSON_1_1: &str = "application/x-amz-json-1.1";
