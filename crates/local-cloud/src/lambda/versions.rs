//! Versions and aliases, as Lambda keeps them: each published version is its own build (its
//! own processes, from its own binary), the alias routes invocations to one version or
//! splits them between two by weight (`RoutingConfig.AdditionalVersionWeights`), and a
//! version stays invocable by its number after the alias has moved on, so an execution that
//! names it (a held order's Standard workflow, started on the release before) finishes on it.
//! A function's concurrency is shared by its versions: reserved concurrency and scaling are
//! the function's (Lambda quotas: "Reserved concurrency … applies to the function as a
//! whole, including versions and aliases").

use std::path::Path;

use super::*;

/// Where a function's alias sends invocations: `version`, and `additional` (a version and
/// its share, 0 to 1) while a deployment shifts traffic, as `UpdateAlias` sets
/// `FunctionVersion` and `RoutingConfig.AdditionalVersionWeights`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AliasRouting {
    /// The alias's version.
    pub version: u32,
    /// A second version and the share of invocations it takes (0 to 1).
    pub additional: Option<(u32, f64)>,
}

/// A function's published versions and its alias.
pub(super) struct Published {
    /// Each version's processes, by number (1 is the first deploy's).
    pub(super) versions: BTreeMap<u32, Arc<Pool>>,
    /// The alias (`AutoPublishAlias`) and where it routes; none without one, when only the
    /// unqualified name (`$LATEST`) is invocable.
    pub(super) alias: Option<(String, AliasRouting)>,
}

impl Published {
    /// The version of the function's first build (its alias's, if it has one).
    pub(super) fn first(pool: Arc<Pool>) -> Self {
        let alias = pool.function.alias.clone().map(|a| {
            (
                a,
                AliasRouting {
                    version: 1,
                    additional: None,
                },
            )
        });
        Self {
            versions: BTreeMap::from([(1, pool)]),
            alias,
        }
    }

    /// The newest version: what the unqualified name and `$LATEST` run.
    pub(super) fn latest(&self) -> Option<&Arc<Pool>> {
        self.versions.values().next_back()
    }

    /// The pool an invocation naming `qualifier` runs on: none for the unqualified name and
    /// `$LATEST` (the newest), a version's number, or the alias (its version, or the
    /// additional one with its weight's chance). A function without an alias has no
    /// published versions to name.
    pub(super) fn resolve(&self, qualifier: Option<&str>) -> Option<Arc<Pool>> {
        let q = match qualifier {
            None | Some("$LATEST") => return self.latest().cloned(),
            Some(q) => q,
        };
        let (alias, routing) = self.alias.as_ref()?;
        let version = match q.parse::<u32>() {
            Ok(n) => n,
            Err(_) if q == alias => match routing.additional {
                Some((v, weight)) if fastrand::f64() < weight => v,
                _ => routing.version,
            },
            Err(_) => return None,
        };
        self.versions.get(&version).cloned()
    }
}

impl FunctionStats {
    /// Adds another version's figures to these (the function's across its versions).
    pub(super) fn add(&mut self, other: &FunctionStats) {
        self.init_times_ms.extend_from_slice(&other.init_times_ms);
        self.peak_rss_kb = self.peak_rss_kb.max(other.peak_rss_kb);
        self.invocations += other.invocations;
        self.restarts += other.restarts;
        self.billed_ms += other.billed_ms;
        self.cpu_ms += other.cpu_ms;
        self.function_errors += other.function_errors;
    }
}

impl Lambda {
    /// Starts the processes of version `version` of `f`, running `binary`: its own Runtime
    /// API per process, supervised (restarted when they die). A later version shares the
    /// function's concurrency counters with `sibling`, an earlier one.
    pub(super) async fn spawn_pool(
        self: &Arc<Self>,
        f: &Function,
        binary: PathBuf,
        version: u32,
        sibling: Option<&Arc<Pool>>,
    ) -> Result<Arc<Pool>, String> {
        let (tx, rx) = mpsc::channel(10_000);
        let mut workers = Vec::new();
        let processes = self
            .config
            .concurrency_of
            .get(&f.binary)
            .copied()
            .unwrap_or(self.config.concurrency);
        for index in 0..processes.max(1) {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            let worker = Arc::new(Worker {
                index,
                port,
                pid: Mutex::new(None),
                cpu_ms: Mutex::new(0),
                in_flight: Mutex::new(None),
                started: Mutex::new(None),
                killed_on_request: std::sync::atomic::AtomicBool::new(false),
            });
            workers.push((worker, listener));
        }
        let pool = Arc::new(Pool {
            function: f.clone(),
            version,
            binary,
            queue_tx: tx,
            queue_rx: Mutex::new(rx),
            workers: workers.iter().map(|(w, _)| w.clone()).collect(),
            stats: Mutex::default(),
            admitted: sibling.map(|s| s.admitted.clone()).unwrap_or_default(),
            environments: sibling.map(|s| s.environments.clone()).unwrap_or_default(),
            retired: tokio::sync::watch::channel(false).0,
        });
        for (worker, listener) in workers {
            let state = WorkerState {
                pool: pool.clone(),
                worker: worker.clone(),
                pending: self.pending.clone(),
            };
            let app = Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(response),
                )
                .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                // Well over the 6 MB response quota, so an oversized answer reaches the
                // check that fails it as Lambda does, not axum's 2 MB default.
                .layer(axum::extract::DefaultBodyLimit::max(
                    8 * SYNC_PAYLOAD_LIMIT_BYTES,
                ))
                .with_state(state);
            let mut retired = pool.retired.subscribe();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = retired.wait_for(|r| *r).await;
                    })
                    .await;
            });
            self.clone().supervise(pool.clone(), worker);
        }
        Ok(pool)
    }

    /// Publishes the build of `function` (its name) in `bin_dir` as its next version, with its
    /// own processes, and answers the version's number. The version runs with `config` (the
    /// release's own: its environment, timeout and role, as a stack update sets them before
    /// the version is published) or, without one, the latest version's. The alias does not
    /// move: route it with [`Lambda::route_alias`]. `Err` names what is missing: the
    /// function, its alias (a function without `AutoPublishAlias` is not published), or the
    /// binary; or a `config` of another function.
    pub async fn publish_version(
        self: &Arc<Self>,
        function: &str,
        bin_dir: &Path,
        config: Option<&Function>,
    ) -> Result<u32, String> {
        let (latest, version) = {
            let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
            let published = pools
                .get(function)
                .ok_or_else(|| format!("no function {function}"))?;
            if published.alias.is_none() {
                return Err(format!(
                    "{function} has no AutoPublishAlias: it has no versions to publish"
                ));
            }
            let latest = published
                .latest()
                .cloned()
                .ok_or_else(|| format!("{function} has no version"))?;
            let next = published.versions.keys().next_back().copied().unwrap_or(0) + 1;
            (latest, next)
        };
        let function_config = match config {
            Some(c) if c.name != function => {
                return Err(format!("{function}: a configuration of {} given", c.name));
            }
            Some(c) => c.clone(),
            None => latest.function.clone(),
        };
        let binary = bin_dir.join(&function_config.binary);
        if !binary.is_file() {
            return Err(format!(
                "{function}: the new build has no {} (looked for {})",
                function_config.binary,
                binary.display()
            ));
        }
        let pool = self
            .spawn_pool(&function_config, binary, version, Some(&latest))
            .await?;
        self.pools
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(function)
            .ok_or_else(|| format!("no function {function}"))?
            .versions
            .insert(version, pool);
        Ok(version)
    }

    /// Points `function`'s alias as `routing` says (`UpdateAlias`). `Err` if the function
    /// has no alias or a version named is not published.
    pub fn route_alias(&self, function: &str, routing: AliasRouting) -> Result<(), String> {
        let mut pools = self.pools.write().unwrap_or_else(|e| e.into_inner());
        let published = pools
            .get_mut(function)
            .ok_or_else(|| format!("no function {function}"))?;
        for v in std::iter::once(routing.version).chain(routing.additional.map(|(v, _)| v)) {
            if !published.versions.contains_key(&v) {
                return Err(format!("{function} has no version {v}"));
            }
        }
        if let Some((v, w)) = routing.additional
            && (!(0.0..=1.0).contains(&w) || v == routing.version)
        {
            return Err(format!(
                "{function}: an additional version's weight is between 0 and 1, for another version than the alias's ({v}, {w})"
            ));
        }
        match &mut published.alias {
            Some((_, r)) => {
                *r = routing;
                Ok(())
            }
            None => Err(format!("{function} has no alias")),
        }
    }

    /// Every function's newest configuration (what its unqualified name runs), by name.
    pub fn latest_configurations(&self) -> Vec<Function> {
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Function> = pools
            .values()
            .filter_map(|p| p.latest().map(|pool| pool.function.clone()))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Where `function`'s alias routes now, if it has one.
    pub fn alias_routing(&self, function: &str) -> Option<AliasRouting> {
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        pools.get(function)?.alias.as_ref().map(|(_, r)| *r)
    }

    /// The published versions of `function`, oldest first.
    pub fn versions(&self, function: &str) -> Vec<u32> {
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        pools
            .get(function)
            .map(|p| p.versions.keys().copied().collect())
            .unwrap_or_default()
    }

    /// What one version of `function` has done so far ([`FunctionStats`]).
    pub async fn version_stats(&self, function: &str, version: u32) -> Option<FunctionStats> {
        let pool = {
            let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
            pools.get(function)?.versions.get(&version)?.clone()
        };
        let stats = pool.stats.lock().await.clone();
        Some(stats)
    }

    /// Deletes version `version` of `function` (`DeleteFunction` with a qualifier): its
    /// processes stop and invocations naming it are refused from now on. Lambda refuses to
    /// delete a version an alias routes to, and so does this (`Err`).
    pub fn delete_version(&self, function: &str, version: u32) -> Result<(), String> {
        let mut pools = self.pools.write().unwrap_or_else(|e| e.into_inner());
        let published = pools
            .get_mut(function)
            .ok_or_else(|| format!("no function {function}"))?;
        if let Some((alias, r)) = &published.alias
            && (r.version == version || r.additional.is_some_and(|(v, _)| v == version))
        {
            return Err(format!(
                "{function}:{version} is routed to by the alias {alias}: move the alias first"
            ));
        }
        let pool = published
            .versions
            .remove(&version)
            .ok_or_else(|| format!("{function} has no version {version}"))?;
        let _ = pool.retired.send(true);
        Ok(())
    }
}
