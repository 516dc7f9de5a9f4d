//! Old versions cleaned up (`local-cloud prune-versions`), by the rule the deploy guide gives
//! for AWS: a function version goes once no alias routes to it and no running execution's
//! definition names it (a workflow version from before the workflows called aliases pins the
//! versions it was published with); a workflow version goes once no alias routes to it and
//! none of its executions runs, a held order's included.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cloud::LocalCloud;

/// What a prune deleted and what it kept, with why.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// Function versions deleted: `(function, version)`.
    pub functions: Vec<(String, u32)>,
    /// Workflow versions deleted: `(state machine, version)`.
    pub state_machines: Vec<(String, u32)>,
    /// Versions kept that an alias does not route to, each with why.
    pub kept: Vec<String>,
}

impl std::fmt::Display for Pruned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[(String, u32)]| {
            v.iter()
                .map(|(name, n)| format!("{name}:{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "deleted {} function versions ({}) and {} workflow versions ({})",
            self.functions.len(),
            list(&self.functions),
            self.state_machines.len(),
            list(&self.state_machines)
        )?;
        for k in &self.kept {
            write!(f, "\n  kept {k}")?;
        }
        Ok(())
    }
}

/// Every string in `v`, depth first.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Deletes every function and workflow version that nothing can call any more.
pub async fn prune(cloud: &LocalCloud) -> Pruned {
    let mut out = Pruned::default();
    // Function versions a running execution's definition names.
    let mut named = BTreeSet::new();
    for e in cloud.sfn.executions().await {
        if e.status().await != crate::sfn::Status::Running {
            continue;
        }
        let mut found = Vec::new();
        strings(&e.machine.json, &mut found);
        named.extend(
            found
                .into_iter()
                .filter(|s| s.contains(":function:"))
                .map(str::to_owned),
        );
    }
    for f in cloud.app.functions.iter().filter(|f| f.alias.is_some()) {
        let Some(routing) = cloud.lambda.alias_routing(&f.name) else {
            continue;
        };
        for v in cloud.lambda.versions(&f.name) {
            if v == routing.version || routing.additional.is_some_and(|(a, _)| a == v) {
                continue;
            }
            if named.contains(&format!("{}:{v}", f.arn)) {
                out.kept.push(format!(
                    "{}:{v}: a running execution's workflow version names it",
                    f.name
                ));
                continue;
            }
            match cloud.lambda.delete_version(&f.name, v) {
                Ok(()) => out.functions.push((f.name.clone(), v)),
                Err(e) => out.kept.push(format!("{}:{v}: {e}", f.name)),
            }
        }
    }
    for m in cloud
        .app
        .state_machines
        .iter()
        .filter(|m| m.alias.is_some())
    {
        let versions: Vec<u32> = cloud
            .sfn
            .state_machine(&m.arn)
            .await
            .map(|sm| sm.versions.keys().copied().collect())
            .unwrap_or_default();
        for v in versions {
            match cloud.sfn.delete_version(&m.arn, v).await {
                Ok(()) => out.state_machines.push((m.name.clone(), v)),
                Err(e) if e.message.contains("routed to by the alias") => {}
                Err(e) => out.kept.push(format!("{}:{v}: {}", m.name, e.message)),
            }
        }
    }
    out
}
