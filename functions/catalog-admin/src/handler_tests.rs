use lambda_runtime::LambdaEvent;
use lambda_support::samples::{check_function_samples, reported_error, test_context};
use lambda_support::wiring;

use super::*;

/// Runs one request through the handler on `backend`, as `{"statusCode", "body"}`.
async fn invoke(
    backend: lambda_support::wiring::Backend,
    env: lambda_support::Env,
    input: serde_json::Value,
) -> Result<serde_json::Value, (String, String)> {
    let admin = wiring::catalog_admin(&env, &backend)
        .await
        .map_err(|e| ("Config".to_owned(), e.to_string()))?;
    let request: ApiGatewayV2httpRequest =
        serde_json::from_value(input).map_err(|e| ("Input".to_owned(), e.to_string()))?;
    let response = handle(&admin, LambdaEvent::new(request, test_context("test")))
        .await
        .map_err(reported_error)?;
    let body: serde_json::Value = match &response.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    Ok(serde_json::json!({ "statusCode": response.status_code, "body": body }))
}

#[tokio::test]
async fn every_catalog_admin_sample_answers_as_its_manifest_says() {
    let checked = check_function_samples("catalog-admin", invoke)
        .await
        .unwrap_or_else(|failures| panic!("{}", failures.join("\n")));
    assert!(checked >= 8, "only {checked} catalog-admin samples");
}

#[tokio::test]
async fn a_base64_body_is_decoded_and_a_body_that_is_not_is_refused_by_name() {
    let env = lambda_support::Env::from_pairs([("PIPELINE_BACKEND", "memory")]);
    let backend = wiring::Backend::from_env(&env).await.unwrap();
    let request = |body: &str, b64: bool| {
        serde_json::json!({
            "version": "2.0",
            "routeKey": "PUT /catalog/stores/{storeId}/pause",
            "rawPath": "/catalog/stores/S1001/pause",
            "requestContext": { "http": { "method": "PUT", "path": "/catalog/stores/S1001/pause" }, "timeEpoch": 0 },
            "pathParameters": { "storeId": "S1001" },
            "body": body,
            "isBase64Encoded": b64,
        })
    };
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"reason":"fryer down"}"#);
    let paused = invoke(backend, env.clone(), request(&encoded, true))
        .await
        .unwrap();
    assert_eq!(paused["statusCode"], 200, "{paused}");
    assert_eq!(paused["body"]["status"], "paused");
    assert_eq!(paused["body"]["pause"]["reason"], "fryer down");
    let backend = wiring::Backend::from_env(&env).await.unwrap();
    let refused = invoke(backend, env, request("%%% not base64", true))
        .await
        .unwrap();
    assert_eq!(refused["statusCode"], 400);
    assert_eq!(refused["body"]["error"]["code"], "InvalidRequest");
}
