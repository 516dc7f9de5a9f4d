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

#[test]
fn a_partner_that_asks_for_an_empty_body_gets_one_with_no_content_type() {
    let r = to_api_gateway(WebhookResponse {
        status: 200,
        body: serde_json::Value::Null,
        retry_after: None,
        correlation_id: "c-1".to_owned(),
    });
    assert_eq!(r.status_code, 200);
    assert!(
        matches!(&r.body, Some(Body::Text(t)) if t.is_empty()),
        "{:?}",
        r.body
    );
    assert!(r.headers.get("content-type").is_none());
    assert_eq!(r.headers["x-correlation-id"], "c-1");
}

/// A writer that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn info_logs_carry_the_correlation_id_but_no_payload_or_secret() {
    // The process-wide subscriber, not a thread-scoped one: the other tests in this binary run
    // the same callsites on other threads without a subscriber, and tracing caches a
    // callsite's interest across threads, so a scoped subscriber saw only some events.
    // Whatever the other tests log lands here too, which the checks below allow.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_span_list(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("no other test in this binary sets a subscriber");
    check_function_samples("intake", |backend, env, input| async move {
        let intake = wiring::intake(&env, &backend)
            .await
            .map_err(|e| ("Config".to_owned(), e.to_string()))?;
        let request: ApiGatewayV2httpRequest =
            serde_json::from_value(input).map_err(|e| ("Input".to_owned(), e.to_string()))?;
        handle(&intake, LambdaEvent::new(request, test_context("log-test")))
            .await
            .map_err(reported_error)?;
        Ok(serde_json::json!({}))
    })
    .await
    .ok();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("\"correlation_id\":\"corr-app-order\""),
        "{logs}"
    );
    assert!(logs.contains("webhook accepted"), "{logs}");
    let secrets = std::fs::read_to_string(
        lambda_support::samples::repo_root().join("events/dev-secrets/webhooks.json"),
    )
    .unwrap();
    let secrets: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&secrets).unwrap();
    for secret in secrets.values() {
        assert!(
            !logs.contains(secret.as_str()),
            "a webhook secret reached the logs"
        );
    }
    // Customer names, notes and items from the sample payloads never reach the logs.
    for private in [
        "Lopez",
        "Sam",
        "extra crispy",
        "ring the bell",
        "Crunchwrap",
    ] {
        assert!(!logs.contains(private), "{private:?} reached the logs");
    }
}
