//! Asynchronous (`Event`) invocations, as Lambda's internal queue runs them: accepted, retried
//! after a function error or a throttle, and sent to the on-failure destination at the end.

use super::*;

/// The largest asynchronous (`Event`) request, bytes: 1 MB (the Invoke API reference: "For
/// asynchronous invocations, the maximum payload size is 1 MB").
pub const ASYNC_PAYLOAD_LIMIT_BYTES: usize = 1024 * 1024;

/// The ARN of an invocation of `function` (a name, qualified or not) of ARN `arn`: the ARN
/// with the invocation's qualifier, if it named one.
fn qualified_arn(arn: &str, function: &str) -> String {
    match function.split_once(':') {
        Some((_, qualifier)) => format!("{arn}:{qualifier}"),
        None => arn.to_owned(),
    }
}

/// The waits before Lambda's retries of a failed asynchronous invocation: one minute, then two
/// (the Lambda Developer Guide, "Error handling and automatic retries in Lambda": "Lambda
/// retries the function twice more, with a one-minute wait between the first two attempts,
/// and two minutes between the second and third"). Real time at any time scale.
pub const ASYNC_RETRY_WAITS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// How much later than its first attempt an asynchronous invocation's last retry may start,
/// seconds: the sum of [`ASYNC_RETRY_WAITS`] (3 minutes).
pub const ASYNC_RETRY_BUDGET_SECONDS: f64 = 180.0;
const _: () = assert!(
    ASYNC_RETRY_WAITS[0].as_secs() + ASYNC_RETRY_WAITS[1].as_secs()
        == ASYNC_RETRY_BUDGET_SECONDS as u64
);

impl Lambda {
    /// Asynchronous invocations accepted and not yet ended (running, waiting out a retry's
    /// wait, or being sent to the on-failure destination): Lambda's internal queue. Zero
    /// means no event has a retry still to come.
    pub fn queued_events(&self) -> usize {
        self.queued_events.count()
    }

    /// Invokes a function asynchronously (Event), as Lambda's internal queue does: a request
    /// over [`ASYNC_PAYLOAD_LIMIT_BYTES`] is refused (`RequestTooLargeException`, the `Err`);
    /// otherwise it is accepted and run in the background. A function error is retried the
    /// function's `MaximumRetryAttempts` times (after 1 and 2 minutes, [`ASYNC_RETRY_WAITS`]);
    /// a throttle (`TooManyRequestsException`) is retried with backoff without counting as
    /// one; an event older than its `MaximumEventAgeInSeconds` is not run again. Either end
    /// goes to the function's on-failure destination (`RetriesExhausted` or
    /// `EventAgeExceeded`). The waits and the age are real time in the cloud, never scaled
    /// by the workflows' time scale (see [`LambdaConfig::async_wait_scale`]).
    pub fn invoke_async(
        self: &Arc<Self>,
        function: &str,
        payload: Value,
    ) -> Result<(), (String, String)> {
        if payload.to_string().len() > ASYNC_PAYLOAD_LIMIT_BYTES {
            return Err((
                "RequestTooLargeException".to_owned(),
                format!(
                    "Request must be smaller than {ASYNC_PAYLOAD_LIMIT_BYTES} bytes for the Invoke operation"
                ),
            ));
        }
        // Lambda refuses an event for a function or qualifier it does not have at once, so the
        // caller (a rule) retries and dead-letters it; it is never accepted and then lost.
        if self.pool(function).is_none() {
            return Err((
                "ResourceNotFoundException".to_owned(),
                format!(
                    "Function not found: arn:aws:lambda:{}:{}:function:{function}",
                    crate::app::REGION,
                    crate::app::ACCOUNT
                ),
            ));
        }
        let me = self.clone();
        let function = function.to_owned();
        let queued = self.queued_events.enter();
        tokio::spawn(async move {
            let _queued = queued;
            let (retries, max_age) = me.pool(&function).map_or((0, 0), |p| {
                (p.function.async_retries, p.function.max_event_age_seconds)
            });
            let scale = me.config.async_wait_scale;
            let accepted = Instant::now();
            let age = || accepted.elapsed().as_secs_f64() * scale.factor();
            let mut errors = 0_u32;
            let mut throttles = 0_u32;
            let (condition, last) = loop {
                let outcome = me.invoke(&function, payload.clone()).await;
                let throttled = matches!(&outcome, Outcome::Err { error_type, .. } if error_type == "TooManyRequestsException");
                let wait = match &outcome {
                    Outcome::Ok(_) => return,
                    _ if throttled => {
                        throttles += 1;
                        // Lambda backs off throttled events from 1 second to 5 minutes.
                        Duration::from_secs_f64(2_f64.powi(throttles.min(9) as i32).min(300.0))
                    }
                    _ if errors >= retries => break ("RetriesExhausted", outcome),
                    _ => {
                        errors += 1;
                        ASYNC_RETRY_WAITS[(errors as usize - 1).min(ASYNC_RETRY_WAITS.len() - 1)]
                    }
                };
                if age() + wait.as_secs_f64() > max_age as f64 {
                    break ("EventAgeExceeded", outcome);
                }
                scale.sleep(wait).await;
            };
            let destination = me
                .pool(&function)
                .and_then(|p| p.function.on_failure.clone());
            let Outcome::Err {
                error_type,
                error_message,
            } = last
            else {
                return;
            };
            tracing::warn!(%function, %error_type, condition, "async invocation dropped");
            let record = json!({
                "requestContext": { "functionArn": me.pool(&function).map(|p| qualified_arn(&p.function.arn, &function)), "condition": condition, "approximateInvokeCount": errors + throttles + 1 },
                "requestPayload": payload,
                "responsePayload": { "errorType": error_type, "errorMessage": error_message },
            });
            // Lambda writes to the destination with the function's execution role.
            let caller = me
                .config
                .iam
                .function_caller(unqualified(&function))
                .unwrap_or_else(|| crate::iam::Caller::Service("lambda.amazonaws.com".into()));
            me.queues
                .send(
                    &caller,
                    None,
                    destination.as_deref().unwrap_or("(no destination)"),
                    record,
                )
                .await;
        });
        Ok(())
    }
}
