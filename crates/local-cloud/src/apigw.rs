//! The HTTP API: the template's routes served on loopback as API Gateway (HTTP API, payload
//! format 2.0) serves them: each request becomes the event intake receives (raw body, base64
//! when it is not text, lower-case headers, path parameters, request context), and the
//! function's answer becomes the HTTP response. Throttling is API Gateway's: each route's
//! token bucket from the template's route settings (its own `RouteSettings`, else the stage's
//! `DefaultRouteSettings`), and the account's (10,000 requests per second, burst 5,000, in
//! most regions; [`local_aws_core::quota::HTTP_API_ACCOUNT`]), a throttled request answered
//! `429 {"message":"Too Many Requests"}`; a function error is a 500, as API Gateway answers
//! it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use local_aws_core::quota::{self, Quota, Quotas, Rate};
use serde_json::{Value, json};

use crate::app::{ACCOUNT, REGION, Route, RouteAuthorization};
use crate::iam::{Caller, Iam};
use crate::lambda::{Lambda, Outcome};

/// The prefix of a route throttle's name among the quotas (`apigateway:route POST /webhooks/app`).
pub const ROUTE_QUOTA_PREFIX: &str = "apigateway:route";

/// The template's HTTP APIs, all served on one loopback port (their paths do not overlap).
pub struct HttpApi {
    routes: Vec<Route>,
    lambda: Arc<Lambda>,
    iam: Arc<Iam>,
    meter: Arc<crate::meter::Meter>,
    /// Each throttled route's token bucket, by its index in `routes`.
    buckets: BTreeMap<usize, Arc<Quota>>,
    /// The account's, when quotas are enforced.
    account: Option<Arc<Quota>>,
}

/// Matches `/webhooks/{partner}` against a path, giving the parameters.
pub fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    // Segment by segment, as API Gateway matches: `/catalog/stores/` is not `/catalog/stores`.
    let t: Vec<&str> = template
        .strip_prefix('/')
        .unwrap_or(template)
        .split('/')
        .collect();
    let p: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (a, b) in t.iter().zip(&p) {
        if let Some(name) = a.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            if b.is_empty() {
                return None;
            }
            params.insert(name.trim_end_matches('+').to_owned(), (*b).to_owned());
        } else if a != b {
            return None;
        }
    }
    Some(params)
}

fn is_text(headers: &HeaderMap) -> bool {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    ct.starts_with("text/")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("x-www-form-urlencoded")
}

impl HttpApi {
    /// The API for these routes, throttled as `quotas` says (the routes' own throttles are
    /// scaled as AWS's quotas are, and reported with them).
    pub fn new(
        routes: Vec<Route>,
        lambda: Arc<Lambda>,
        iam: Arc<Iam>,
        meter: Arc<crate::meter::Meter>,
        quotas: &Quotas,
    ) -> Arc<Self> {
        let buckets = routes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let (rate, burst) = r.throttle?;
                let name = format!("{ROUTE_QUOTA_PREFIX} {} {}", r.method, r.path);
                let q = quotas.register(
                    &name,
                    quotas.scaled_rate(Rate::new(burst, rate)),
                    "infra/template.yaml (RouteSettings, DefaultRouteSettings)",
                );
                Some((i, q))
            })
            .collect();
        Arc::new(Self {
            routes,
            lambda,
            iam,
            meter,
            buckets,
            account: quotas.get(quota::HTTP_API_ACCOUNT),
        })
    }

    /// The router. A request is carried out whoever hangs up, as API Gateway goes on invoking
    /// the integration when the caller disconnects ([`local_aws_core::detached`]).
    pub fn router(self: &Arc<Self>) -> Router {
        // An HTTP API takes requests up to 10 MB (API Gateway quotas); intake then applies
        // its own, smaller limit.
        local_aws_core::detached::run_to_completion(
            Router::new()
                .fallback(handle)
                .layer(axum::extract::DefaultBodyLimit::max(10 * 1024 * 1024))
                .with_state(self.clone()),
        )
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "message": text }).to_string(),
    )
        .into_response()
}

async fn handle(
    State(api): State<Arc<HttpApi>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    api.meter.http_api_request(body.len());
    let path = uri.path().to_owned();
    let Some((index, route, params)) = api
        .routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == method.as_str() || r.method == "ANY")
        .find_map(|(i, r)| match_path(&r.path, &path).map(|p| (i, r, p)))
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let route_throttled = api.buckets.get(&index).is_some_and(|q| !q.try_take());
    if route_throttled || api.account.as_ref().is_some_and(|q| !q.try_take()) {
        return message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    }
    if body.len() > 10 * 1024 * 1024 {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    // The route's resource: `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`.
    let source_arn = format!("{}/{}{}", route.source_arn_prefix, method.as_str(), path);
    let authorizer = match route.authorization {
        RouteAuthorization::None => None,
        RouteAuthorization::Iam => {
            let target = uri.path_and_query().map_or(path.as_str(), |p| p.as_str());
            match iam_caller(
                &api.iam,
                method.as_str(),
                target,
                &headers,
                &body,
                &source_arn,
            ) {
                Ok(context) => Some(context),
                Err(refusal) => return message(StatusCode::FORBIDDEN, &refusal),
            }
        }
    };
    let mut hs = serde_json::Map::new();
    for (k, v) in &headers {
        let v = v.to_str().unwrap_or_default().to_owned();
        hs.entry(k.as_str().to_lowercase())
            .and_modify(|e| {
                if let Value::String(s) = e {
                    s.push(',');
                    s.push_str(&v);
                }
            })
            .or_insert(Value::String(v));
    }
    let text = is_text(&headers) && std::str::from_utf8(&body).is_ok();
    let body_value = if body.is_empty() {
        Value::Null
    } else if text {
        Value::String(String::from_utf8_lossy(&body).into_owned())
    } else {
        Value::String(base64::engine::general_purpose::STANDARD.encode(&body))
    };
    let now = chrono::Utc::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let route_key = format!("{} {}", route.method, route.path);
    let event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": uri.query().unwrap_or_default(),
        "headers": hs,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "pathParameters": params,
        "body": body_value,
        "isBase64Encoded": !text && !body.is_empty(),
    });
    let mut event = event;
    if let Some(iam) = authorizer {
        event["requestContext"]["authorizer"] = json!({ "iam": iam });
    }
    // API Gateway invokes the function through its resource policy; without a permission for
    // this route the client gets a 500, as from AWS.
    if let Err(denied) = api.iam.authorize(
        &Caller::Service("apigateway.amazonaws.com".to_owned()),
        "lambda:InvokeFunction",
        &format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
            route.function
        ),
        BTreeMap::from([
            ("aws:SourceArn", source_arn),
            ("aws:SourceAccount", ACCOUNT.to_owned()),
        ]),
    ) {
        tracing::error!(function = %route.function, error = %denied, "AccessDeniedException: the HTTP API cannot invoke the function");
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    match api.lambda.invoke(&route.function, event).await {
        Outcome::Ok(v) => to_http(&v),
        Outcome::Err {
            error_type,
            error_message,
        } => {
            tracing::warn!(function = %route.function, %error_type, "{error_message}");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// The access key the local cloud's own tools sign with (`AwsConfig::loopback`): the
/// developer's, acting as the account's administrator.
pub const LOOPBACK_ACCESS_KEY: &str = "local";
/// The secret of every key the local cloud knows: the loopback key and the keys it gives the
/// functions' processes.
const LOCAL_SECRET: &str = "local";

/// Checks an `AWS_IAM` route's caller as API Gateway does: a SigV4 signature by a key it
/// knows, then `execute-api:Invoke` on the route for that key's principal. Returns the
/// `requestContext.authorizer.iam` the function sees, or the message of the 403 refusing the
/// request.
fn iam_caller(
    iam: &Iam,
    method: &str,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
    route_arn: &str,
) -> Result<Value, String> {
    use aws_adapters::sigv4::{self, Key};
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let known = |key: &str| {
        (key == LOOPBACK_ACCESS_KEY || iam.issued(key)).then(|| Key {
            access_key_id: key.to_owned(),
            secret_access_key: LOCAL_SECRET.to_owned(),
            session_token: None,
        })
    };
    let request = sigv4::Request {
        method,
        uri: target,
        headers: &pairs,
        body,
    };
    let auth = sigv4::verify(&request, known, std::time::SystemTime::now())
        .and_then(|a| a.check_scope("execute-api", REGION).map(|()| a))
        .map_err(|e| {
            tracing::info!(route = %route_arn, refusal = %e, "refused an unsigned or badly signed request to an AWS_IAM route");
            e.to_string()
        })?;
    let identity = iam.identify(headers);
    if let Err(denied) = iam.authorize_identity(&identity, "execute-api:Invoke", route_arn) {
        tracing::info!(route = %route_arn, error = %denied, "refused a caller without execute-api:Invoke");
        return Err(denied.to_string());
    }
    let user_arn = match &identity {
        crate::iam::Identity::Caller(c) => c.arn().to_owned(),
        crate::iam::Identity::Administrator => format!("arn:aws:iam::{ACCOUNT}:root"),
    };
    Ok(json!({
        "accessKey": auth.access_key_id,
        "accountId": ACCOUNT,
        "callerId": auth.access_key_id,
        "cognitoIdentity": null,
        "principalOrgId": null,
        "userArn": user_arn,
        "userId": auth.access_key_id,
    }))
}

/// A function's payload-v2 answer as an HTTP response.
fn to_http(v: &Value) -> Response {
    let Some(status) = v.get("statusCode").and_then(Value::as_u64) else {
        // A bare value is a 200 with it as JSON.
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response();
    };
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(h) = v.get("headers").and_then(Value::as_object) {
        for (k, val) in h {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(k.as_bytes()),
                val.as_str().map(HeaderValue::from_str),
            ) {
                r.headers_mut().insert(name, value);
            }
        }
    }
    let body = v.get("body").and_then(Value::as_str).unwrap_or_default();
    let bytes = if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    *r.body_mut() = Body::from(bytes);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_their_parameters() {
        let p = match_path("/webhooks/{partner}", "/webhooks/app").unwrap();
        assert_eq!(p["partner"], "app");
        assert!(match_path("/webhooks/{partner}", "/webhooks").is_none());
        assert!(match_path("/webhooks/{partner}", "/webhooks/a/b").is_none());
        assert!(match_path("/webhooks/{partner}", "/other/app").is_none());
        // A trailing slash is another path, as on API Gateway.
        assert!(match_path("/webhooks/{partner}", "/webhooks/app/").is_none());
        assert!(match_path("/catalog/stores", "/catalog/stores/").is_none());
    }
}
