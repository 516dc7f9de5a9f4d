//! AWS's DynamoDB Local for the adapter tests: one instance per test binary, started on a free
//! loopback port, with a fresh table per test. A shell watchdog stops the JVM when the test
//! process exits, however it exits.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

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
    // `$PPID` is this test process: when it is gone, the watchdog stops the JVM.
    let script = format!(
        "java -Xmx256m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -port {port} >{log} 2>&1 &\n\
         jvm=$!\n\
         while kill -0 $PPID 2>/dev/null && kill -0 $jvm 2>/dev/null; do sleep 1; done\n\
         kill $jvm 2>/dev/null",
        log = log.display()
    );
    tokio::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .expect("sh starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = client_for(&endpoint);
    let started = Instant::now();
    loop {
        if client.list_tables().send().await.is_ok() {
            return endpoint;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("DynamoDB Local did not answer on {endpoint} within 60 s; its log:\n{tail}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
