//! The check itself, apart from AWS: a new version tried with its function's samples, and
//! what its answers mean.

use std::future::Future;

pub use lambda_support::pretraffic::Target;
use lambda_support::pretraffic::{ENVELOPE_KEY, PASSED};
use serde_json::{Value, json};

/// Invokes a function version synchronously: its answer, or why there is none (a function
/// error with its type and message, or the call's failure).
pub trait Invoker {
    /// Invokes `version` (a qualified function name) with `payload`.
    fn invoke(&self, version: &str, payload: Value) -> impl Future<Output = Result<Value, String>>;
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The versions checked.
    pub checked: Vec<String>,
    /// Samples the versions read and answered.
    pub passed: usize,
    /// Each failure: the version, the sample's file and why (never the sample's values).
    pub failures: Vec<String>,
}

impl Report {
    /// CodeDeploy's status for the hook: `Succeeded` when nothing failed.
    pub fn status(&self) -> &'static str {
        if self.failures.is_empty() {
            "Succeeded"
        } else {
            "Failed"
        }
    }
}

/// Invokes every target with each of its function's `samples` (function, file, JSON) in the
/// pre-traffic envelope. A target with no sample is a failure: it would go unchecked.
pub async fn check(
    targets: &[Target],
    samples: &[(&str, &str, &str)],
    invoker: &impl Invoker,
) -> Report {
    let mut report = Report::default();
    for t in targets {
        report.checked.push(t.version.clone());
        let mine: Vec<&(&str, &str, &str)> = samples
            .iter()
            .filter(|(f, _, _)| *f == t.function)
            .collect();
        if mine.is_empty() {
            report
                .failures
                .push(format!("{}: no sample to check it with", t.version));
            continue;
        }
        for (_, file, text) in mine {
            let sample: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    report.failures.push(format!("{file} is not JSON ({e})"));
                    continue;
                }
            };
            let payload = json!({ ENVELOPE_KEY: { "sample": sample } });
            match invoker.invoke(&t.version, payload).await {
                Ok(answer) if answer[ENVELOPE_KEY] == PASSED => report.passed += 1,
                Ok(_) => report.failures.push(format!(
                    "{}: {file}: the version answered, but not the check (it ran the sample as real input)",
                    t.version
                )),
                Err(why) => report.failures.push(format!("{}: {file}: {why}", t.version)),
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers as a version would: passed, unless it is in `broken` (a crash) or `unwrapped`
    /// (a version without the envelope, which runs the sample).
    #[derive(Default)]
    struct Versions {
        broken: Vec<&'static str>,
        unwrapped: Vec<&'static str>,
        calls: Mutex<Vec<(String, Value)>>,
    }

    impl Invoker for Versions {
        async fn invoke(&self, version: &str, payload: Value) -> Result<Value, String> {
            self.calls
                .lock()
                .unwrap()
                .push((version.to_owned(), payload));
            if self.broken.contains(&version) {
                return Err("Runtime.ExitError: the process exited".to_owned());
            }
            if self.unwrapped.contains(&version) {
                return Ok(json!({"status": "Sent"}));
            }
            Ok(json!({ ENVELOPE_KEY: PASSED }))
        }
    }

    const SAMPLES: &[(&str, &str, &str)] = &[
        ("pos", "pos/send.json", r#"{"action": "send"}"#),
        ("pos", "pos/void.json", r#"{"action": "void"}"#),
        (
            "accept-order",
            "accept-order/accept.json",
            r#"{"action": "accept"}"#,
        ),
    ];

    fn targets(pairs: &[(&str, &str)]) -> Vec<Target> {
        pairs
            .iter()
            .map(|(f, v)| Target {
                function: (*f).to_owned(),
                version: (*v).to_owned(),
            })
            .collect()
    }

    #[tokio::test]
    async fn every_sample_reaches_its_version_in_the_envelope_and_sound_versions_pass() {
        let v = Versions::default();
        let t = targets(&[
            ("pos", "orders-prod-pos:3"),
            ("accept-order", "orders-prod-accept-order:3"),
        ]);
        let report = check(&t, SAMPLES, &v).await;
        assert_eq!(report.passed, 3);
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.status(), "Succeeded");
        let calls = v.calls.lock().unwrap();
        assert_eq!(calls.len(), 3);
        assert!(
            calls
                .iter()
                .all(|(_, p)| p[ENVELOPE_KEY]["sample"]["action"].is_string())
        );
        assert_eq!(
            calls
                .iter()
                .filter(|(v, _)| v == "orders-prod-pos:3")
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn a_crashing_version_an_unwrapped_one_and_an_unsampled_one_fail_the_hook() {
        let v = Versions {
            broken: vec!["orders-prod-pos:3"],
            unwrapped: vec!["orders-prod-accept-order:3"],
            ..Default::default()
        };
        let t = targets(&[
            ("pos", "orders-prod-pos:3"),
            ("accept-order", "orders-prod-accept-order:3"),
            ("sweeper", "orders-prod-sweeper:3"),
        ]);
        let report = check(&t, SAMPLES, &v).await;
        assert_eq!(report.passed, 0);
        assert_eq!(report.status(), "Failed");
        assert_eq!(report.failures.len(), 4, "{:?}", report.failures);
        assert!(
            report
                .failures
                .iter()
                .any(|f| f.contains("Runtime.ExitError"))
        );
        assert!(report.failures.iter().any(|f| f.contains("not the check")));
        assert!(
            report
                .failures
                .iter()
                .any(|f| f.starts_with("orders-prod-sweeper:3: no sample"))
        );
    }
}
