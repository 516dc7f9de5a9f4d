//! API Gateway HTTP API (payload v2) ⇄ the intake use case.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use pipeline::usecases::intake::{Intake, WebhookRequest, WebhookResponse};
use tracing::Instrument as _;

/// Handles one webhook. Every outcome is an HTTP response; intake never fails the invocation.
pub(crate) async fn handle(
    intake: &Intake,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, FunctionError> {
    let (request, ctx) = event.into_parts();
    let partner = request
        .path_parameters
        .get("partner")
        .map(String::as_str)
        .unwrap_or_default();
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let raw = request.body.unwrap_or_default();
    let body =
        if request.is_base64_encoded {
            match base64::engine::general_purpose::STANDARD.decode(raw.as_bytes()) {
                Ok(bytes) => bytes,
                Err(_) => return Ok(json_response(
                    400,
                    r#"{"error":{"code":"MalformedWebhook","message":"body is not valid base64"}}"#
                        .to_owned(),
                    None,
                    None,
                )),
            }
        } else {
            raw.into_bytes()
        };
    let span = tracing::info_span!("webhook", partner, request_id = %ctx.request_id);
    let response = intake
        .handle(WebhookRequest {
            partner,
            headers: &headers,
            body: &body,
        })
        .instrument(span)
        .await;
    Ok(to_api_gateway(response))
}

fn to_api_gateway(r: WebhookResponse) -> ApiGatewayV2httpResponse {
    json_response(
        r.status,
        r.body.to_string(),
        r.retry_after,
        Some(&r.correlation_id),
    )
}

fn json_response(
    status: u16,
    body: String,
    retry_after: Option<u32>,
    correlation_id: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Some(cid) = correlation_id.and_then(|c| http::HeaderValue::from_str(c).ok()) {
        response.headers.insert("x-correlation-id", cid);
    }
    if let Some(secs) = retry_after {
        response
            .headers
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    response.body = Some(Body::Text(body));
    response
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
