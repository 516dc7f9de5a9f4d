//! HTTP clients for the partner APIs and the stores' POS API, implementing the pipeline's
//! `PartnerApi` and `PosApi` ports.
//!
//! Every call has connect and request timeouts, retries transient failures (connection
//! errors, timeouts, 408, 429, 5xx) with full-jitter exponential backoff, honours
//! `Retry-After` on 429/503 when it fits the retry budget, and classifies what it finally
//! returns as transient or permanent so the workflow knows whether to retry later.

mod answer;
pub mod auth;
mod json_http;
pub mod partner;
pub mod pos;
pub mod sealed;

pub use auth::{Authorizer, TokenCache};
pub use json_http::{
    HttpSettings, JsonHttp, RetryPolicy, build_client, check_api_url, parse_retry_after,
};
pub use partner::PartnerHttpClient;
pub use pos::PosHttpClient;
