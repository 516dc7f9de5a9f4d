//! `local-cloud up`: start everything, print the endpoints, show orders' progress.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::cli::CloudArgs;

use super::*;

pub(crate) async fn up(root: &Path, a: &CloudArgs, port: u16, admin_port: u16) -> ExitCode {
    let mut opts = options(root, a);
    opts.api_port = port;
    opts.admin_port = admin_port;
    let cloud = match start_with(opts, a).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    print_endpoints(&cloud.endpoints);
    let file = state_file(root);
    if let Err(e) = std::fs::write(
        &file,
        serde_json::to_string_pretty(&cloud.endpoints).unwrap_or_default(),
    ) {
        eprintln!("local-cloud: cannot write {}: {e}", file.display());
    }
    println!(
        "\nready. send an order:  cargo run -q -p local-cloud -- send events/partners/app/order.json --wait"
    );
    println!("Ctrl-C stops everything.\n");
    let mut progress = cloud.sfn.subscribe();
    let started = Instant::now();
    loop {
        tokio::select! {
            p = progress.recv() => match p {
                Ok(p) => println!("{:>8.2}s  {:<40} {}", started.elapsed().as_secs_f64(), p.label.unwrap_or_else(|| p.execution.clone()), p.what),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("… {n} progress notices skipped"),
                Err(_) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("stopping …");
    cloud.stop().await;
    let _ = std::fs::remove_file(&file);
    ExitCode::SUCCESS
}
