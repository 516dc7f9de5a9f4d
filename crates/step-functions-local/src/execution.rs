//! An execution: its status, state, history and the callbacks it waits for.

use super::*;

/// Execution status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Running.
    Running,
    /// Succeeded.
    Succeeded,
    /// Failed.
    Failed,
    /// Timed out.
    TimedOut,
    /// Stopped.
    Aborted,
}

/// The mutable part of an execution.
#[derive(Debug, Clone)]
pub struct ExecutionState {
    /// Status.
    pub status: Status,
    /// Output, when succeeded.
    pub output: Option<Value>,
    /// Error, when failed.
    pub error: Option<String>,
    /// Cause, when failed.
    pub cause: Option<String>,
    /// When it stopped.
    pub stop: Option<DateTime<Utc>>,
}

/// An execution.
pub struct Execution {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Its state machine.
    pub machine: StateMachine,
    /// Input.
    pub input: Value,
    /// Started.
    pub start: DateTime<Utc>,
    pub(crate) started_at: Instant,
    pub(crate) state: Mutex<ExecutionState>,
    pub(crate) history: Mutex<Vec<HistoryEvent>>,
    pub(crate) done: watch::Sender<bool>,
    pub(crate) abort: watch::Sender<bool>,
    /// What the time scale saved in Wait states: AWS would have spent this much more.
    pub(crate) saved: std::sync::Mutex<std::time::Duration>,
    /// Told when `saved` grows.
    pub(crate) saved_grew: tokio::sync::Notify,
    /// Time its integrations spent waiting on this machine that AWS would not have spent (ns):
    /// reported through [`not_billed`] while it runs.
    pub(crate) not_billed_ns: Arc<std::sync::atomic::AtomicU64>,
    /// A [`Sfn::time_out_when`] fault ended it.
    pub(crate) timed_out_on_purpose: std::sync::atomic::AtomicBool,
}

tokio::task_local! {
    /// The running execution's [`Execution::not_billed`] counter.
    pub(crate) static NOT_BILLED_NS: Arc<std::sync::atomic::AtomicU64>;
}

/// Reports, from inside an integration an execution is awaiting, that `wasted` of the time it
/// took was this machine's doing and would not pass on AWS (for example a Lambda process
/// runnable but waiting for one of two shared cores, or queued for a free process where Lambda
/// would have started another environment). Outside an execution it does nothing.
pub fn not_billed(wasted: std::time::Duration) {
    let ns = u64::try_from(wasted.as_nanos()).unwrap_or(u64::MAX);
    let _ = NOT_BILLED_NS.try_with(|n| n.fetch_add(ns, std::sync::atomic::Ordering::Relaxed));
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("arn", &self.arn)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Execution {
    /// A snapshot of its status and result.
    pub async fn snapshot(&self) -> ExecutionState {
        self.state.lock().await.clone()
    }

    /// Its status, without copying its output (a watcher asking thousands of executions many
    /// times a second copied each one's final state with [`Execution::snapshot`]).
    pub async fn status(&self) -> Status {
        self.state.lock().await.status
    }

    /// Its history so far.
    pub async fn history(&self) -> Vec<HistoryEvent> {
        self.history.lock().await.clone()
    }

    /// The states it entered, in order.
    pub async fn path(&self) -> Vec<String> {
        self.history
            .lock()
            .await
            .iter()
            .filter_map(|e| e.entered_state().map(str::to_owned))
            .collect()
    }

    /// Waits until it ends, whenever it ended: the end is kept in the channel (see
    /// [`watch::Sender::send_replace`]), so an execution that ended before this call returns
    /// at once.
    pub async fn finished(&self) -> ExecutionState {
        let mut rx = self.done.subscribe();
        // `wait_for` looks at the current value first, then at every change.
        let _ = rx.wait_for(|done| *done).await;
        self.snapshot().await
    }

    /// How long it ran (so far).
    pub fn elapsed(&self) -> std::time::Duration {
        self.started_at.elapsed()
    }

    /// How long it would have run on AWS so far: [`Execution::elapsed`] plus what the time
    /// scale saved in its Wait states. An Express execution's five minutes are counted so.
    pub fn aws_elapsed(&self) -> std::time::Duration {
        self.started_at.elapsed() + *self.saved.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What its integrations reported through [`not_billed`] so far: wall time this machine
    /// added that AWS would not have (an Express execution's billed duration leaves it out).
    pub fn not_billed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(
            self.not_billed_ns
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Records, as a wait begins, that a wait of `unscaled` will take `scaled`.
    pub(crate) fn saved_waiting(&self, unscaled: std::time::Duration, scaled: std::time::Duration) {
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) += unscaled.saturating_sub(scaled);
        self.saved_grew.notify_one();
    }

    pub(crate) async fn record(
        &self,
        kind: &str,
        details_key: Option<&str>,
        details: Value,
    ) -> HistoryEvent {
        let mut h = self.history.lock().await;
        let id = h.len() as u64 + 1;
        let event = HistoryEvent::new(id, kind, details_key, details);
        h.push(event.clone());
        event
    }
}

/// A task waiting for its token.
pub(crate) struct Waiter {
    pub(crate) machine: String,
    pub(crate) reply: oneshot::Sender<Result<Value, AslError>>,
    pub(crate) heartbeat: watch::Sender<Instant>,
}
