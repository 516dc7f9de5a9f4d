//! Metrics as CloudWatch Embedded Metric Format lines on stdout: CloudWatch Logs turns them
//! into metrics with no API call on the request path.

use std::io::Write;
use std::sync::Mutex;

use pipeline::ports::{Metric, Metrics};
use serde_json::{Map, Value, json};

/// A metric's name, unit, value, dimensions and extra properties.
type Shape = (
    &'static str,
    &'static str,
    f64,
    Vec<(&'static str, String)>,
    Vec<(&'static str, Value)>,
);

/// Writes one EMF document per metric.
pub struct EmfMetrics {
    namespace: String,
    service: String,
    out: Mutex<Box<dyn Write + Send>>,
}

impl EmfMetrics {
    /// Writes to stdout.
    pub fn stdout(namespace: impl Into<String>, service: impl Into<String>) -> Self {
        Self::to_writer(namespace, service, Box::new(std::io::stdout()))
    }

    /// Writes to `out` (tests).
    pub fn to_writer(
        namespace: impl Into<String>,
        service: impl Into<String>,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            service: service.into(),
            out: Mutex::new(out),
        }
    }

    /// The EMF document for a metric at `timestamp_ms`.
    pub fn document(&self, metric: &Metric, timestamp_ms: i64) -> Value {
        let (name, unit, value, dims, props): Shape = match metric {
            Metric::WebhookAccepted { partner } => (
                "WebhooksAccepted",
                "Count",
                1.0,
                vec![("partner", partner.to_string())],
                vec![],
            ),
            Metric::WebhookRefused { partner, status } => (
                "WebhooksRefused",
                "Count",
                1.0,
                vec![("status", status.to_string())],
                vec![("partner", json!(partner.map(|p| p.as_str())))],
            ),
            Metric::WebhookIgnored {
                partner,
                event_type,
            } => (
                "WebhooksIgnored",
                "Count",
                1.0,
                vec![("partner", partner.to_string())],
                vec![("eventType", json!(event_type))],
            ),
            Metric::OrderReceived { partner } => (
                "OrdersReceived",
                "Count",
                1.0,
                vec![("partner", partner.to_string())],
                vec![],
            ),
            Metric::DuplicateIgnored { payload_mismatch } => (
                "DuplicatesIgnored",
                "Count",
                1.0,
                vec![],
                vec![("payloadMismatch", json!(payload_mismatch))],
            ),
            Metric::OrderRejected { reason } => (
                "OrdersRejected",
                "Count",
                1.0,
                vec![("reason", reason.clone())],
                vec![],
            ),
            Metric::OrderAccepted => ("OrdersAccepted", "Count", 1.0, vec![], vec![]),
            Metric::OrderHeld => ("OrdersHeld", "Count", 1.0, vec![], vec![]),
            Metric::OrderReleased { by } => (
                "OrdersReleased",
                "Count",
                1.0,
                vec![("releasedBy", (*by).to_owned())],
                vec![],
            ),
            Metric::PosLatency { millis, ok } => (
                "PosLatency",
                "Milliseconds",
                *millis,
                vec![],
                vec![("ok", json!(ok))],
            ),
            Metric::OrderSentToPos => ("OrdersSentToPos", "Count", 1.0, vec![], vec![]),
            Metric::OrderToPos { millis } => {
                ("OrderToPosLatency", "Milliseconds", *millis, vec![], vec![])
            }
            Metric::OrderCancelled => ("OrdersCancelled", "Count", 1.0, vec![], vec![]),
            Metric::OrderFailed { error } => (
                "OrdersFailed",
                "Count",
                1.0,
                vec![("error", error.clone())],
                vec![],
            ),
            Metric::CatalogueLookups { count } => {
                ("CatalogueLookups", "Count", *count as f64, vec![], vec![])
            }
            Metric::CatalogueCacheMisses { count } => (
                "CatalogueCacheMisses",
                "Count",
                *count as f64,
                vec![],
                vec![],
            ),
            Metric::HandoverStarted => ("HandoversStarted", "Count", 1.0, vec![], vec![]),
            Metric::HandoverRetried { reason } => (
                "HandoversRetried",
                "Count",
                1.0,
                vec![("reason", (*reason).to_owned())],
                vec![],
            ),
            // No dimension: the alarm watches the one series; the status and whether it was
            // re-driven are properties (searchable in Logs Insights, not billed as metrics).
            Metric::OrderStranded { status, redriven } => (
                "OrdersStranded",
                "Count",
                1.0,
                vec![],
                vec![
                    ("status", json!(status.as_str())),
                    ("redriven", json!(redriven)),
                ],
            ),
        };
        let mut dimension_names = vec!["service".to_owned()];
        let mut doc = Map::new();
        doc.insert("service".into(), json!(self.service));
        for (k, v) in dims {
            dimension_names.push(k.to_owned());
            doc.insert(k.to_owned(), json!(v));
        }
        for (k, v) in props {
            doc.insert(k.to_owned(), v);
        }
        doc.insert(name.to_owned(), json!(value));
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dimension_names],
                    "Metrics": [{ "Name": name, "Unit": unit }],
                }],
            }),
        );
        Value::Object(doc)
    }
}

impl Metrics for EmfMetrics {
    fn record(&self, metric: Metric) {
        let doc = self.document(&metric, chrono::Utc::now().timestamp_millis());
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // Metrics must never fail an order: a write error is dropped.
        let _ = writeln!(out, "{doc}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_rejection_is_counted_by_reason_in_emf() {
        let buf = Buf::default();
        let m = EmfMetrics::to_writer("OrderPipeline", "accept-order", Box::new(buf.clone()));
        m.record(Metric::OrderRejected {
            reason: "UnknownItem".into(),
        });
        let line = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let doc: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(doc["OrdersRejected"], 1.0);
        assert_eq!(doc["reason"], "UnknownItem");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            json!(["service", "reason"])
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "OrderPipeline"
        );
    }

    #[test]
    fn pos_latency_is_in_milliseconds() {
        let m = EmfMetrics::to_writer("N", "pos", Box::new(std::io::sink()));
        let doc = m.document(
            &Metric::PosLatency {
                millis: 12.5,
                ok: true,
            },
            0,
        );
        assert_eq!(doc["PosLatency"], 12.5);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
    }
}
