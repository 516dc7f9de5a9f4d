use lambda_runtime::LambdaEvent;
use lambda_support::samples::{check_function_samples, reported_error, test_context};
use lambda_support::wiring;

use super::*;

#[tokio::test]
async fn every_sweeper_sample_answers_as_its_manifest_says() {
    let checked = check_function_samples("sweeper", |backend, env, input| async move {
        let use_case = wiring::sweeper(&env, &backend)
            .await
            .map_err(|e| ("Config".to_owned(), e.to_string()))?;
        let output = handle(&use_case, LambdaEvent::new(input, test_context("test")))
            .await
            .map_err(reported_error)?;
        Ok(serde_json::to_value(output).unwrap_or_default())
    })
    .await
    .unwrap_or_else(|failures| panic!("{}", failures.join("\n")));
    assert!(checked >= 1, "only {checked} samples");
}
