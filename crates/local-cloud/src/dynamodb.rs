//! AWS's DynamoDB Local (Java): started and stopped by the local cloud, in memory by default
//! or on disk with `--persist`, listening on 127.0.0.1 only ([`java_command`]), with the
//! template's tables created. The workflow's DynamoDB
//! service integrations are forwarded to it as JSON API calls (their parameters are the API's
//! own request JSON).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::app::{REGION, Table};

/// A running DynamoDB Local.
pub struct DynamoLocal {
    child: Option<Child>,
    endpoint: String,
    http: reqwest::Client,
    /// How it was started (jar directory, port, data directory, log), to start it again.
    launch: Option<(
        std::path::PathBuf,
        u16,
        Option<std::path::PathBuf>,
        std::path::PathBuf,
    )>,
}

/// A DynamoDB API error: its type (without the namespace) and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct DynamoError {
    /// e.g. `ConditionalCheckFailedException`.
    pub error_type: String,
    /// The message.
    pub message: String,
}

/// The class `scripts/setup.sh` compiles from `scripts/dynamodb-local/` into
/// `<jar_dir>/loopback/`: DynamoDB Local's own server, bound to 127.0.0.1 only before it starts
/// (the jar has no host option and would listen on every interface).
pub const LOOPBACK_LAUNCHER: &str = "LoopbackDynamoDBLocal";

/// The command that runs DynamoDB Local from `jar_dir` on `127.0.0.1:port` only, with a heap of
/// `heap` (`-Xmx`, e.g. `512m`) and no telemetry; add `-inMemory` or `-dbPath <dir>`.
///
/// # Errors
/// DynamoDB Local or its launcher is not installed (named, with the command that installs it).
pub fn java_command(jar_dir: &Path, port: u16, heap: &str) -> Result<Command, String> {
    if !jar_dir.join("DynamoDBLocal.jar").is_file() {
        return Err(format!(
            "DynamoDB Local is not installed in {}: run `make setup`",
            jar_dir.display()
        ));
    }
    if !jar_dir
        .join(format!("loopback/{LOOPBACK_LAUNCHER}.class"))
        .is_file()
    {
        return Err(format!(
            "DynamoDB Local's loopback launcher is not compiled in {}/loopback: run `make setup`",
            jar_dir.display()
        ));
    }
    let mut cmd = Command::new("java");
    cmd.arg(format!("-Xmx{heap}"))
        .arg("-Djava.library.path=./DynamoDBLocal_lib")
        .arg("-cp")
        .arg("DynamoDBLocal.jar:DynamoDBLocal_lib/*:loopback")
        .arg(LOOPBACK_LAUNCHER)
        .arg("-port")
        .arg(port.to_string())
        // No telemetry: the launcher never sets it up, and the jar's own start would resolve
        // and call an AWS host (cognito-identity); the flag and the variable say so too.
        .arg("-disableTelemetry")
        .env("DDB_LOCAL_TELEMETRY", "0")
        .current_dir(jar_dir);
    Ok(cmd)
}

impl DynamoLocal {
    /// Starts DynamoDB Local from `jar_dir` on `port`, in memory or persisting under `db_dir`.
    pub async fn start(
        jar_dir: &Path,
        port: u16,
        db_dir: Option<&Path>,
        log: &Path,
    ) -> Result<Self, String> {
        let mut cmd = java_command(jar_dir, port, "512m")?;
        cmd.arg("-sharedDb");
        match db_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                cmd.arg("-dbPath").arg(dir);
            }
            None => {
                cmd.arg("-inMemory");
            }
        }
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start java (DynamoDB Local needs Java 17): {e}"))?;
        if let Some(jvm) = child.id() {
            crate::watchdog(jvm);
        }
        let me = Self {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
            http: crate::loopback_client(),
            launch: Some((
                jar_dir.to_owned(),
                port,
                db_dir.map(Path::to_owned),
                log.to_owned(),
            )),
        };
        let started = Instant::now();
        loop {
            if me.call("ListTables", json!({})).await.is_ok() {
                return Ok(me);
            }
            if started.elapsed() > Duration::from_secs(60) {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!(
                    "DynamoDB Local did not start within 60 s; its log:\n{tail}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Uses a DynamoDB already running at `endpoint` (not stopped on shutdown).
    pub fn existing(endpoint: &str) -> Self {
        Self {
            child: None,
            endpoint: endpoint.to_owned(),
            http: crate::loopback_client(),
            launch: None,
        }
    }

    /// Kills the JVM (as a crash would: no shutdown) and starts it again on the same port and
    /// data directory. Only a DynamoDB Local this process started on disk (`--persist`) keeps
    /// its data across this; one in memory comes back empty, so that is refused.
    pub async fn crash_and_restart(&mut self) -> Result<Duration, String> {
        let Some((jar_dir, port, Some(db_dir), log)) = self.launch.clone() else {
            return Err("only a DynamoDB Local started here with a data directory can be restarted (run with --persist)".to_owned());
        };
        let started = Instant::now();
        if let Some(mut c) = self.child.take() {
            c.kill()
                .await
                .map_err(|e| format!("killing DynamoDB Local: {e}"))?;
        }
        let log = log.with_extension("restarted.log");
        *self = Self::start(&jar_dir, port, Some(&db_dir), &log).await?;
        Ok(started.elapsed())
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One DynamoDB API call.
    pub async fn call(&self, operation: &str, body: Value) -> Result<Value, DynamoError> {
        call(&self.http, &self.endpoint, operation, body).await
    }

    /// Creates the tables (and their TTL settings) unless they exist.
    pub async fn create_tables(&self, tables: &[Table]) -> Result<(), DynamoError> {
        for t in tables {
            match self.call("CreateTable", t.create.clone()).await {
                Ok(_) => {}
                Err(e) if e.error_type == "ResourceInUseException" => continue,
                Err(e) => return Err(e),
            }
            if let Some(attr) = &t.ttl_attribute {
                self.call(
                    "UpdateTimeToLive",
                    json!({ "TableName": t.name, "TimeToLiveSpecification": { "Enabled": true, "AttributeName": attr } }),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Stops the JVM.
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }
}

/// The `Authorization` header every call to DynamoDB Local carries. DynamoDB Local does not
/// check signatures, but without `-sharedDb` it keeps one database per access key and region:
/// one key for every caller keeps one database for the account, as on AWS.
pub fn local_authorization() -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=local/20260101/{REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// One DynamoDB JSON API call against `endpoint`.
pub async fn call(
    http: &reqwest::Client,
    endpoint: &str,
    operation: &str,
    body: Value,
) -> Result<Value, DynamoError> {
    let auth = local_authorization();
    let response = http
        .post(endpoint)
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("authorization", auth)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| DynamoError {
            error_type: "ServiceUnavailable".to_owned(),
            message: e.to_string(),
        })?;
    let ok = response.status().is_success();
    let text = response.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if ok {
        Ok(v)
    } else {
        let full = v
            .get("__type")
            .and_then(Value::as_str)
            .unwrap_or("InternalServerError");
        Err(DynamoError {
            error_type: full.rsplit('#').next().unwrap_or(full).to_owned(),
            message: v
                .get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or(&text)
                .to_owned(),
        })
    }
}

/// Where the setup script installs DynamoDB Local.
pub fn default_jar_dir(root: &Path) -> PathBuf {
    root.join(".local/dynamodb")
}

impl Drop for DynamoLocal {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
    }
}

/// A DynamoDB item (`{"name": {"S": "…"}}`) as plain JSON.
pub fn unmarshal(item: &Value) -> Value {
    fn one(v: &Value) -> Value {
        let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
            return Value::Null;
        };
        match kind.as_str() {
            "S" | "B" => inner.clone(),
            "N" => inner
                .as_str()
                .and_then(|n| serde_json::from_str(n).ok())
                .unwrap_or(Value::Null),
            "BOOL" => inner.clone(),
            "NULL" => Value::Null,
            "M" => unmarshal(inner),
            "L" => Value::Array(
                inner
                    .as_array()
                    .map(|a| a.iter().map(one).collect())
                    .unwrap_or_default(),
            ),
            "SS" | "NS" | "BS" => inner.clone(),
            _ => Value::Null,
        }
    }
    match item.as_object() {
        Some(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), one(v))).collect()),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_unmarshal_to_plain_json() {
        let item = json!({
            "orderId": { "S": "app.A-1" },
            "n": { "N": "12.5" },
            "ok": { "BOOL": true },
            "none": { "NULL": true },
            "history": { "L": [ { "M": { "status": { "S": "RECEIVED" } } } ] },
        });
        assert_eq!(
            unmarshal(&item),
            json!({ "orderId": "app.A-1", "n": 12.5, "ok": true, "none": null, "history": [ { "status": "RECEIVED" } ] })
        );
    }
}
