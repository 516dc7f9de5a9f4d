//! A release deployed over a running cloud, as `sam deploy` deploys it on AWS: CloudFormation
//! publishes a new version of every function and state machine with `AutoPublishAlias`, and
//! CodeDeploy (functions) or Step Functions (state machines) shifts each `live` alias to it by
//! the resource's `DeploymentPreference`, watching its alarms; an alarm in alarm rolls every
//! alias back (the stack update fails and CloudFormation rolls it back). What already runs is
//! untouched: an execution keeps the state machine version it started on, and its Lambda
//! tasks call the functions' `live` aliases, so a rollback reaches it. Before any traffic
//! moves, each function's `PreTraffic` hook checks its new version.
//!
//! A release here is a checkout (its `infra/template.yaml` and `statemachines/`) and its build
//! (a directory of the functions' binaries). It may change code and definitions, not
//! resources: a release that adds or removes a function or a state machine needs the cloud
//! started again, as a stack update that adds resources is more than a code deploy.

pub mod alarms;
pub mod drill;
pub mod prune;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::{App, Overrides};
use crate::cloud::LocalCloud;
use crate::lambda::AliasRouting;

/// A release to deploy: a checkout and the build of its functions.
#[derive(Debug, Clone)]
pub struct Release {
    /// The checkout: its `infra/template.yaml`, and the definitions it names.
    pub root: PathBuf,
    /// The functions' binaries (`target/debug`, `target/release`).
    pub bin_dir: PathBuf,
}

impl Release {
    fn template(&self) -> PathBuf {
        self.root.join("infra/template.yaml")
    }
}

/// How an alias moves to a new version: the new version's share, held for an interval, step
/// by step, then all of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shift {
    /// All at once.
    AllAtOnce,
    /// `percent` for `minutes`, then all.
    Canary {
        /// The new version's share first, percent.
        percent: f64,
        /// How long, minutes.
        minutes: f64,
    },
    /// `percent` more every `minutes` until all.
    Linear {
        /// Each step's increment, percent.
        percent: f64,
        /// Between steps, minutes.
        minutes: f64,
    },
}

impl Shift {
    /// A function's `DeploymentPreference.Type`: CodeDeploy's predefined Lambda
    /// configurations, `Canary<P>Percent<M>Minutes`, `Linear<P>PercentEvery<M>Minute(s)` and
    /// `AllAtOnce` (the CodeDeploy User Guide, "Deployment configurations on an AWS Lambda
    /// compute platform").
    pub fn of_function(kind: &str) -> Result<Shift, String> {
        let number = |s: &str| s.parse::<f64>().ok();
        let parsed = if kind == "AllAtOnce" {
            Some(Shift::AllAtOnce)
        } else if let Some(rest) = kind.strip_prefix("Canary") {
            rest.split_once("Percent").and_then(|(p, m)| {
                Some(Shift::Canary {
                    percent: number(p)?,
                    minutes: number(m.strip_suffix("Minutes")?)?,
                })
            })
        } else if let Some(rest) = kind.strip_prefix("Linear") {
            rest.split_once("PercentEvery").and_then(|(p, m)| {
                let m = m
                    .strip_suffix("Minutes")
                    .or_else(|| m.strip_suffix("Minute"))?;
                Some(Shift::Linear {
                    percent: number(p)?,
                    minutes: number(m)?,
                })
            })
        } else {
            None
        };
        parsed.ok_or_else(|| format!("{kind:?} is not a CodeDeploy Lambda configuration"))
    }

    /// A state machine's `DeploymentPreference`: `Type` `CANARY`, `LINEAR` (with `Percentage`
    /// and `Interval`, minutes) or `ALL_AT_ONCE`.
    pub fn of_state_machine(
        kind: &str,
        percentage: Option<f64>,
        interval: Option<f64>,
    ) -> Result<Shift, String> {
        let need = |v: Option<f64>, what: &str| {
            v.ok_or_else(|| format!("a {kind} deployment preference needs {what}"))
        };
        Ok(match kind {
            "ALL_AT_ONCE" => Shift::AllAtOnce,
            "CANARY" => Shift::Canary {
                percent: need(percentage, "Percentage")?,
                minutes: need(interval, "Interval")?,
            },
            "LINEAR" => Shift::Linear {
                percent: need(percentage, "Percentage")?,
                minutes: need(interval, "Interval")?,
            },
            other => return Err(format!("{other:?} is not CANARY, LINEAR or ALL_AT_ONCE")),
        })
    }

    /// The new version's shares (0 to 1), each held for its minutes, before it takes all.
    pub fn steps(self) -> Vec<(f64, f64)> {
        match self {
            Shift::AllAtOnce => Vec::new(),
            Shift::Canary { percent, minutes } => vec![(percent / 100.0, minutes)],
            Shift::Linear { percent, minutes } => {
                let step = (percent / 100.0).clamp(0.01, 1.0);
                let mut out = Vec::new();
                let mut share = step;
                while share < 1.0 - 1e-9 {
                    out.push((share, minutes));
                    share += step;
                }
                out
            }
        }
    }
}

/// What moves in a deployment: a function's alias or a state machine's.
#[derive(Debug, Clone)]
enum Alias {
    Function { name: String },
    StateMachine { arn: String, alias: String },
}

/// One alias's deployment.
#[derive(Debug, Clone)]
struct Target {
    /// The resource's logical id.
    id: String,
    alias: Alias,
    from: u32,
    to: u32,
    shift: Shift,
    /// The alarms it watches, evaluated here.
    watches: Vec<(String, alarms::Watch)>,
    /// The logical id of its `PreTraffic` hook function, if it has one.
    pre_traffic: Option<String>,
}

/// How a deploy is run.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// What the preferences' minutes are divided by (the cloud's time scale: a canary's five
    /// minutes pass in five seconds at 60×).
    pub minutes_scale: f64,
    /// How often the alarms are read while traffic shifts.
    pub poll: Duration,
}

/// What a deploy did.
#[derive(Debug, Clone, Default)]
pub struct DeployReport {
    /// Each alias moved: `(logical id, from version, to version)`.
    pub shifted: Vec<(String, u32, u32)>,
    /// What rolled it back (an alarm in alarm, or a `PreTraffic` hook that reported
    /// `Failed` or nothing), and what it measured, if anything did.
    pub rolled_back: Option<(String, String)>,
    /// The `PreTraffic` hook executions that reported `Succeeded`, before any traffic moved.
    pub hooks_passed: usize,
    /// Alarms the preferences name that are not evaluated here, each with why.
    pub unevaluated: BTreeSet<String>,
    /// The version the functions were published as.
    pub version: u32,
    /// When the new versions were published, epoch seconds.
    pub published_at: f64,
    /// How long it took, seconds.
    pub seconds: f64,
}

impl std::fmt::Display for DeployReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let moved: Vec<String> = self
            .shifted
            .iter()
            .map(|(id, from, to)| format!("{id} {from}→{to}"))
            .collect();
        match &self.rolled_back {
            Some((alarm, why)) => write!(
                f,
                "rolled back after {:.0} s by {alarm} ({why}); every alias back on its version",
                self.seconds
            )?,
            None => write!(f, "deployed in {:.0} s: {}", self.seconds, moved.join(", "))?,
        }
        if !self.unevaluated.is_empty() {
            write!(
                f,
                "\n  not evaluated here: {}",
                self.unevaluated
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )?;
        }
        Ok(())
    }
}

/// Deploys `release` over `cloud`: publishes every function's new build and every state
/// machine's new definition as their next versions, then shifts each alias by its
/// preference while its alarms stay quiet, or rolls every alias back. `Err` is a release that
/// cannot be deployed over this cloud (its resources differ, a build is missing, a definition
/// is refused), with nothing shifted.
pub async fn deploy(
    cloud: &Arc<LocalCloud>,
    release: &Release,
    opts: &DeployOptions,
) -> Result<DeployReport, String> {
    let started = Instant::now();
    if cloud.topology != crate::topology::Topology::Split {
        return Err("deploy runs over the template's own (split) topology".to_owned());
    }
    let functions: Vec<&crate::app::Function> = cloud
        .app
        .functions
        .iter()
        .filter(|f| f.alias.is_some())
        .collect();
    let next = next_version(cloud, &functions)?;
    let app = App::load(
        &release.template(),
        &Overrides {
            parameters: cloud.overrides.parameters.clone(),
            version: Some(next),
        },
    )
    .map_err(|e| format!("the release's template: {e}"))?;
    same_resources(&cloud.app, &app)?;
    let template = sam_template::Template::load(&release.template())
        .map_err(|e| format!("the release's template: {e}"))?;
    // The stack update's new policies first (the hook's grants name the new versions).
    let previous_policies = match &cloud.iam_source {
        Some(source) => {
            let (source, template_path) = (source.clone(), release.template());
            let resolver = app.resolver.clone();
            let release_iam = tokio::task::spawn_blocking(move || {
                let cfn = crate::iam::transform(&source.root, &template_path, &source.cache_dir)
                    .map_err(|e| e.to_string())?;
                crate::iam::Iam::load(&cfn, &resolver, &source.stack).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("reading the release's IAM: {e}"))?
            .map_err(|e| format!("the release's IAM: {e}"))?;
            Some(cloud.iam.deploy_policies(&release_iam)?)
        }
        None => None,
    };
    let restore = |cloud: &LocalCloud| {
        if let Some(p) = previous_policies.clone() {
            cloud.iam.restore_policies(p);
        }
    };
    let published = publish(cloud, release, &app, &template, &functions).await;
    let (mut report, targets) = match published {
        Ok(p) => p,
        Err(e) => {
            restore(cloud);
            return Err(e);
        }
    };
    report.version = next;
    report.published_at = chrono::Utc::now().timestamp_micros() as f64 / 1e6;

    // What deploys at once (a function whose preference is disabled: the hook itself) moves
    // first, as the stack update changes it before CodeDeploy's deployments begin; then each
    // gradual deployment's PreTraffic hook, before any traffic.
    let at_once = |t: &&Target| {
        matches!(t.alias, Alias::Function { .. })
            && t.shift == Shift::AllAtOnce
            && t.watches.is_empty()
            && t.pre_traffic.is_none()
    };
    for t in targets.iter().filter(at_once) {
        route(cloud, t, None).await?;
    }
    let (passed, hook_failure) = pre_traffic(cloud, &app, &targets).await;
    report.hooks_passed = passed;
    let rolled_back = match hook_failure {
        Some(failure) => Some(failure),
        None => shift_all(cloud, &targets, opts).await?,
    };
    if rolled_back.is_some() {
        for t in &targets {
            let back = Target {
                to: t.from,
                ..t.clone()
            };
            route(cloud, &back, None).await?;
        }
        restore(cloud);
    } else {
        report.shifted = targets
            .iter()
            .map(|t| (t.id.clone(), t.from, t.to))
            .collect();
    }
    report.rolled_back = rolled_back;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Publishes every function's new build and every state machine's new definition as their
/// next versions (nothing routed yet), with the release's configuration, and what each
/// alias's deployment will be.
async fn publish(
    cloud: &Arc<LocalCloud>,
    release: &Release,
    app: &App,
    template: &sam_template::Template,
    functions: &[&crate::app::Function],
) -> Result<(DeployReport, Vec<Target>), String> {
    let mut report = DeployReport::default();
    let mut targets = Vec::new();
    for f in functions {
        let version = cloud
            .lambda
            .publish_version(&f.name, &release.bin_dir, app.function(&f.name))
            .await?;
        let resource = template
            .resource(&f.logical_id)
            .ok_or_else(|| format!("the release has no {}", f.logical_id))?;
        let shift = match template.deployment_preference(&resource) {
            Some(p) => {
                let kind = resolve_kind(&p.kind, app)?;
                let watches = watches(&template.json, &p.alarms, &mut report.unevaluated);
                (Shift::of_function(&kind)?, watches, p.pre_traffic)
            }
            None => (Shift::AllAtOnce, Vec::new(), None),
        };
        targets.push(Target {
            id: f.logical_id.clone(),
            alias: Alias::Function {
                name: f.name.clone(),
            },
            // The version the alias is on, not the one before this: after a rolled-back
            // deploy they differ, and the rejected build must take no traffic again.
            from: cloud
                .lambda
                .alias_routing(&f.name)
                .map_or(version - 1, |r| r.version),
            to: version,
            shift: shift.0,
            watches: shift.1,
            pre_traffic: shift.2,
        });
    }
    cloud
        .lambda
        .ready(Duration::from_secs(60))
        .await
        .map_err(|e| format!("the new versions do not start: {e}"))?;
    for m in app.state_machines.iter() {
        let Some(alias) = m.alias.clone() else {
            continue;
        };
        let version = cloud
            .sfn
            .publish_version(&m.arn, &m.json)
            .await
            .map_err(|e| format!("{}: {e}", m.logical_id))?;
        let resource = template
            .resource(&m.logical_id)
            .ok_or_else(|| format!("the release has no {}", m.logical_id))?;
        let (shift, watches) = match template.deployment_preference(&resource) {
            Some(p) => (
                Shift::of_state_machine(
                    &resolve_kind(&p.kind, app)?,
                    p.percentage,
                    p.interval_minutes,
                )?,
                watches(&template.json, &p.alarms, &mut report.unevaluated),
            ),
            None => (Shift::AllAtOnce, Vec::new()),
        };
        // The version the alias is on (after a rolled-back deploy, not the one before this).
        let from = cloud
            .sfn
            .alias_routing(&m.arn, &alias)
            .await
            .map_or(version - 1, |r| r.version);
        targets.push(Target {
            id: m.logical_id.clone(),
            alias: Alias::StateMachine {
                arn: m.arn.clone(),
                alias,
            },
            from,
            to: version,
            shift,
            watches,
            pre_traffic: None,
        });
    }
    Ok((report, targets))
}

/// Runs the `PreTraffic` hook of every target that names one, as CodeDeploy does before it
/// shifts any traffic: a hook execution opened, the hook function (its new version) invoked
/// with it, and its report read. Answers how many reported `Succeeded`, and the first that
/// reported `Failed` or nothing (a hook that never reports fails the deployment).
async fn pre_traffic(
    cloud: &Arc<LocalCloud>,
    app: &App,
    targets: &[Target],
) -> (usize, Option<(String, String)>) {
    let runs = targets.iter().filter_map(|t| {
        let hook = t.pre_traffic.as_ref()?;
        Some(async move {
            let what = format!("{}'s PreTraffic hook", t.id);
            let Some(f) = app.functions.iter().find(|f| &f.logical_id == hook) else {
                return Err((what, format!("no function {hook} in the release")));
            };
            let Alias::Function { name } = &t.alias else {
                return Err((what, "a state machine's deployment has no hooks".to_owned()));
            };
            let latest = cloud.lambda.versions(&f.name).last().copied().unwrap_or(1);
            let alias = app
                .function(name)
                .and_then(|g| g.alias.clone())
                .unwrap_or_else(|| "live".to_owned());
            let event = cloud
                .codedeploy
                .open_hook(&codedeploy_local::AliasDeployment {
                    function_id: t.id.clone(),
                    name: name.clone(),
                    alias,
                    current: t.from,
                    target: t.to,
                    hook: f.name.clone(),
                });
            let outcome = cloud
                .lambda
                .invoke(&format!("{}:{latest}", f.name), event.clone())
                .await;
            match cloud.codedeploy.status(&event) {
                Some(codedeploy_local::HookStatus::Succeeded) => Ok(()),
                Some(codedeploy_local::HookStatus::Failed) => Err((
                    what,
                    format!("{} reported Failed: {}", f.name, hook_summary(&outcome)),
                )),
                _ => Err((
                    what,
                    format!("{} did not report: {}", f.name, hook_summary(&outcome)),
                )),
            }
        })
    });
    let results = futures::future::join_all(runs).await;
    let passed = results.iter().filter(|r| r.is_ok()).count();
    (passed, results.into_iter().find_map(Result::err))
}

/// A hook invocation's answer in a line: its first failures, or its error.
fn hook_summary(outcome: &crate::lambda::Outcome) -> String {
    match outcome {
        crate::lambda::Outcome::Ok(v) => {
            let failures: Vec<&str> = v["failures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match failures.split_first() {
                Some((first, [])) => (*first).to_owned(),
                Some((first, rest)) => format!("{first} (and {} more)", rest.len()),
                None => format!("{} samples passed", v["passed"]),
            }
        }
        crate::lambda::Outcome::Err {
            error_type,
            error_message,
        } => format!("{error_type}: {error_message}"),
    }
}

/// Shifts every target's alias by its preference while its alarms stay quiet: `None` when
/// all moved, or the alarm in alarm and what it measured (nothing is moved back here).
async fn shift_all(
    cloud: &Arc<LocalCloud>,
    targets: &[Target],
    opts: &DeployOptions,
) -> Result<Option<(String, String)>, String> {
    let baseline = Arc::new(alarms::Baseline::now(cloud).await);
    let failed: Arc<std::sync::Mutex<Option<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let runs = targets.iter().cloned().map(|t| {
        let (cloud, opts, baseline) = (cloud.clone(), opts.clone(), baseline.clone());
        let (failed, stop) = (failed.clone(), stop.clone());
        async move {
            for (share, minutes) in t.shift.steps() {
                route(&cloud, &t, Some(share)).await?;
                let until =
                    Instant::now() + Duration::from_secs_f64(minutes * 60.0 / opts.minutes_scale);
                while Instant::now() < until {
                    if stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    for (id, w) in &t.watches {
                        if let Some(why) = alarms::breaching(&cloud, w, &baseline, t.to).await? {
                            let mut f = failed.lock().unwrap_or_else(|e| e.into_inner());
                            f.get_or_insert((id.clone(), why));
                            stop.store(true, Ordering::SeqCst);
                            return Ok(());
                        }
                    }
                    tokio::time::sleep(opts.poll).await;
                }
            }
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            route(&cloud, &t, None).await
        }
    });
    for r in futures::future::join_all(runs).await {
        r?;
    }
    let rolled_back = failed.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(rolled_back)
}

/// Points `t`'s alias at its new version (`share` of it with the rest on the old, or all).
async fn route(cloud: &LocalCloud, t: &Target, share: Option<f64>) -> Result<(), String> {
    let (version, additional) = match share {
        Some(s) => (t.from, Some((t.to, s))),
        None => (t.to, None),
    };
    match &t.alias {
        Alias::Function { name } => cloud.lambda.route_alias(
            name,
            AliasRouting {
                version,
                additional,
            },
        ),
        Alias::StateMachine { arn, alias } => cloud
            .sfn
            .route_alias(
                arn,
                alias,
                crate::sfn::AliasRouting {
                    version,
                    additional,
                },
            )
            .await
            .map_err(|e| format!("{}: {e}", t.id)),
    }
}

/// The version every published function gets next: they are published together, so they
/// share their numbers.
fn next_version(cloud: &LocalCloud, functions: &[&crate::app::Function]) -> Result<u32, String> {
    let nexts: BTreeSet<u32> = functions
        .iter()
        .map(|f| cloud.lambda.versions(&f.name).last().copied().unwrap_or(0) + 1)
        .collect();
    match nexts.len() {
        0 => Err("no function has AutoPublishAlias: nothing to deploy".to_owned()),
        1 => Ok(nexts.into_iter().next().unwrap_or(1)),
        _ => Err(format!(
            "the functions' versions differ ({nexts:?}): deploy publishes them together"
        )),
    }
}

/// `Err` naming what differs if `new` adds, removes or renames a function or a state machine.
fn same_resources(running: &App, new: &App) -> Result<(), String> {
    let names = |app: &App| -> BTreeSet<String> {
        app.functions
            .iter()
            .map(|f| format!("function {}", f.name))
            .chain(
                app.state_machines
                    .iter()
                    .map(|m| format!("state machine {}", m.name)),
            )
            .collect()
    };
    let (old, new) = (names(running), names(new));
    if old == new {
        return Ok(());
    }
    let added: Vec<&String> = new.difference(&old).collect();
    let removed: Vec<&String> = old.difference(&new).collect();
    Err(format!(
        "the release changes resources (added {added:?}, removed {removed:?}): that is a stack update, not a code deploy; start the cloud from the release"
    ))
}

/// A preference's `Type`, resolved (it may be a parameter's `Ref`).
fn resolve_kind(kind: &Value, app: &App) -> Result<String, String> {
    app.resolver
        .resolve(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| format!("a deployment preference's Type {kind} does not resolve"))
}

/// The alarms of `ids` that are evaluated here; the others go to `unevaluated` with why.
fn watches(
    template: &Value,
    ids: &[String],
    unevaluated: &mut BTreeSet<String>,
) -> Vec<(String, alarms::Watch)> {
    ids.iter()
        .filter_map(|id| match alarms::watch(template, id) {
            Ok(w) => Some((id.clone(), w)),
            Err(why) => {
                unevaluated.insert(why);
                None
            }
        })
        .collect()
}

/// A copy of `build`'s binaries in `dir` (links), with `function`'s binary replaced by one
/// that fails every call (its process dies on each invocation): the broken
/// release the upgrade drill deploys to see it rolled back.
pub fn broken_build(build: &Path, function_binary: &str, dir: &Path) -> Result<PathBuf, String> {
    let io = |what: String| move |e: std::io::Error| format!("{what}: {e}");
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    for entry in std::fs::read_dir(build).map_err(io(format!("reading {}", build.display())))? {
        let entry = entry.map_err(io(format!("reading {}", build.display())))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let link = dir.join(entry.file_name());
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link)
            .map_err(io(format!("linking {}", link.display())))?;
    }
    let broken = dir.join(function_binary);
    let _ = std::fs::remove_file(&broken);
    std::fs::write(&broken, BROKEN_RUNTIME).map_err(io(format!("writing {}", broken.display())))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755))
        .map_err(io(format!("making {} executable", broken.display())))?;
    Ok(dir.to_owned())
}

/// A function runtime that dies on every invocation it takes (as a build that panics with
/// `panic = "abort"` would): each call fails `Runtime.ExitError` and the process restarts.
/// Python 3, as on this machine and CI.
const BROKEN_RUNTIME: &str = r#"#!/usr/bin/env python3
# A deliberately broken build: every invocation kills its process.
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
urllib.request.urlopen(api + "next").read()
os._exit(134)
"#;

#[cfg(test)]
mod tests;
