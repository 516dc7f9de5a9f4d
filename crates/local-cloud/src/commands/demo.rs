//! `local-cloud demo`: the sample orders through a fresh cloud, their outcomes printed.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use local_cloud::demo;

use crate::cli::CloudArgs;

use super::*;

pub(crate) async fn run_demo(root: &Path, a: &CloudArgs, timeout: u64) -> ExitCode {
    let cloud = match start_with(options(root, a), a).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    println!(
        "sending {} scenarios (run {run}, time {}× faster) …\n",
        demo::scenarios().len(),
        a.time_scale
    );
    let started = Instant::now();
    let runs = demo::scenarios().into_iter().enumerate().map(|(i, s)| {
        let cloud = cloud.clone();
        let run = format!("{run}{i}");
        let root = root.to_owned();
        async move { demo::run(&cloud, &root, &s, &run, Duration::from_secs(timeout)).await }
    });
    let mut results = futures::future::join_all(runs).await;
    match demo::pause_and_resume(&cloud, root, &run, Duration::from_secs(timeout)).await {
        Ok(more) => results.extend(more.into_iter().map(Ok)),
        Err(e) => results.push(Err(e)),
    }
    let mut outcomes = Vec::new();
    let mut failed = false;
    for r in results {
        match r {
            Ok(o) => {
                failed |= o.verdict.is_err();
                outcomes.push(o);
            }
            Err(e) => {
                eprintln!("local-cloud: {e}");
                failed = true;
            }
        }
    }
    print!("{}", demo::table(&outcomes));
    let dead = cloud.queues.all().await;
    let dead_count: usize = dead.values().map(Vec::len).sum();
    let pos = cloud.pos_book.orders().await.len();
    println!(
        "\n{} executions, {} events on the bus, {pos} POS orders, {dead_count} dead letters; {:.1} s",
        cloud.sfn.executions().await.len(),
        cloud.bus.archive().await.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "function logs: {}",
        root.join(".local/cloud/logs").display()
    );
    cloud.stop().await;
    if failed {
        eprintln!("local-cloud: some orders did not end as expected (FAIL rows above)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
