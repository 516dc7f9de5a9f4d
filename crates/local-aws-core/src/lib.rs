//! What the local AWS services of this workspace share (the
//! [`step-functions-local`](../step_functions_local/index.html) and
//! [`eventbridge-local`](../eventbridge_local/index.html) crates, and the local cloud that
//! wires them):
//!
//! * [`aws_json`]: the AWS JSON protocols (awsJson1_0 and awsJson1_1) the SDKs speak to
//!   Step Functions, DynamoDB, EventBridge and Secrets Manager;
//! * [`ACCOUNT`], [`REGION`] and [`arn`]: the one local account and region;
//! * [`Authorizer`]: the seam through which a service asks whether a caller may act (IAM in
//!   the local cloud, [`AllowAll`] for a service used on its own);
//! * [`clock::TimeScale`]: waits made shorter, so a workflow that waits hours runs in minutes;
//! * [`seeded`]: fault draws that repeat with a seed whatever order requests arrive in;
//! * [`detached`]: requests carried out whoever hangs up, as AWS carries them out;
//! * [`in_flight`]: work accepted and not yet finished, for a run that waits for quiet;
//! * [`usage`]: where a service counts what AWS would bill it for (the local cloud's meter).
//!
//! ```
//! use local_aws_core::{ACCOUNT, AllowAll, Authorizer, arn};
//!
//! let queue = arn("sqs", "orders-dlq");
//! assert_eq!(queue, format!("arn:aws:sqs:us-east-1:{ACCOUNT}:orders-dlq"));
//! let headers = http::HeaderMap::new();
//! assert!(AllowAll.authorize(&headers, "sqs:SendMessage", &queue).is_ok());
//! ```

pub mod aws_json;
pub mod clock;
pub mod detached;
pub mod in_flight;
pub mod quota;
pub mod seeded;
pub mod usage;

/// Region of the local services.
pub const REGION: &str = "us-east-1";
/// Account id of the local services.
pub const ACCOUNT: &str = "000000000000";

/// `arn:aws:<service>:<REGION>:<ACCOUNT>:<rest>`.
pub fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

/// Decides whether the caller who signed a request may take an action on a resource, as IAM
/// would for the deployed stack.
pub trait Authorizer: Send + Sync {
    /// `Ok` when the caller that signed `headers` (by its access key) may take `action`
    /// (`service:Operation`, e.g. `states:StartExecution`) on `resource` (an ARN, or `*`);
    /// otherwise the message of the `AccessDeniedException` AWS would answer, naming the
    /// caller, the action and the resource.
    fn authorize(
        &self,
        headers: &http::HeaderMap,
        action: &str,
        resource: &str,
    ) -> Result<(), String>;

    /// [`Self::authorize`] with the request's condition keys (`events:source` and
    /// `events:detail-type` for each `PutEvents` entry, as EventBridge evaluates them), which
    /// a policy's `Condition` may test.
    fn authorize_in(
        &self,
        headers: &http::HeaderMap,
        action: &str,
        resource: &str,
        context: &[(&'static str, String)],
    ) -> Result<(), String>;
}

/// Allows every call: for a service used on its own, without IAM.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &http::HeaderMap, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }

    fn authorize_in(
        &self,
        _: &http::HeaderMap,
        _: &str,
        _: &str,
        _: &[(&'static str, String)],
    ) -> Result<(), String> {
        Ok(())
    }
}
