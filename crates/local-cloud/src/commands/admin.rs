//! `local-cloud replay` and `redrive`: a running cloud's admin API.

use std::path::Path;
use std::process::ExitCode;

use super::*;

/// POSTs to a running cloud's admin API and prints its answer.
pub(crate) async fn admin_post(root: &Path, path: &str, body: serde_json::Value) -> ExitCode {
    let e = match running(root) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let answer = local_cloud::loopback_client()
        .post(format!("{}/{path}", e.admin))
        .json(&body)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => {
            println!("{}", r.text().await.unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("local-cloud: {path}: HTTP {}", r.status());
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!(
                "local-cloud: the admin API at {} did not answer: {err}",
                e.admin
            );
            ExitCode::FAILURE
        }
    }
}
