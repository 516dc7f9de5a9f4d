//! Structured logs. Honours Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT`
//! (`JSON` or text) and `AWS_LAMBDA_LOG_LEVEL` (falling back to `RUST_LOG`, then `INFO`).
//! Order and correlation ids travel as span fields; payloads and secrets are never logged.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn level(raw: Option<&str>) -> LevelFilter {
    match raw.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") | Some("FATAL") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// The filter: Lambda's level if set, else `RUST_LOG` directives (`info,my_crate=debug`),
/// else INFO; the SDK's own chatter stays at WARN unless asked for by name.
pub fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let base = match (lambda_level, rust_log) {
        (Some(l), _) => Targets::new().with_default(level(Some(l))),
        (None, Some(directives)) => Targets::from_str(directives)
            .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO)),
        (None, None) => Targets::new().with_default(LevelFilter::INFO),
    };
    let quiet = |t: Targets, target: &str| {
        if t.iter().any(|(name, _)| name == target) {
            t
        } else {
            t.with_target(target, LevelFilter::WARN)
        }
    };
    [
        "aws_smithy_runtime",
        "aws_smithy_http_client",
        "hyper_util",
        "rustls",
    ]
    .into_iter()
    .fold(base, quiet)
}

/// Installs the global subscriber; call once, first thing in `main`.
pub fn init() {
    let filter = filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    // The innermost span only (the use case's: correlation id, request id):
                    // the list repeated the runtime's span, whose request and trace ids Lambda
                    // already records, and CloudWatch Logs bills every byte
                    // (docs/performance.md, Cost).
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .without_time()
                    .with_target(false)
                    .with_ansi(false),
            )
            .try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn lambda_level_names_map_to_tracing_levels() {
        assert_eq!(level(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level(Some("fatal")), LevelFilter::ERROR);
        assert_eq!(level(Some("nonsense")), LevelFilter::INFO);
        assert_eq!(level(None), LevelFilter::INFO);
    }

    #[test]
    fn the_lambda_level_wins_over_rust_log_and_the_sdk_stays_quiet() {
        let f = filter(Some("DEBUG"), Some("error"));
        assert!(f.would_enable("pipeline", &Level::DEBUG));
        assert!(!f.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime", &Level::WARN));
    }

    #[test]
    fn rust_log_directives_apply_when_lambda_sets_no_level() {
        let f = filter(None, Some("warn,pipeline=debug"));
        assert!(f.would_enable("pipeline", &Level::DEBUG));
        assert!(!f.would_enable("partners", &Level::INFO));
    }
}
