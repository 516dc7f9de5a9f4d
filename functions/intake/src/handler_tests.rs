use lambda_runtime::LambdaEvent;
use lambda_support::samples::{check_function_samples, reported_error, test_context};
use lambda_support::wiring;

use super::*;

#[tokio::test]
async fn every_intake_sample_answers_as_its_manifest_says() {
    let checked = check_function_samples("intake", |backend, env, input| async move {
        let intake = wiring::intake(&env, &backend)
            .await
            .map_err(|e| ("Config".to_owned(), e.to_string()))?;
        let request: ApiGatewayV2httpRequest =
            serde_json::from_value(input).map_err(|e| ("Input".to_owned(), e.to_string()))?;
        let response = handle(&intake, LambdaEvent::new(request, test_context("test")))
            .await
            .map_err(reported_error)?;
        let body: serde_json::Value = match &response.body {
            Some(Body::Text(t)) => serde_json::from_str(t).unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        Ok(serde_json::json!({ "statusCode": response.status_code, "body": body }))
    })
    .await
    .unwrap_or_else(|failures| panic!("{}", failures.join("\n")));
    assert!(checked >= 20, "only {checked} intake samples");
}

#[test]
fn a_503_tells_the_partner_when_to_retry() {
    let r = to_api_gateway(WebhookResponse {
        status: 503,
        body: serde_json::json!({}),
        retry_after: Some(1),
        correlation_id: "c-1".to_owned(),
    });
    assert_eq!(r.status_code, 503);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.headers["x-correlation-id"], "c-1");
    assert_eq!(r.headers["content-type"], "application/json");
}
