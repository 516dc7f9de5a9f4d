//! API Gateway HTTP API (payload v2, IAM-authorised routes) ⇄ the catalogue admin use case.
//! The routes and answers are [`pipeline::catalog_admin::http`]'s.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use lambda_runtime::LambdaEvent;
use lambda_support::FunctionError;
use pipeline::catalog_admin::CatalogAdministration;
use pipeline::catalog_admin::http::{AdminRequest, AdminResponse};
use serde_json::json;
use tracing::Instrument as _;

/// Handles one request. Every outcome is an HTTP response; the invocation never fails.
pub(crate) async fn handle(
    admin: &CatalogAdministration,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, FunctionError> {
    let (request, ctx) = event.into_parts();
    let caller = request
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.iam.as_ref())
        .and_then(|iam| iam.user_arn.clone())
        .unwrap_or_else(|| "an unauthenticated caller".to_owned());
    let body = request.body.unwrap_or_default();
    // API Gateway base64-encodes a body it does not take for text.
    let body = if request.is_base64_encoded {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded {
            Some(text) => text,
            None => {
                return Ok(to_api_gateway(AdminResponse {
                    status: 400,
                    body: json!({"error": {"code": "InvalidRequest", "message": "the body is not base64-encoded UTF-8"}}),
                }));
            }
        }
    } else {
        body
    };
    let request = AdminRequest {
        route_key: request.route_key.unwrap_or_default(),
        path_parameters: request.path_parameters,
        body,
        caller,
    };
    let span = tracing::info_span!("catalogue", request_id = %ctx.request_id);
    Ok(to_api_gateway(
        admin.handle(&request).instrument(span).await,
    ))
}

fn to_api_gateway(r: AdminResponse) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(r.status);
    response.headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    response.body = Some(Body::Text(r.body.to_string()));
    response
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
