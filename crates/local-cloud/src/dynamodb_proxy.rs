//! The DynamoDB endpoint the functions reach (`AWS_ENDPOINT_URL_DYNAMODB`): each request is
//! authorised against the caller's role, then forwarded to DynamoDB Local unchanged, and its
//! answer returned unchanged. DynamoDB Local itself checks no permission. For fault runs the
//! front can refuse a share of requests for a while, as DynamoDB throttles or fails them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::app::{ACCOUNT, REGION};
use crate::aws_json;
use crate::iam::{AccessDenied, Iam, Identity};
use local_aws_core::quota::Quotas;

/// The error type DynamoDB answers a refused request with.
pub const ACCESS_DENIED: &str = "com.amazon.coral.service#AccessDeniedException";

fn table_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
    }
}

/// The IAM actions and resources a DynamoDB request needs (Service Authorization Reference,
/// DynamoDB): the operation on its table, or on `table/<t>/index/<i>` for a `Query` or `Scan`
/// of an index; each table of a batch; each item's own action in a transaction
/// (`TransactWriteItems` is authorised as the `PutItem`, `UpdateItem`, `DeleteItem` and
/// `ConditionCheckItem` it holds, `TransactGetItems` as `GetItem`); `*` for `ListTables`.
pub fn required(operation: &str, request: &Value) -> Vec<(String, String)> {
    let action = |op: &str| format!("dynamodb:{op}");
    let table = |v: &Value| {
        v.get("TableName")
            .and_then(Value::as_str)
            .map(table_arn)
            .unwrap_or_default()
    };
    match operation {
        "ListTables" => vec![(action(operation), "*".to_owned())],
        "BatchGetItem" | "BatchWriteItem" => request
            .get("RequestItems")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
            .map(|t| (action(operation), table_arn(t)))
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => request
            .get("TransactItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.iter().next())
            .map(|(kind, body)| {
                let op = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    _ => "GetItem",
                };
                (action(op), table(body))
            })
            .collect(),
        "Query" | "Scan" => {
            let mut arn = table(request);
            if let Some(index) = request.get("IndexName").and_then(Value::as_str) {
                arn = format!("{arn}/index/{index}");
            }
            vec![(action(operation), arn)]
        }
        _ => vec![(action(operation), table(request))],
    }
}

/// The AWS KMS actions a caller needs on a table's customer managed key for a DynamoDB
/// action on its items: reading decrypts the table key (`kms:Decrypt`); writing also
/// encrypts under it (`kms:Encrypt`, `kms:GenerateDataKey`), the set AWS's own tooling grants
/// a table's writers (the AWS CDK's `grantReadWriteData`). DynamoDB makes these calls on the
/// caller's behalf (the AWS KMS Developer Guide, "How Amazon DynamoDB uses AWS KMS"). AWS
/// asks when its per-caller cache of the table key is cold (at most five minutes old); the
/// local cloud asks on every request, so a role without them fails here at once, as it
/// would there within minutes. Table management and `ListTables` need none.
pub fn kms_actions(action: &str) -> &'static [&'static str] {
    match action.strip_prefix("dynamodb:").unwrap_or(action) {
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "ConditionCheckItem" => &["kms:Decrypt"],
        "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" => {
            &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
        }
        _ => &[],
    }
}

/// The condition keys of a call DynamoDB makes to AWS KMS on a caller's behalf:
/// `kms:ViaService` (`dynamodb.<region>.amazonaws.com`) and `kms:CallerAccount`.
pub fn kms_context() -> Vec<(&'static str, String)> {
    vec![
        ("kms:ViaService", format!("dynamodb.{REGION}.amazonaws.com")),
        ("kms:CallerAccount", ACCOUNT.to_owned()),
    ]
}

/// Authorises every action a DynamoDB request needs, and on a table encrypted with a
/// customer managed key, the [`kms_actions`] on that key through DynamoDB.
pub fn authorize(
    iam: &Iam,
    identity: &Identity,
    operation: &str,
    request: &Value,
) -> Result<(), AccessDenied> {
    required(operation, request)
        .iter()
        .try_for_each(|(action, arn)| {
            iam.authorize_identity(identity, action, arn)?;
            let Some(key) = iam.table_key(arn) else {
                return Ok(());
            };
            kms_actions(action)
                .iter()
                .try_for_each(|kms| iam.authorize_identity_in(identity, kms, key, &kms_context()))
        })
}

/// A window during which the front refuses a share of requests (fault injection): half with
/// `ProvisionedThroughputExceededException` (HTTP 400), half with `InternalServerError` (HTTP
/// 500), the two errors DynamoDB's documentation says clients retry with backoff.
#[derive(Debug, Default)]
pub struct Throttle {
    window: std::sync::Mutex<Option<(Instant, f64)>>,
    refused: AtomicUsize,
    /// Each window opened: (from, until), epoch seconds.
    windows: std::sync::Mutex<Vec<(f64, f64)>>,
    /// Each refusal: when (epoch seconds) and the request refused.
    log: std::sync::Mutex<Vec<(f64, Value)>>,
}

fn epoch_seconds() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

impl Throttle {
    /// Refuses `rate` (0 to 1) of the requests from now for `length`.
    pub fn refuse_for(&self, length: Duration, rate: f64) {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        *w = Some((Instant::now() + length, rate.clamp(0.0, 1.0)));
        let from = epoch_seconds();
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((from, from + length.as_secs_f64()));
    }

    /// Every refusal window opened so far: (from, until), epoch seconds.
    pub fn windows(&self) -> Vec<(f64, f64)> {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every request refused so far, with when (epoch seconds): the injector's own record.
    pub fn refused_requests(&self) -> Vec<(f64, Value)> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Requests refused so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// Whether this request is refused, and how: `(HTTP status, error type, message)`. Used
    /// for the functions' requests (through the endpoint) and the workflow's own DynamoDB
    /// tasks alike, as a throttled table refuses every caller.
    pub fn refusal(&self, request: &Value) -> Option<(StatusCode, &'static str, &'static str)> {
        let rate = {
            let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            match *w {
                Some((until, rate)) if Instant::now() < until => rate,
                _ => return None,
            }
        };
        if fastrand::f64() >= rate {
            return None;
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((epoch_seconds(), request.clone()));
        Some(if fastrand::bool() {
            (
                StatusCode::BAD_REQUEST,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. (fault injection)",
            )
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal server error (fault injection)",
            )
        })
    }

    fn refusal_response(&self, request: &Value) -> Option<Response> {
        self.refusal(request).map(|(status, error_type, message)| {
            aws_json::error(
                status,
                &format!("com.amazonaws.dynamodb.v20120810#{error_type}"),
                message.to_owned(),
                aws_json::JSON_1_0,
            )
        })
    }
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    iam: Arc<Iam>,
    throttle: Arc<Throttle>,
    meter: Arc<crate::meter::Meter>,
    quotas: Arc<Quotas>,
}

/// The partitions a request writes and reads, as `(family, "table#key")`: each item an
/// item operation or transaction names by its key (the whole key stands for its partition),
/// and a query's table with its key condition's values. One request unit each (items past
/// 1 KB written, or 4 KB read, take more on AWS: the orders here are under that).
fn partitions(operation: &str, request: &Value) -> Vec<(&'static str, String)> {
    use local_aws_core::quota::{DYNAMODB_PARTITION_READS, DYNAMODB_PARTITION_WRITES};
    let key_of = |body: &Value| {
        let table = body["TableName"].as_str().unwrap_or_default();
        let key = body.get("Key").or_else(|| body.get("Item")).cloned();
        format!("{table}#{}", key.unwrap_or(Value::Null))
    };
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            vec![(DYNAMODB_PARTITION_WRITES, key_of(request))]
        }
        "GetItem" => vec![(DYNAMODB_PARTITION_READS, key_of(request))],
        "Query" => vec![(
            DYNAMODB_PARTITION_READS,
            format!(
                "{}#{}",
                request["TableName"].as_str().unwrap_or_default(),
                request["ExpressionAttributeValues"]
            ),
        )],
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i.as_object()?.values().next())
            .map(|body| (DYNAMODB_PARTITION_WRITES, key_of(body)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The endpoint, forwarding to DynamoDB Local at `upstream`, refusing what `throttle` says.
/// A request is carried out whoever hangs up ([`local_aws_core::detached`]): a function killed
/// mid-write leaves the write made or not, never half metered.
pub fn router(
    upstream: &str,
    iam: Arc<Iam>,
    throttle: Arc<Throttle>,
    meter: Arc<crate::meter::Meter>,
    quotas: Arc<Quotas>,
) -> Router {
    local_aws_core::detached::run_to_completion(Router::new().fallback(post(handle)).with_state(
        Arc::new(Proxy {
            upstream: upstream.to_owned(),
            http: crate::loopback_client(),
            iam,
            throttle,
            meter,
            quotas,
        }),
    ))
}

async fn handle(State(p): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(refused) = p.throttle.refusal_response(&request) {
        return refused;
    }
    let operation = aws_json::operation(&headers).unwrap_or_default();
    if let Err(denied) = authorize(&p.iam, &p.iam.identify(&headers), &operation, &request) {
        return aws_json::error(
            StatusCode::BAD_REQUEST,
            ACCESS_DENIED,
            denied.message,
            aws_json::JSON_1_0,
        );
    }
    // One partition takes 1,000 write and 3,000 read units a second, on demand or not.
    for (family, key) in partitions(&operation, &request) {
        if p.quotas.keyed(family, &key).is_some_and(|q| !q.try_take()) {
            return aws_json::error(
                StatusCode::BAD_REQUEST,
                "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                format!(
                    "Throughput exceeds the current capacity for one or more partitions of the table ({family})"
                ),
                aws_json::JSON_1_0,
            );
        }
    }
    // The meter asks for the request's consumed capacity (and hides it again if the caller
    // did not).
    let asked = crate::meter::Meter::ask_capacity(&mut request);
    let body = if request.is_object() {
        Bytes::from(request.to_string())
    } else {
        body
    };
    let mut forward = p
        .http
        .post(&p.upstream)
        .header("authorization", crate::dynamodb::local_authorization())
        .body(body);
    for (k, v) in &headers {
        if !matches!(
            k.as_str(),
            "host" | "content-length" | "connection" | "authorization"
        ) {
            forward = forward.header(k, v);
        }
    }
    match forward.send().await {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status().as_u16())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut out = HeaderMap::new();
            for (k, v) in answer.headers() {
                if !matches!(
                    k.as_str(),
                    "content-length" | "connection" | "transfer-encoding"
                ) {
                    out.insert(k, v.clone());
                }
            }
            let mut bytes = answer.bytes().await.unwrap_or_default();
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut v) if status.is_success() => {
                    p.meter.dynamodb(&operation, &request, Ok(&mut v), asked);
                    bytes = Bytes::from(v.to_string());
                }
                Ok(v) => {
                    let error_type = v["__type"].as_str().unwrap_or_default();
                    p.meter
                        .dynamodb(&operation, &request, Err(error_type), asked);
                }
                Err(_) => {}
            }
            (status, out, bytes).into_response()
        }
        Err(e) => aws_json::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("DynamoDB Local did not answer: {e}"),
            aws_json::JSON_1_0,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_request_needs_its_operation_on_its_table_or_index() {
        let t = "arn:aws:dynamodb:us-east-1:000000000000:table/";
        assert_eq!(
            required("DeleteItem", &json!({"TableName": "held"})),
            [("dynamodb:DeleteItem".to_owned(), format!("{t}held"))]
        );
        assert_eq!(
            required(
                "Query",
                &json!({"TableName": "held", "IndexName": "byStore"})
            ),
            [(
                "dynamodb:Query".to_owned(),
                format!("{t}held/index/byStore")
            )]
        );
        assert_eq!(
            required(
                "TransactWriteItems",
                &json!({"TransactItems": [{"Put": {"TableName": "a"}}, {"ConditionCheck": {"TableName": "b"}}]})
            ),
            [
                ("dynamodb:PutItem".to_owned(), format!("{t}a")),
                ("dynamodb:ConditionCheckItem".to_owned(), format!("{t}b"))
            ]
        );
        let mut batch = required(
            "BatchWriteItem",
            &json!({"RequestItems": {"a": [], "b": []}}),
        );
        batch.sort();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[1].1, format!("{t}b"));
        assert_eq!(
            required("ListTables", &json!({})),
            [("dynamodb:ListTables".to_owned(), "*".to_owned())]
        );
    }
}
