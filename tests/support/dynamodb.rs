//! AWS's DynamoDB Local for the adapter tests: one instance per test binary, started on a free
//! loopback port (listening on 127.0.0.1 only, `local_cloud::dynamodb::java_command`), with a
//! fresh table per test. A watchdog stops the JVM when the test process exits, however it exits.

use std::net::TcpListener;
use std::path::PathBuf;

use aws_sdk_dynamodb::Client;
use tokio::sync::OnceCell;

static ENDPOINT: OnceCell<String> = OnceCell::const_new();

/// Where the setup script installs DynamoDB Local.
pub fn jar_dir() -> PathBuf {
    crate::repo_root().join(".local/dynamodb")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

async fn start() -> String {
    if let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") {
        return endpoint;
    }
    let dir = jar_dir();
    if !dir.join("DynamoDBLocal.jar").is_file() {
        panic!(
            "DynamoDB Local is not installed at {}: run `make setup` (scripts/setup.sh) first, \
             or set DYNAMODB_ENDPOINT to a running instance",
            dir.display()
        );
    }
    let port = free_port();
    let log = std::env::temp_dir().join(format!("dynamodb-local-{port}.log"));
    // Bound to 127.0.0.1 only, without telemetry, as the local cloud runs it; a watchdog stops
    // the JVM when this test process exits, however it exits.
    let local = local_cloud::dynamodb::DynamoLocal::start(&dir, port, None, &log)
        .await
        .unwrap_or_else(|e| panic!("DynamoDB Local did not start: {e}"));
    let endpoint = local.endpoint().to_owned();
    // Kept for the life of the process (the watchdog ends it).
    std::mem::forget(local);
    endpoint
}

fn client_for(endpoint: &str) -> Client {
    aws_adapters::AwsConfig::loopback(endpoint).dynamodb()
}

/// A client for the shared DynamoDB Local, started on first use.
pub async fn client() -> Client {
    client_for(&endpoint().await)
}

/// The shared DynamoDB Local's URL, for raw (wire-format JSON) calls; started on first use.
pub async fn endpoint() -> String {
    ENDPOINT.get_or_init(start).await.clone()
}

/// A table name no other test uses.
pub fn unique_table(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
