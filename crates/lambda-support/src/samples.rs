//! The samples under `events/`: their manifest (which function takes each, and what it must
//! answer), the seed that brings a memory backend to the state the samples expect, and the
//! checks. Used by the handler tests, the sample generator and the memory backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pipeline::PipelineError;
use pipeline::memory::FixedClock;
use pipeline::ports::Clock;
use pipeline::ports::Documents as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ConfigError, Env, vars};
use crate::wiring::{self, Backend, MemoryWorld};

/// The time every sample is signed and generated at.
pub const SAMPLE_TIME: &str = "2026-11-22T18:00:00Z";

/// [`SAMPLE_TIME`] as a time.
pub fn sample_time() -> DateTime<Utc> {
    SAMPLE_TIME.parse().unwrap_or_default()
}

/// What a sample must produce.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expect {
    /// HTTP status (intake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A JSON value the output must contain (objects: these keys at least, recursively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error's `errorType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Text the error message contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_contains: Option<String>,
    /// Detail-types the invocation publishes, in order: stated by every sample, `[]` for one
    /// that publishes nothing (a manifest entry without it does not parse).
    pub publishes: Vec<String>,
    /// What it does to the tables, the POS, the partner and the workflow on the memory
    /// backend. Checked always: absent means it does none of these things.
    #[serde(default, skip_serializing_if = "Effects::is_empty")]
    pub effects: Effects,
    /// A JSON value the canonical order the output's handle names (`/order/document`) must
    /// contain, read back from the memory backend's documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_order: Option<Value>,
}

/// One sample file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Path under `events/`.
    pub file: String,
    /// The function (binary name) that takes it.
    pub function: String,
    /// What it shows.
    pub description: String,
    /// What it must produce at [`SAMPLE_TIME`] on the seeded memory backend.
    pub expect: Expect,
    /// What it produces instead under `cargo lambda watch`, where the clock is real and the
    /// replay window is off (samples carry fixed timestamps), when that differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_under_watch: Option<Expect>,
}

/// `events/manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every sample.
    pub samples: Vec<Sample>,
}

/// One step of the seed: a function input whose effects the samples build on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedStep {
    /// Function name.
    pub function: String,
    /// Its input.
    pub input: Value,
}

/// The repository root (for tests and tools run from the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads `events/manifest.json`.
pub fn load_manifest(root: &Path) -> Result<Manifest, String> {
    let path = root.join("events/manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a sample.
pub fn load_sample(root: &Path, file: &str) -> Result<Value, String> {
    let path = root.join("events").join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads `events/seed.json`.
pub fn load_seed(path: &Path) -> Result<Vec<SeedStep>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The environment the memory backend runs the samples with.
pub fn memory_env(root: &Path) -> Env {
    let events = root.join("events");
    // A small body cap, so the oversize sample stays small (deployed: 1 MiB, proven end to
    // end); `events/watch.env` sets the same.
    let env = Env::from_pairs([
        (vars::BACKEND, "memory"),
        (vars::WEBHOOK_MAX_BODY_BYTES, "65536"),
    ])
    .with(
        vars::WEBHOOK_SECRETS_ID,
        &format!(
            "file:{}",
            events.join("dev-secrets/webhooks.json").display()
        ),
    );
    // One secret per API, as deployed.
    [
        (vars::UBEREATS_CREDENTIALS_ID, "ubereats"),
        (vars::DOORDASH_CREDENTIALS_ID, "doordash"),
        (vars::GRUBHUB_CREDENTIALS_ID, "grubhub"),
        (vars::APP_CREDENTIALS_ID, "app"),
        (vars::POS_CREDENTIALS_ID, "pos"),
    ]
    .into_iter()
    .fold(env, |env, (var, key)| {
        let path = events.join(format!("dev-secrets/{key}.json"));
        env.with(var, &format!("file:{}", path.display()))
    })
}

/// A memory world at [`SAMPLE_TIME`] with the partner fixtures loaded.
pub fn memory_world(root: &Path) -> Result<(Arc<MemoryWorld>, Arc<FixedClock>), String> {
    memory_world_from(&root.join("events"))
}

/// [`memory_world`] with the partner fixtures of the samples directory `events` (`events/`,
/// or a release's snapshot under `compat/`).
fn memory_world_from(events: &Path) -> Result<(Arc<MemoryWorld>, Arc<FixedClock>), String> {
    let clock = Arc::new(FixedClock::at(sample_time()));
    let world = MemoryWorld::new(clock.clone() as Arc<dyn Clock>);
    world
        .partners
        .load_fixtures(&events.join("partners"))
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(world), clock))
}

/// The functions whose input a release writes and another release may read, during a
/// deploy's canary or after it (a held order's hand-back, an event on the bus, a handover in
/// its queue): the workflow steps, the bus targets and the handover. Their samples of each
/// release are kept under `compat/<release>/` (`cargo xtask compat --snapshot`), and today's
/// functions must still answer them as that release's manifest says.
pub const COMPAT_FUNCTIONS: [&str; 8] = [
    "dedup",
    "adapt-order",
    "accept-order",
    "hold-order",
    "pos",
    "release-order",
    "store-status",
    "handover",
];

/// A release's name, `v<major>.<minor>` (`v0.2`), as its major and minor numbers.
pub fn release_version(name: &str) -> Option<(u32, u32)> {
    let (major, minor) = name.strip_prefix('v')?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The newest release snapshot under `compat/` (`compat/v0.N`, the highest N), if any.
pub fn latest_compat_snapshot(root: &Path) -> Option<PathBuf> {
    let version = |p: &Path| release_version(p.file_name()?.to_str()?);
    std::fs::read_dir(root.join("compat"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .filter_map(|p| version(&p).map(|v| (v, p)))
        .max()
        .map(|(_, p)| p)
}

/// Why a step could not run.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The use case failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// It could not be built.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No such function.
    #[error("no function named {0}")]
    UnknownFunction(String),
}

fn parse<T: serde::de::DeserializeOwned>(
    function: &str,
    input: &Value,
) -> Result<T, PipelineError> {
    serde_json::from_value(input.clone())
        .map_err(|e| PipelineError::InvalidInput(format!("{function} input: {e}")))
}

fn out<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The seed step that stores a document, as intake did for a webhook.
pub const DOCUMENTS_STEP: &str = "documents";

/// Runs one workflow-step function's use case on an input (everything but intake), or stores
/// a document ([`DOCUMENTS_STEP`]).
pub async fn run_step(
    backend: &Backend,
    env: &Env,
    function: &str,
    input: &Value,
    deadline: DateTime<Utc>,
) -> Result<Value, StepError> {
    Ok(match function {
        "dedup" => out(wiring::dedup(env, backend)
            .await?
            .handle(input, deadline)
            .await?),
        "adapt-order" => out(wiring::adapt(env, backend)
            .await?
            .handle(parse(function, input)?)
            .await?),
        "accept-order" => out(wiring::accept(env, backend)
            .await?
            .handle(&parse(function, input)?)
            .await?),
        "hold-order" => out(wiring::hold(env, backend)
            .await?
            .handle(&parse(function, input)?)
            .await?),
        "pos" => out(wiring::pos(env, backend)
            .await?
            .handle(&parse(function, input)?)
            .await?),
        "release-order" => out(wiring::release(env, backend)
            .await?
            .handle(&parse(function, input)?)
            .await?),
        "store-status" => out(wiring::store_status(env, backend)
            .await?
            .handle(&parse(function, input)?)
            .await?),
        // A scheduled event: its content is not read, every run sweeps what is overdue.
        "sweeper" => out(wiring::sweeper(env, backend).await?.sweep().await),
        // An SQS batch: the answer is the partial batch response the handler makes.
        "handover" => {
            let records = input["Records"].as_array().cloned().unwrap_or_default();
            let batch: Vec<pipeline::usecases::handover::Delivered<'_>> = records
                .iter()
                .map(|r| pipeline::usecases::handover::Delivered {
                    id: r["messageId"].as_str().unwrap_or_default(),
                    body: r["body"].as_str().unwrap_or_default(),
                })
                .collect();
            let again = wiring::handover(env, backend).await?.handle(&batch).await;
            serde_json::json!({
                "batchItemFailures": again
                    .iter()
                    .map(|id| serde_json::json!({ "itemIdentifier": id }))
                    .collect::<Vec<_>>()
            })
        }
        // What intake stored when it took a webhook: a seed step of its own, since intake is
        // not a workflow step (`{"prefix", "body"}`, the body as text).
        DOCUMENTS_STEP => {
            let Backend::Memory(world) = backend else {
                return Err(StepError::UnknownFunction(
                    "documents (a seed step of the memory backend only)".to_owned(),
                ));
            };
            let (Some(prefix), Some(body)) = (input["prefix"].as_str(), input["body"].as_str())
            else {
                return Err(PipelineError::InvalidInput(
                    "a documents step has a prefix and a body".to_owned(),
                )
                .into());
            };
            out(world
                .documents
                .put(prefix, body.as_bytes())
                .await
                .map_err(PipelineError::from)?)
        }
        other => return Err(StepError::UnknownFunction(other.to_owned())),
    })
}

/// Replays a seed into a memory backend. Every step must succeed.
pub async fn replay_seed(
    backend: &Backend,
    env: &Env,
    steps: &[SeedStep],
    deadline: DateTime<Utc>,
) -> Result<(), String> {
    for (i, step) in steps.iter().enumerate() {
        run_step(backend, env, &step.function, &step.input, deadline)
            .await
            .map_err(|e| format!("seed step {i} ({}) failed: {e}", step.function))?;
    }
    Ok(())
}

/// Checks that `actual` contains `expected`: equal scalars, arrays of the same length whose
/// elements contain the expected ones, and objects with at least the expected keys,
/// recursively. Returns the first difference with its path.
pub fn contains(expected: &Value, actual: &Value) -> Result<(), String> {
    fn walk(path: &str, e: &Value, a: &Value) -> Result<(), String> {
        match (e, a) {
            (Value::Object(em), Value::Object(am)) => {
                for (k, ev) in em {
                    let p = format!("{path}/{k}");
                    match am.get(k) {
                        Some(av) => walk(&p, ev, av)?,
                        None => return Err(format!("{p} is missing")),
                    }
                }
                Ok(())
            }
            (Value::Array(ea), Value::Array(aa)) if ea.len() == aa.len() => ea
                .iter()
                .zip(aa)
                .enumerate()
                .try_for_each(|(i, (ev, av))| walk(&format!("{path}/{i}"), ev, av)),
            _ if e == a => Ok(()),
            _ => Err(format!("{path}: expected {e}, got {a}")),
        }
    }
    walk("", expected, actual)
}

/// Checks an invocation's result against an expectation: `Ok(output)` or
/// `Err((errorType, message))`, and the detail-types it published.
pub fn check(
    expect: &Expect,
    result: &Result<Value, (String, String)>,
    published: &[String],
) -> Result<(), String> {
    match result {
        Ok(output) => {
            if let Some(t) = &expect.error_type {
                return Err(format!("expected error {t}, got output {output}"));
            }
            if let Some(status) = expect.status {
                let got = output.get("statusCode").and_then(Value::as_u64);
                if got != Some(u64::from(status)) {
                    return Err(format!("expected HTTP {status}, got {got:?}: {output}"));
                }
            }
            if let Some(e) = &expect.output {
                contains(e, output)
                    .map_err(|d| format!("output differs at {d}; output was {output}"))?;
            }
        }
        Err((error_type, message)) => {
            match &expect.error_type {
                Some(t) if t == error_type => {}
                _ => return Err(format!("unexpected error {error_type}: {message}")),
            }
            if let Some(part) = &expect.message_contains
                && !message.contains(part.as_str())
            {
                return Err(format!("error message {message:?} lacks {part:?}"));
            }
        }
    }
    if expect.publishes.as_slice() != published {
        return Err(format!(
            "expected to publish {:?}, published {published:?}",
            expect.publishes
        ));
    }
    Ok(())
}

/// The canonical order an output's handle (`/order/document`) names, from the world's
/// documents.
pub async fn stored_order(world: &MemoryWorld, output: &Value) -> Result<Value, String> {
    let r: order_events::DocumentRef = serde_json::from_value(output["order"]["document"].clone())
        .map_err(|e| format!("the output names no document ({e}): {output}"))?;
    let body = world
        .documents
        .get(&r)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("document {} was not stored", r.key))?;
    serde_json::from_slice(&body).map_err(|e| format!("document {}: {e}", r.key))
}

/// Runs every manifest sample of `function` through `invoke` (which builds the function's
/// use case on the given backend and calls its handler), each on a fresh memory world at
/// [`SAMPLE_TIME`] with the seed replayed, and checks each expectation. Returns the number
/// of samples checked, or every failure.
pub async fn check_function_samples<F, Fut>(
    function: &str,
    mut invoke: F,
) -> Result<usize, Vec<String>>
where
    F: FnMut(Backend, Env, Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, (String, String)>>,
{
    let root = repo_root();
    let mut failures = Vec::new();
    let mut checked = check_samples_in(
        &root,
        &root.join("events"),
        function,
        false,
        &mut invoke,
        &mut failures,
    )
    .await;
    if checked == 0 {
        failures.push(format!("the manifest has no sample for {function}"));
    }
    // What the previous release wrote, read by today's function: its answer and what it
    // publishes as that release's manifest says (not its effects on the memory world, which
    // a release may change on purpose).
    if COMPAT_FUNCTIONS.contains(&function) {
        match latest_compat_snapshot(&root) {
            Some(snapshot) => {
                let mut older = Vec::new();
                let ran =
                    check_samples_in(&root, &snapshot, function, true, &mut invoke, &mut older)
                        .await;
                if ran == 0 && older.is_empty() {
                    older.push(format!("the snapshot has no sample for {function}"));
                }
                checked += ran;
                let release = snapshot.file_name().unwrap_or_default().to_string_lossy();
                failures.extend(older.into_iter().map(|f| format!("compat/{release}: {f}")));
            }
            None => failures.push(format!(
                "no release snapshot under {}: the previous release's writes cannot be read back (cargo xtask compat --snapshot)",
                root.join("compat").display()
            )),
        }
    }
    if failures.is_empty() {
        Ok(checked)
    } else {
        Err(failures)
    }
}

/// Runs every sample of `function` in the samples directory `events` (its `manifest.json`,
/// `seed.json` and files), pushing each failure; `compat`: a release snapshot, checked for its
/// answer and what it publishes only. Returns how many it ran.
async fn check_samples_in<F, Fut>(
    root: &Path,
    events: &Path,
    function: &str,
    compat: bool,
    invoke: &mut F,
    failures: &mut Vec<String>,
) -> usize
where
    F: FnMut(Backend, Env, Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, (String, String)>>,
{
    let read = |file: &str| -> Result<Value, String> {
        let path = events.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let setup = || -> Result<(Manifest, Vec<SeedStep>), String> {
        Ok((
            serde_json::from_value(read("manifest.json")?).map_err(|e| e.to_string())?,
            serde_json::from_value(read("seed.json")?).map_err(|e| e.to_string())?,
        ))
    };
    let (manifest, seed) = match setup() {
        Ok(s) => s,
        Err(e) => {
            failures.push(e);
            return 0;
        }
    };
    let env = memory_env(root);
    let mut checked = 0;
    for sample in manifest.samples.iter().filter(|s| s.function == function) {
        let outcome = async {
            let input = read(&sample.file)?;
            let (world, _clock) = memory_world_from(events)?;
            let backend = Backend::Memory(world.clone());
            replay_seed(
                &backend,
                &env,
                &seed,
                sample_time() + chrono::TimeDelta::seconds(30),
            )
            .await?;
            let before = world.publisher.events().len();
            let snapshot = Snapshot::of(&world);
            let result = invoke(backend, env.clone(), input).await;
            let published: Vec<String> = world.publisher.events()[before..]
                .iter()
                .map(|e| e.detail_type.clone())
                .collect();
            check(&sample.expect, &result, &published)?;
            if compat {
                return Ok(());
            }
            if let (Some(want), Ok(output)) = (&sample.expect.stored_order, &result) {
                let stored = stored_order(&world, output).await?;
                contains(want, &stored).map_err(|d| {
                    format!("the stored canonical order differs at {d}; it was {stored}")
                })?;
            }
            let effects = snapshot.effects_since(&world);
            if effects == sample.expect.effects {
                Ok(())
            } else {
                Err(format!(
                    "expected effects {}, got {}",
                    serde_json::to_string(&sample.expect.effects).unwrap_or_default(),
                    serde_json::to_string(&effects).unwrap_or_default()
                ))
            }
        }
        .await;
        checked += 1;
        if let Err(e) = outcome {
            failures.push(format!("{}: {e}", sample.file));
        }
    }
    checked
}

/// A Lambda context for tests: a request id and a deadline 30 s after [`SAMPLE_TIME`].
pub fn test_context(request_id: &str) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = request_id.to_owned();
    ctx.deadline =
        u64::try_from((sample_time() + chrono::TimeDelta::seconds(30)).timestamp_millis())
            .unwrap_or(0);
    ctx
}

/// A function error as the Lambda runtime would report it: `(errorType, errorMessage)`.
pub fn reported_error(e: crate::FunctionError) -> (String, String) {
    let d: lambda_runtime::Diagnostic = e.into();
    (d.error_type, d.error_message)
}

mod effects;
pub use effects::{Effects, Snapshot};

#[cfg(test)]
mod tests;
