//! What an HTTP answer means to a client: when to try again (`Retry-After`) and the error
//! for an answer outside 2xx. Shared by the API clients and the token fetch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pipeline::ports::{ApiError, ErrorKind};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// `Retry-After` as seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The `Retry-After` of an answer, relative to now, if it has one.
pub(crate) fn retry_after_of(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()))
}

/// The error for an answer outside 2xx: transient for 408, 425, 429 and 5xx (worth retrying),
/// permanent otherwise; the message is `{request} answered {status}: ` and the answer's first
/// 300 characters.
pub(crate) fn answered(
    service: &str,
    operation: &str,
    request: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ApiError {
    let kind = match status {
        408 | 425 | 429 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    };
    let snippet: String = String::from_utf8_lossy(body).chars().take(300).collect();
    ApiError {
        status: Some(status),
        retry_after,
        ..ApiError::new(
            kind,
            service,
            operation,
            format!("{request} answered {status}: {snippet}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: DateTime<Utc> = "2026-11-22T18:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 18:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 17:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
