//! What a definition may hold: the workflow types, the Task resources the interpreter runs, and
//! what Express refuses.

use asl::model::{Machine, State};

/// A state machine's type (`CreateStateMachine`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowType {
    /// Exactly-once, up to a year, with an execution history; billed per state transition.
    #[default]
    Standard,
    /// At-least-once (asynchronous), up to five minutes, request-response integrations only;
    /// billed per request and by duration and memory.
    Express,
}

/// The longest an Express execution runs (the Step Functions developer guide, "Choosing
/// workflow type": Express workflows "can run for up to five minutes"). Real time, not
/// scaled: what fills it is retries and task durations, which the local cloud keeps real.
pub const EXPRESS_MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(300);

/// The Task resources the interpreter runs.
pub fn supported_resource(resource: &str) -> bool {
    let integration = resource
        .strip_prefix("arn:aws:states:::")
        .map(|r| r.trim_end_matches(".waitForTaskToken"));
    match integration {
        Some("lambda:invoke" | "events:putEvents") => true,
        Some("states:startExecution" | "sqs:sendMessage") => {
            !resource.ends_with(".waitForTaskToken")
        }
        Some(
            "dynamodb:putItem" | "dynamodb:getItem" | "dynamodb:updateItem" | "dynamodb:deleteItem",
        ) => !resource.ends_with(".waitForTaskToken"),
        Some(_) => false,
        None => resource.starts_with("arn:aws:lambda:") && resource.contains(":function:"),
    }
}

/// Express workflows support request-response integrations only (the developer guide,
/// "Discover service integration patterns": Express "do not support Run a Job (.sync) or
/// Wait for Callback (.waitForTaskToken)"); AWS refuses such a definition at creation.
pub(crate) fn check_express(m: &Machine) -> Result<(), String> {
    for (name, s) in &m.states {
        match s {
            State::Task(t) => {
                for pattern in [".waitForTaskToken", ".sync"] {
                    if t.resource.contains(pattern) {
                        return Err(format!(
                            "SCHEMA_VALIDATION_FAILED: Express state machine does not support '{pattern}' service integration pattern (state {name:?}, resource {:?})",
                            t.resource
                        ));
                    }
                }
            }
            State::Parallel(p) => p.branches.iter().try_for_each(check_express)?,
            State::Map(mp) => {
                if let Some(proc) = mp.processor() {
                    check_express(proc)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn check_resources(m: &Machine) -> Result<(), String> {
    for (name, s) in &m.states {
        match s {
            State::Task(t) if !supported_resource(&t.resource) => {
                return Err(format!(
                    "state {name:?} uses Task resource {:?}, which this interpreter does not support",
                    t.resource
                ));
            }
            State::Parallel(p) => p.branches.iter().try_for_each(check_resources)?,
            State::Map(mp) => {
                if let Some(proc) = mp.processor() {
                    check_resources(proc)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
