//! State machine versions and aliases: a definition published as a numbered version, an alias
//! routing new executions to one version or splitting them between two by weight, and an
//! execution keeping the version it started on (`PublishStateMachineVersion`,
//! `CreateStateMachineAlias`, `UpdateStateMachineAlias`).

use super::*;

/// One published version of a state machine: its definition as published.
#[derive(Debug, Clone)]
pub struct MachineVersion {
    /// The checked definition.
    pub definition: Arc<Definition>,
    /// Its JSON.
    pub json: Arc<Value>,
}

/// Where a state machine alias starts executions: `version`, and `additional` (a version and
/// its share, 0 to 1) while a deployment shifts traffic, as `UpdateStateMachineAlias` sets a
/// `routingConfiguration` of two versions and their weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AliasRouting {
    /// The version that takes the rest.
    pub version: u32,
    /// A second version and the share of new executions it takes (0 to 1).
    pub additional: Option<(u32, f64)>,
}

impl StateMachine {
    /// The version a `StartExecution` naming `qualifier` runs (none: the latest definition,
    /// unversioned), or `None` if the machine has no such version or alias.
    pub(crate) fn resolve(&self, qualifier: Option<&str>) -> Option<Option<u32>> {
        let Some(q) = qualifier else {
            return Some(None);
        };
        let version = match q.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let routing = self.aliases.get(q)?;
                match routing.additional {
                    Some((v, weight)) if fastrand::f64() < weight => v,
                    _ => routing.version,
                }
            }
        };
        self.versions
            .contains_key(&version)
            .then_some(Some(version))
    }
}

impl Sfn {
    /// Publishes the state machine of `machine_arn` as version 1 and points `alias` at it, as
    /// a stack with `AutoPublishAlias` does on its first deploy (`PublishStateMachineVersion`,
    /// `CreateStateMachineAlias`). Answers the version's and the alias's ARNs; a
    /// `StartExecution` may then name either.
    pub async fn publish(
        &self,
        machine_arn: &str,
        alias: &str,
    ) -> Result<(String, String), ApiError> {
        let mut machines = self.machines.write().await;
        let machine = machines
            .get_mut(machine_arn)
            .ok_or_else(|| no_machine(machine_arn))?;
        machine.versions.insert(
            1,
            MachineVersion {
                definition: machine.definition.clone(),
                json: machine.json.clone(),
            },
        );
        machine.aliases.insert(
            alias.to_owned(),
            AliasRouting {
                version: 1,
                additional: None,
            },
        );
        Ok((format!("{machine_arn}:1"), format!("{machine_arn}:{alias}")))
    }

    /// Updates the state machine of `machine_arn` to `definition` and publishes it as its
    /// next version (`UpdateStateMachine` with `publish`), checked as `CreateStateMachine`
    /// checks one; answers the version's number. Its aliases do not move
    /// ([`Sfn::route_alias`]); executions already running keep the definition they began
    /// with.
    pub async fn publish_version(
        &self,
        machine_arn: &str,
        definition: &Value,
    ) -> Result<u32, ApiError> {
        let def = Definition::from_value(definition)
            .map_err(|e| api_err("InvalidDefinition", e.to_string()))?;
        check_resources(&def.machine).map_err(|e| api_err("InvalidDefinition", e))?;
        let mut machines = self.machines.write().await;
        let machine = machines
            .get_mut(machine_arn)
            .ok_or_else(|| no_machine(machine_arn))?;
        if machine.workflow_type == WorkflowType::Express {
            check_express(&def.machine).map_err(|e| api_err("InvalidDefinition", e))?;
        }
        let version = machine.versions.keys().next_back().copied().unwrap_or(0) + 1;
        machine.definition = Arc::new(def);
        machine.json = Arc::new(definition.clone());
        machine.versions.insert(
            version,
            MachineVersion {
                definition: machine.definition.clone(),
                json: machine.json.clone(),
            },
        );
        Ok(version)
    }

    /// Where `alias` of the state machine `machine_arn` routes now, if both exist.
    pub async fn alias_routing(&self, machine_arn: &str, alias: &str) -> Option<AliasRouting> {
        let machines = self.machines.read().await;
        machines.get(machine_arn)?.aliases.get(alias).copied()
    }

    /// Points `alias` of the state machine of `machine_arn` as `routing` says
    /// (`UpdateStateMachineAlias`): `ResourceNotFound` for an unknown alias,
    /// `ValidationException` for a version not published or a weight outside 0 to 1.
    pub async fn route_alias(
        &self,
        machine_arn: &str,
        alias: &str,
        routing: AliasRouting,
    ) -> Result<(), ApiError> {
        let mut machines = self.machines.write().await;
        let machine = machines
            .get_mut(machine_arn)
            .ok_or_else(|| no_machine(machine_arn))?;
        for v in std::iter::once(routing.version).chain(routing.additional.map(|(v, _)| v)) {
            if !machine.versions.contains_key(&v) {
                return Err(api_err(
                    "ValidationException",
                    format!("{machine_arn} has no version {v}"),
                ));
            }
        }
        if routing
            .additional
            .is_some_and(|(v, w)| !(0.0..=1.0).contains(&w) || v == routing.version)
        {
            return Err(api_err(
                "ValidationException",
                "a routing configuration names two versions, with weights between 0 and 100",
            ));
        }
        let slot = machine.aliases.get_mut(alias).ok_or_else(|| {
            api_err(
                "ResourceNotFound",
                format!("Resource not found: '{machine_arn}:{alias}'"),
            )
        })?;
        *slot = routing;
        Ok(())
    }
}

impl Sfn {
    /// Deletes version `version` of the state machine of `machine_arn`
    /// (`DeleteStateMachineVersion`): refused (`ConflictException`) while an alias routes to it
    /// or an execution of it runs, since a held order's execution would lose its definition.
    pub async fn delete_version(&self, machine_arn: &str, version: u32) -> Result<(), ApiError> {
        let running = {
            let mut running = false;
            for e in self.executions().await {
                if e.machine.arn == machine_arn
                    && e.machine.version == Some(version)
                    && e.status().await == Status::Running
                {
                    running = true;
                    break;
                }
            }
            running
        };
        let mut machines = self.machines.write().await;
        let machine = machines
            .get_mut(machine_arn)
            .ok_or_else(|| no_machine(machine_arn))?;
        if let Some((alias, _)) = machine
            .aliases
            .iter()
            .find(|(_, r)| r.version == version || r.additional.is_some_and(|(v, _)| v == version))
        {
            return Err(api_err(
                "ConflictException",
                format!("{machine_arn}:{version} is routed to by the alias {alias}"),
            ));
        }
        if running {
            return Err(api_err(
                "ConflictException",
                format!("{machine_arn}:{version} still runs an execution"),
            ));
        }
        machine
            .versions
            .remove(&version)
            .map(|_| ())
            .ok_or_else(|| {
                api_err(
                    "ResourceNotFound",
                    format!("Resource not found: '{machine_arn}:{version}'"),
                )
            })
    }
}
