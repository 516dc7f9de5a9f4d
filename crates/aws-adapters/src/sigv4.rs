//! Signature Version 4 for the IAM-authorised HTTP API routes (the catalogue admin route):
//! [`sign`] a request as an AWS SDK does (operators' tools, the tests), and [`verify`] one as
//! API Gateway does before it lets an `AWS_IAM` route through (the local cloud). Both go
//! through AWS's own signer (`aws-sigv4`), so they agree with the SDKs by construction;
//! `verify` is checked against AWS's published test suite (`get-vanilla`).
//!
//! The wording of the refusals is API Gateway's (HTTP 403 with `{"message": …}`).

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};

/// How far a request's `X-Amz-Date` may be from the receiver's clock: 5 minutes (AWS General
/// Reference, "Signature Version 4 signing": a signature is valid for five minutes).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The credentials a request is signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header, or not a SigV4 one (API Gateway: 403 `Forbidden`).
    #[error("Forbidden")]
    Missing,
    /// The `Authorization` header is malformed.
    #[error("Authorization header requires '{0}' parameter.")]
    Malformed(&'static str),
    /// The access key is not known to the receiver.
    #[error("The security token included in the request is invalid.")]
    UnknownKey(String),
    /// The request's time is more than [`MAX_CLOCK_SKEW`] in the past.
    #[error("Signature expired: {0} is now earlier than {1} ({1} - 5 min.)")]
    Expired(String, String),
    /// The request's time is more than [`MAX_CLOCK_SKEW`] in the future.
    #[error("Signature not yet current: {0} is still later than {1} ({1} + 5 min.)")]
    NotYetCurrent(String, String),
    /// The credential is scoped to another service, region or date than the request's.
    #[error("Credential should be scoped to {0}.")]
    WrongScope(String),
    /// The signature does not match the request.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
    /// The request could not be signed (a header or URI the signer cannot take).
    #[error("the request cannot be signed: {0}")]
    Unsignable(String),
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
/// Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key_id: String,
    /// The scope's date (`YYYYMMDD`).
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service (`execute-api`).
    pub service: String,
    /// The signed headers, lower case, as listed.
    pub signed_headers: Vec<String>,
    /// The signature, hex.
    pub signature: String,
}

impl Authorization {
    /// Checks the credential's scope names `service` in `region`, as a receiver that is that
    /// service in that region requires.
    pub fn check_scope(&self, service: &str, region: &str) -> Result<(), SigV4Error> {
        if self.service != service {
            return Err(SigV4Error::WrongScope(format!(
                "correct service: '{service}'"
            )));
        }
        if self.region != region {
            return Err(SigV4Error::WrongScope(format!(
                "a valid region: '{region}'"
            )));
        }
        Ok(())
    }

    /// Parses the header's value.
    pub fn parse(value: &str) -> Result<Self, SigV4Error> {
        let rest = value
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or(SigV4Error::Missing)?;
        let field = |name: &'static str| {
            rest.split(',')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .ok_or(SigV4Error::Malformed(name))
        };
        let credential = field("Credential")?;
        let mut scope = credential.split('/');
        let mut next = || {
            scope
                .next()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or(SigV4Error::Malformed("Credential"))
        };
        let (access_key_id, date, region, service) = (next()?, next()?, next()?, next()?);
        Ok(Self {
            access_key_id,
            date,
            region,
            service,
            signed_headers: field("SignedHeaders")?
                .split(';')
                .map(str::to_owned)
                .collect(),
            signature: field("Signature")?.to_owned(),
        })
    }
}

/// A request to sign or check.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `PUT`, …
    pub method: &'a str,
    /// To [`sign`]: the URI as sent (`https://host/path?query`, already percent-encoded); to
    /// [`verify`]: the path and query as received.
    pub uri: &'a str,
    /// Its headers (`host` is taken from the URI when absent).
    pub headers: &'a [(&'a str, &'a str)],
    /// Its body.
    pub body: &'a [u8],
}

/// Signs a request for `service` in `region` at time `at`: returns the headers to add
/// (`x-amz-date`, `authorization`, and `x-amz-security-token` for temporary credentials).
/// Every header of the request is signed.
pub fn sign(
    request: &Request<'_>,
    key: &Key,
    region: &str,
    service: &str,
    at: SystemTime,
) -> Result<Vec<(String, String)>, SigV4Error> {
    Ok(signature(request, key, region, service, at)?.added)
}

/// Checks a received request's signature at time `now`; `secret_of` gives the secret (and
/// session token) of an access key the receiver knows. Returns the parsed `Authorization` of a
/// good signature.
pub fn verify(
    request: &Request<'_>,
    secret_of: impl Fn(&str) -> Option<Key>,
    now: SystemTime,
) -> Result<Authorization, SigV4Error> {
    let headers = request.headers;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let auth = Authorization::parse(header("authorization").ok_or(SigV4Error::Missing)?)?;
    let key = secret_of(&auth.access_key_id)
        .ok_or_else(|| SigV4Error::UnknownKey(auth.access_key_id.clone()))?;
    let date = header("x-amz-date").ok_or(SigV4Error::Malformed("X-Amz-Date"))?;
    let at = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| SigV4Error::Malformed("X-Amz-Date"))?
        .and_utc();
    let now_utc = chrono::DateTime::<chrono::Utc>::from(now);
    let skew = (now_utc - at).abs().to_std().unwrap_or(Duration::MAX);
    if skew > MAX_CLOCK_SKEW {
        let now_text = now_utc.format("%Y%m%dT%H%M%SZ").to_string();
        return Err(if at < now_utc {
            SigV4Error::Expired(date.to_owned(), now_text)
        } else {
            SigV4Error::NotYetCurrent(date.to_owned(), now_text)
        });
    }
    if !date.starts_with(&auth.date) {
        return Err(SigV4Error::WrongScope(format!(
            "the request's date ({})",
            &date[..date.len().min(8)]
        )));
    }
    // Only the headers the client signed, as it signed them.
    let signed: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(k, _)| {
            auth.signed_headers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(k))
        })
        .copied()
        .collect();
    let expected = signature(
        &Request {
            headers: &signed,
            ..*request
        },
        &key,
        &auth.region,
        &auth.service,
        SystemTime::from(at),
    )?;
    if expected.signed_headers != auth.signed_headers || expected.signature != auth.signature {
        return Err(SigV4Error::Mismatch);
    }
    Ok(auth)
}

/// What signing produced.
struct Signed {
    /// The headers to add.
    added: Vec<(String, String)>,
    /// The signed header names, as listed.
    signed_headers: Vec<String>,
    /// The signature, hex.
    signature: String,
}

/// Signs `request`.
fn signature(
    request: &Request<'_>,
    key: &Key,
    region: &str,
    service: &str,
    at: SystemTime,
) -> Result<Signed, SigV4Error> {
    let unsignable = |e: &dyn std::fmt::Display| SigV4Error::Unsignable(e.to_string());
    let identity = aws_credential_types::Credentials::new(
        &key.access_key_id,
        &key.secret_access_key,
        key.session_token.clone(),
        None,
        "order-pipeline",
    )
    .into();
    let mut settings = SigningSettings::default();
    // Sign (and check) every header given, as listed; none is left out by name.
    settings.excluded_headers = None;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| unsignable(&e))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.uri,
        request.headers.iter().copied(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| unsignable(&e))?;
    let output = aws_sigv4::http_request::sign(signable, &params).map_err(|e| unsignable(&e))?;
    let signature = output.signature().to_owned();
    let (instructions, _) = output.into_parts();
    let (added, _) = instructions.into_parts();
    let added: Vec<(String, String)> = added
        .into_iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect();
    let signed_headers = added
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| Authorization::parse(v).ok())
        .map(|a| a.signed_headers)
        .unwrap_or_default();
    Ok(Signed {
        added,
        signed_headers,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_key() -> Key {
        // AWS's signing test suite's example credentials.
        Key {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            session_token: None,
        }
    }

    fn at(text: &str) -> SystemTime {
        SystemTime::from(chrono::DateTime::parse_from_rfc3339(text).unwrap())
    }

    #[test]
    fn aws_test_suite_get_vanilla_verifies_and_any_change_to_it_does_not() {
        // aws-signing-test-suite/v4/get-vanilla: GET / to example.amazonaws.com, service
        // "service", us-east-1, 2015-08-30T12:36:00Z; AWS's published signature.
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let headers = [
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", auth),
        ];
        let known = |k: &str| (k == "AKIDEXAMPLE").then(example_key);
        let now = at("2015-08-30T12:38:00Z");
        let req = |method, uri, headers: &'static [(&'static str, &'static str)], body| Request {
            method,
            uri,
            headers,
            body,
        };
        let headers: &'static [(&'static str, &'static str)] = Box::leak(Box::new(headers));
        let ok = verify(&req("GET", "/", headers, b""), known, now).unwrap();
        assert_eq!(ok.service, "service");
        assert_eq!(ok.signed_headers, ["host", "x-amz-date"]);
        // Another path, method or body, another secret, or too late: refused.
        assert_eq!(
            verify(&req("GET", "/other", headers, b""), known, now),
            Err(SigV4Error::Mismatch)
        );
        assert_eq!(
            verify(&req("POST", "/", headers, b""), known, now),
            Err(SigV4Error::Mismatch)
        );
        assert_eq!(
            verify(&req("GET", "/", headers, b"x"), known, now),
            Err(SigV4Error::Mismatch)
        );
        let wrong_secret = |_: &str| {
            Some(Key {
                secret_access_key: "not-it".to_owned(),
                ..example_key()
            })
        };
        assert_eq!(
            verify(&req("GET", "/", headers, b""), wrong_secret, now),
            Err(SigV4Error::Mismatch)
        );
        assert!(matches!(
            verify(
                &req("GET", "/", headers, b""),
                known,
                at("2015-08-30T12:42:00Z")
            ),
            Err(SigV4Error::Expired(..))
        ));
        assert!(matches!(
            verify(
                &req("GET", "/", headers, b""),
                known,
                at("2015-08-30T12:30:00Z")
            ),
            Err(SigV4Error::NotYetCurrent(..))
        ));
        // Scoped to "service" in us-east-1: not to execute-api, nor to another region.
        assert!(ok.check_scope("service", "us-east-1").is_ok());
        assert_eq!(
            ok.check_scope("execute-api", "us-east-1")
                .unwrap_err()
                .to_string(),
            "Credential should be scoped to correct service: 'execute-api'."
        );
        assert!(ok.check_scope("service", "eu-west-3").is_err());
        assert_eq!(
            verify(&req("GET", "/", headers, b""), |_| None, now),
            Err(SigV4Error::UnknownKey("AKIDEXAMPLE".to_owned()))
        );
        assert_eq!(
            verify(&req("GET", "/", &headers[..2], b""), known, now),
            Err(SigV4Error::Missing)
        );
    }

    #[test]
    fn what_sign_signs_verify_accepts_with_its_body_and_session_token() {
        let key = Key {
            session_token: Some("session".to_owned()),
            ..example_key()
        };
        let now = at("2026-12-01T12:00:00Z");
        let body = br#"{"reason":"fryer down"}"#;
        let added = sign(
            &Request {
                method: "PUT",
                uri: "http://127.0.0.1:4000/catalog/stores/S1001/pause",
                headers: &[
                    ("host", "127.0.0.1:4000"),
                    ("content-type", "application/json"),
                ],
                body,
            },
            &key,
            "us-east-1",
            "execute-api",
            now,
        )
        .unwrap();
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", "127.0.0.1:4000"),
            ("content-type", "application/json"),
            ("user-agent", "unsigned"),
        ];
        headers.extend(added.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let known = |k: &str| (k == "AKIDEXAMPLE").then(|| key.clone());
        let received = |body| Request {
            method: "PUT",
            uri: "/catalog/stores/S1001/pause",
            headers: &headers,
            body,
        };
        let ok = verify(&received(body), known, now).unwrap();
        assert!(
            ok.signed_headers
                .contains(&"x-amz-security-token".to_owned())
        );
        assert!(ok.signed_headers.contains(&"content-type".to_owned()));
        let tampered = br#"{"reason":"fryer DOWN"}"#;
        assert_eq!(
            verify(&received(tampered), known, now),
            Err(SigV4Error::Mismatch)
        );
    }
}
