//! Requests that run to completion whoever hangs up.
//!
//! An AWS service that has read a whole request carries it out even if the caller then goes
//! away: a Lambda function killed while its `StartExecution` call is in flight still leaves
//! the execution started, and the call's retry (or the message's redelivery) finds it. hyper,
//! under axum, does the opposite by default: when a client's connection closes, the handler's
//! future is dropped wherever it stands (hyper issue 2728), so a local service could be left
//! half done — an execution recorded but never run, a message counted but not stored — in a
//! way AWS never is. [`run_to_completion`] spawns each request's handling as its own task, so
//! it ends as it would on AWS; the answer is simply not read.
//!
//! ```
//! use axum::{Router, routing::post};
//!
//! let router: Router = local_aws_core::detached::run_to_completion(
//!     Router::new().route("/", post(|| async { "done" })),
//! );
//! # let _ = router;
//! ```

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

/// `router` with every request handled in a task of its own, detached from its connection:
/// a client that disconnects no longer cancels the work it asked for.
pub fn run_to_completion<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(middleware::from_fn(detach))
}

async fn detach(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        // The handler panicked: answer as a service's internal error would.
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request's handler failed: {e}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    /// Serves `router`, sends one request on a raw connection and closes it at once, then
    /// reports whether the handler (which takes 200 ms) finished.
    async fn finished_after_hang_up(wrap: bool) -> bool {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let router = Router::new().route(
            "/",
            post(move || async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                flag.store(true, Ordering::SeqCst);
                "done"
            }),
        );
        let router = if wrap {
            run_to_completion(router)
        } else {
            router
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"POST / HTTP/1.1\r\nhost: local\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        // Let the server read the request and enter the handler, then hang up.
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(client);
        tokio::time::sleep(Duration::from_millis(600)).await;
        done.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_request_whose_client_hangs_up_is_carried_out_all_the_same() {
        assert!(finished_after_hang_up(true).await);
    }

    #[tokio::test]
    async fn without_it_hyper_drops_the_handler_when_the_client_hangs_up() {
        // The behaviour the layer exists for: if hyper ever stops cancelling, this says so
        // (and the layer becomes a no-op rather than wrong).
        assert!(!finished_after_hang_up(false).await);
    }
}
