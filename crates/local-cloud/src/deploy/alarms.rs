//! The template's CloudWatch alarms a deployment watches, evaluated from the local cloud's own
//! records: what CodeDeploy would read from CloudWatch to decide a rollback.
//!
//! Three kinds are evaluated, each as its metric's source counts it since the deployment
//! began: a Lambda error rate (`Errors` over `Invocations` by `FunctionName`, or by the
//! version being deployed when the alarm names `ExecutedVersion`), a queue's visible messages
//! (`ApproximateNumberOfMessagesVisible`), and a state machine's failed or timed-out
//! executions (`ExecutionsFailed`, `ExecutionsTimedOut`). A metric the functions publish
//! themselves (CloudWatch's embedded metric format, a JSON line on stdout) is summed from the
//! functions' logs as CloudWatch Logs would extract it: the namespace, the metric's name and
//! exactly the alarm's dimension set with its values (a metric's identity is its whole
//! dimension set: the Amazon CloudWatch User Guide, "Dimensions"). An alarm on anything else
//! is reported as not evaluated, never as quiet.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cloud::LocalCloud;
use crate::lambda::FunctionStats;

/// What an alarm watches, read from its template properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Watch {
    /// A Lambda function's error rate: errors over invocations, once there are at least
    /// `min_invocations` (the `IF(invocations >= N, …)` guard).
    ErrorRate {
        /// The function's logical id.
        function: String,
        /// Only the version being deployed (`ExecutedVersion` among its dimensions).
        deployed_version: bool,
        /// Invocations before the rate counts.
        min_invocations: u64,
        /// Breaching above this rate (0 to 1).
        threshold: f64,
    },
    /// Messages visible in a queue, above `threshold`.
    QueueDepth {
        /// The queue's logical id.
        queue: String,
        /// Breaching above this many.
        threshold: f64,
    },
    /// Failed or timed-out executions of a state machine, above `threshold`.
    FailedExecutions {
        /// The state machine's ARN as the alarm writes it (`!Ref`, `!Sub`), resolved when
        /// evaluated.
        machine: Value,
        /// Breaching above this many.
        threshold: f64,
    },
    /// A metric the functions publish in the embedded metric format, summed since the
    /// deployment began, above `threshold`.
    Published {
        /// The metric's namespace (`OrderPipeline`).
        namespace: String,
        /// Its name (`OrdersStranded`).
        metric: String,
        /// Its dimensions, each name with its value as the template writes it (`!Sub`),
        /// resolved when evaluated.
        dimensions: Vec<(String, Value)>,
        /// Breaching above this sum.
        threshold: f64,
    },
}

/// The alarm of logical id `id` in `template` (the template's JSON), as a [`Watch`], or why
/// it cannot be evaluated here.
pub fn watch(template: &Value, id: &str) -> Result<Watch, String> {
    let props = template
        .pointer(&format!("/Resources/{id}/Properties"))
        .ok_or_else(|| format!("no alarm {id} in the template"))?;
    let threshold = props
        .get("Threshold")
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("{id}: no Threshold"))?;
    if props.get("ComparisonOperator").and_then(Value::as_str) != Some("GreaterThanThreshold") {
        return Err(format!("{id}: only GreaterThanThreshold is evaluated here"));
    }
    let metrics: Vec<&Value> = match props.get("Metrics").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(|m| m.get("MetricStat")).collect(),
        None => vec![props],
    };
    let metric = |m: &Value| {
        let inner = m.get("Metric").unwrap_or(m);
        (
            inner
                .get("Namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            inner
                .get("MetricName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            inner
                .get("Dimensions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        )
    };
    let Some(first) = metrics.first() else {
        return Err(format!("{id}: no metric"));
    };
    let (namespace, name, dimensions) = metric(first);
    let dimension = |key: &str| {
        dimensions
            .iter()
            .find(|d| d["Name"] == key)
            .map(|d| referenced(&d["Value"]))
    };
    match (namespace.as_str(), name.as_str()) {
        ("AWS/Lambda", "Errors" | "Invocations") => {
            let function = dimension("FunctionName")
                .flatten()
                .ok_or_else(|| format!("{id}: no FunctionName"))?;
            let min_invocations = props
                .get("Metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("Expression").and_then(Value::as_str))
                .find_map(min_invocations)
                .unwrap_or(1);
            Ok(Watch::ErrorRate {
                function,
                deployed_version: dimension("ExecutedVersion").is_some(),
                min_invocations,
                threshold,
            })
        }
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible") => Ok(Watch::QueueDepth {
            queue: dimension("QueueName")
                .flatten()
                .ok_or_else(|| format!("{id}: no QueueName"))?,
            threshold,
        }),
        ("AWS/States", "ExecutionsFailed" | "ExecutionsTimedOut") => Ok(Watch::FailedExecutions {
            machine: dimensions
                .iter()
                .find(|d| d["Name"] == "StateMachineArn")
                .map(|d| d["Value"].clone())
                .ok_or_else(|| format!("{id}: no StateMachineArn"))?,
            threshold,
        }),
        (namespace, name) if !namespace.starts_with("AWS/") && !name.is_empty() => {
            if props.get("Statistic").and_then(Value::as_str) != Some("Sum") {
                return Err(format!(
                    "{id}: only a Sum of a published metric is evaluated here"
                ));
            }
            Ok(Watch::Published {
                namespace: namespace.to_owned(),
                metric: name.to_owned(),
                dimensions: dimensions
                    .iter()
                    .map(|d| {
                        (
                            d["Name"].as_str().unwrap_or_default().to_owned(),
                            d["Value"].clone(),
                        )
                    })
                    .collect(),
                threshold,
            })
        }
        (namespace, name) => Err(format!(
            "{id}: {namespace} {name} is not a metric the local cloud keeps"
        )),
    }
}

/// The logical id a dimension's value refers to (`!Ref X`, `!GetAtt X.Attr`, `!Sub
/// "${X}…"`), if it refers to one.
fn referenced(v: &Value) -> Option<String> {
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return Some(r.to_owned());
    }
    if let Some(a) = v.get("Fn::GetAtt") {
        return match a {
            Value::Array(parts) => parts.first().and_then(Value::as_str).map(str::to_owned),
            Value::String(s) => s.split('.').next().map(str::to_owned),
            _ => None,
        };
    }
    let sub = v.get("Fn::Sub").and_then(Value::as_str)?;
    let start = sub.find("${")? + 2;
    let end = sub[start..].find('}')? + start;
    Some(sub[start..end].to_owned())
}

/// `N` from an expression `IF(invocations >= N, …)`.
fn min_invocations(expression: &str) -> Option<u64> {
    let rest = expression.split(">=").nth(1)?;
    rest.split(',').next()?.trim().parse().ok()
}

/// What the deployment's alarms are measured against: the functions' figures and the
/// executions' count when it began.
pub struct Baseline {
    /// Each function's figures across its versions, by name.
    pub functions: BTreeMap<String, FunctionStats>,
    /// How many executions there were.
    pub executions: usize,
    /// How long each function's log was (bytes, by path): what was published before.
    pub logs: BTreeMap<std::path::PathBuf, u64>,
}

impl Baseline {
    /// The cloud's figures now.
    pub async fn now(cloud: &LocalCloud) -> Self {
        Self {
            functions: cloud.lambda.stats().await,
            executions: cloud.sfn.executions().await.len(),
            logs: function_logs(cloud).into_iter().collect(),
        }
    }
}

/// Every function log of the cloud with its length in bytes.
fn function_logs(cloud: &LocalCloud) -> Vec<(std::path::PathBuf, u64)> {
    let Ok(dir) = std::fs::read_dir(cloud.lambda.log_dir()) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .filter_map(|p| Some((p.clone(), std::fs::metadata(&p).ok()?.len())))
        .collect()
}

/// The sum of `metric` in `namespace` with exactly `dimensions` (name and value) over the
/// embedded-metric documents in `text` (one JSON document a line; other lines are skipped).
pub fn published_sum(
    text: &str,
    namespace: &str,
    metric: &str,
    dimensions: &[(String, String)],
) -> f64 {
    let mut want: Vec<&str> = dimensions.iter().map(|(n, _)| n.as_str()).collect();
    want.sort_unstable();
    let mut sum = 0.0;
    for line in text.lines().filter(|l| l.contains("\"_aws\"")) {
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let declared = doc
            .pointer("/_aws/CloudWatchMetrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|d| {
                d["Namespace"] == namespace
                    && d["Metrics"]
                        .as_array()
                        .is_some_and(|ms| ms.iter().any(|m| m["Name"] == metric))
                    && d["Dimensions"].as_array().is_some_and(|sets| {
                        sets.iter().any(|set| {
                            let mut names: Vec<&str> = set
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .collect();
                            names.sort_unstable();
                            names == want
                        })
                    })
            });
        if !declared
            || dimensions
                .iter()
                .any(|(n, v)| doc[n.as_str()] != v.as_str())
        {
            continue;
        }
        // A value or a list of values (EMF allows up to 100 per document).
        sum += match &doc[metric] {
            Value::Array(values) => values.iter().filter_map(Value::as_f64).sum(),
            v => v.as_f64().unwrap_or(0.0),
        };
    }
    sum
}

/// Whether `w` breaches now, with what it measured, given the deployment's `baseline` and the
/// version being deployed (`deployed`).
pub async fn breaching(
    cloud: &LocalCloud,
    w: &Watch,
    baseline: &Baseline,
    deployed: u32,
) -> Result<Option<String>, String> {
    match w {
        Watch::ErrorRate {
            function,
            deployed_version,
            min_invocations,
            threshold,
        } => {
            let f = cloud
                .app
                .functions
                .iter()
                .find(|f| &f.logical_id == function)
                .ok_or_else(|| format!("no function {function}"))?;
            let (errors, invocations) = if *deployed_version {
                let s = cloud
                    .lambda
                    .version_stats(&f.name, deployed)
                    .await
                    .unwrap_or_default();
                (s.function_errors, s.invocations)
            } else {
                let now = cloud.lambda.stats().await;
                let s = now.get(&f.name).cloned().unwrap_or_default();
                let b = baseline.functions.get(&f.name).cloned().unwrap_or_default();
                (
                    s.function_errors.saturating_sub(b.function_errors),
                    s.invocations.saturating_sub(b.invocations),
                )
            };
            let rate = if invocations >= *min_invocations && invocations > 0 {
                errors as f64 / invocations as f64
            } else {
                0.0
            };
            Ok((rate > *threshold).then(|| {
                format!(
                    "{} failed {errors} of {invocations} invocations{}",
                    f.name,
                    if *deployed_version {
                        format!(" of version {deployed}")
                    } else {
                        String::new()
                    }
                )
            }))
        }
        Watch::QueueDepth { queue, threshold } => {
            let name = cloud
                .app
                .resolver
                .attrs
                .get(&(queue.clone(), "QueueName".to_owned()))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("no queue {queue}"))?;
            let visible = cloud.queues.all().await.get(&name).map_or(0, Vec::len);
            Ok((visible as f64 > *threshold).then(|| format!("{visible} messages in {name}")))
        }
        Watch::FailedExecutions { machine, threshold } => {
            let arn = cloud
                .app
                .resolver
                .resolve(machine)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| format!("the state machine {machine} does not resolve"))?;
            let mut failed = 0;
            for e in cloud.sfn.executions_since(baseline.executions).await {
                if e.machine.arn == arn
                    && matches!(
                        e.status().await,
                        crate::sfn::Status::Failed | crate::sfn::Status::TimedOut
                    )
                {
                    failed += 1;
                }
            }
            Ok((f64::from(failed) > *threshold)
                .then(|| format!("{failed} executions of {arn} failed")))
        }
        Watch::Published {
            namespace,
            metric,
            dimensions,
            threshold,
        } => {
            let mut resolved = Vec::with_capacity(dimensions.len());
            for (name, value) in dimensions {
                let v = cloud
                    .app
                    .resolver
                    .resolve(value)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .ok_or_else(|| format!("the dimension {name} ({value}) does not resolve"))?;
                resolved.push((name.clone(), v));
            }
            let mut sum = 0.0;
            for (path, len) in function_logs(cloud) {
                let from = baseline.logs.get(&path).copied().unwrap_or(0).min(len);
                let text = read_from(&path, from)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                sum += published_sum(&text, namespace, metric, &resolved);
            }
            Ok((sum > *threshold).then(|| format!("{metric} summed {sum} in {namespace}")))
        }
    }
}

/// The text of the file at `path` from byte `from` on.
fn read_from(path: &std::path::Path, from: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Value {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        sam_template::Template::load(&root.join("infra/template.yaml"))
            .unwrap()
            .json
    }

    #[test]
    fn the_templates_deployment_alarms_read_as_what_they_watch() {
        let t = template();
        assert_eq!(
            watch(&t, "BusDeadLettersAlarm").unwrap(),
            Watch::QueueDepth {
                queue: "BusDeadLetterQueue".to_owned(),
                threshold: 0.0
            }
        );
        assert_eq!(
            watch(&t, "AcceptOrderErrorRateAlarm").unwrap(),
            Watch::ErrorRate {
                function: "AcceptOrderFunction".to_owned(),
                deployed_version: false,
                min_invocations: 20,
                threshold: 0.1
            }
        );
        assert_eq!(
            watch(&t, "AcceptOrderCanaryErrorRateAlarm").unwrap(),
            Watch::ErrorRate {
                function: "AcceptOrderFunction".to_owned(),
                deployed_version: true,
                min_invocations: 5,
                threshold: 0.5
            }
        );
        assert!(matches!(
            watch(&t, "FailedExecutionsAlarm").unwrap(),
            Watch::FailedExecutions { machine, .. } if machine.to_string().contains("orders-${Stage}-workflow")
        ));
        assert!(watch(&t, "NoSuchAlarm").unwrap_err().contains("no alarm"));
        let Watch::Published {
            namespace,
            metric,
            dimensions,
            threshold,
        } = watch(&t, "OrdersStrandedAlarm").unwrap()
        else {
            panic!("OrdersStrandedAlarm is a published metric");
        };
        assert_eq!(
            (namespace.as_str(), metric.as_str()),
            ("OrderPipeline", "OrdersStranded")
        );
        assert_eq!(dimensions.len(), 1);
        assert_eq!(dimensions[0].0, "service");
        assert_eq!(threshold, 0.0);
    }

    #[test]
    fn a_published_metric_is_summed_over_its_exact_dimension_set() {
        let doc = |service: &str, dims: &str, value: &str| {
            format!(
                r#"{{"service":"{service}","status":"Pending","OrdersStranded":{value},"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"OrderPipeline","Dimensions":[{dims}],"Metrics":[{{"Name":"OrdersStranded","Unit":"Count"}}]}}]}}}}"#
            )
        };
        let text = [
            doc("orders-dev-sweeper", r#"["service"]"#, "1"),
            "INFO a plain log line".to_owned(),
            doc("orders-dev-sweeper", r#"["service"]"#, "[1, 2]"),
            // Another service, another dimension set, another namespace: other metrics.
            doc("orders-dev-pos", r#"["service"]"#, "1"),
            doc("orders-dev-sweeper", r#"["service", "status"]"#, "1"),
            doc("orders-dev-sweeper", r#"["service"]"#, "1").replace("OrderPipeline", "Other"),
            r#"{"_aws": "not a document"#.to_owned(),
        ]
        .join("\n");
        let dims = [("service".to_owned(), "orders-dev-sweeper".to_owned())];
        assert_eq!(
            published_sum(&text, "OrderPipeline", "OrdersStranded", &dims),
            4.0
        );
        assert_eq!(
            published_sum(&text, "OrderPipeline", "OrdersFailed", &dims),
            0.0
        );
        let both = [
            ("service".to_owned(), "orders-dev-sweeper".to_owned()),
            ("status".to_owned(), "Pending".to_owned()),
        ];
        assert_eq!(
            published_sum(&text, "OrderPipeline", "OrdersStranded", &both),
            1.0
        );
    }

    #[test]
    fn a_dimension_refers_to_the_resource_its_intrinsic_names() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(referenced(&v(r#"{"Ref": "Fn"}"#)).as_deref(), Some("Fn"));
        assert_eq!(
            referenced(&v(r#"{"Fn::GetAtt": ["Q", "QueueName"]}"#)).as_deref(),
            Some("Q")
        );
        assert_eq!(
            referenced(&v(r#"{"Fn::Sub": "${Fn}:live"}"#)).as_deref(),
            Some("Fn")
        );
        assert_eq!(referenced(&v(r#""plain""#)), None);
        assert_eq!(
            min_invocations("IF(invocations >= 20, errors / invocations, 0)"),
            Some(20)
        );
    }
}
