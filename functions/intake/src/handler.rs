//! API Gateway HTTP API (payload v2) ⇄ the intake use case.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use lambda_support::apigw::{WebhookParts, webhook_parts};
use pipeline::usecases::intake::{Intake, WebhookRequest, WebhookResponse};
use tracing::Instrument as _;

/// Handles one webhook. Every outcome is an HTTP response; intake never fails the invocation.
pub(crate) async fn handle(
    intake: &Intake,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, FunctionError> {
    let (request, ctx) = event.into_parts();
    let Ok(WebhookParts {
        partner,
        headers,
        body,
    }) = webhook_parts(request)
    else {
        return Ok(json_response(
            400,
            r#"{"error":{"code":"MalformedWebhook","message":"body is not valid base64"}}"#
                .to_owned(),
            None,
            None,
        ));
    };
    let span = tracing::info_span!("webhook", partner, request_id = %ctx.request_id);
    let response = intake
        .handle(WebhookRequest {
            partner: &partner,
            headers: &headers,
            body: &body,
        })
        .instrument(span)
        .await;
    Ok(to_api_gateway(response))
}

fn to_api_gateway(r: WebhookResponse) -> ApiGatewayV2httpResponse {
    // An empty body for a partner that asks for one (Uber Eats), JSON otherwise.
    let body = if r.body.is_null() {
        String::new()
    } else {
        r.body.to_string()
    };
    json_response(r.status, body, r.retry_after, Some(&r.correlation_id))
}

fn json_response(
    status: u16,
    body: String,
    retry_after: Option<u32>,
    correlation_id: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    if !body.is_empty() {
        response.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
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
