//! Structured logs. Honours Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT`
//! (`JSON` or text) and `AWS_LAMBDA_LOG_LEVEL` (falling back to `RUST_LOG`, then `INFO`).
//! Order and correlation ids travel as span fields; payloads and secrets are never logged.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

fn level(raw: Option<&str>) -> LevelFilter {
    match raw.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") | Some("FATAL") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// Installs the global subscriber; call once, first thing in `main`.
pub fn init() {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let filter = match (&lambda_level, std::env::var("RUST_LOG").ok()) {
        (Some(l), _) => EnvFilter::default().add_directive(level(Some(l)).into()),
        (None, Some(directives)) => {
            EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
        }
        (None, None) => EnvFilter::default().add_directive(LevelFilter::INFO.into()),
    }
    // The SDK's own chatter stays at WARN unless asked for explicitly.
    .add_directive(
        "aws_smithy_runtime=warn"
            .parse()
            .unwrap_or_else(|_| LevelFilter::WARN.into()),
    )
    .add_directive(
        "aws_config=warn"
            .parse()
            .unwrap_or_else(|_| LevelFilter::WARN.into()),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_level_names_map_to_tracing_levels() {
        assert_eq!(level(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level(Some("fatal")), LevelFilter::ERROR);
        assert_eq!(level(Some("nonsense")), LevelFilter::INFO);
        assert_eq!(level(None), LevelFilter::INFO);
    }
}
