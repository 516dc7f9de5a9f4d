//! A release deployed over a running cloud: CodeDeploy's PreTraffic hook invokes every new
//! version with its samples before any traffic, and a build that cannot answer is rolled
//! back with no invocation of it but the hook's.

use super::*;
use local_cloud::deploy::{DeployOptions, Release, broken_build, deploy};

fn options() -> DeployOptions {
    DeployOptions {
        minutes_scale: 600.0,
        poll: Duration::from_millis(100),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pre_traffic_hook_passes_a_sound_release_and_stops_a_broken_build_before_any_traffic() {
    let c = cloud("deploy-hook").await;
    let root = repo_root();
    let bin_dir = local_cloud::Options::for_repo(&root).bin_dir;
    // This checkout's build, deployed as a release.
    let sound = Release {
        root: root.clone(),
        bin_dir: bin_dir.clone(),
    };
    let accept = c
        .app
        .functions
        .iter()
        .find(|f| f.binary == "accept-order")
        .unwrap()
        .name
        .clone();

    // The same build as a release: every hook reports Succeeded and every alias moves.
    let good = deploy(&c, &sound, &options()).await.unwrap();
    assert_eq!(good.rolled_back, None, "{good}");
    let gradual = c
        .app
        .functions
        .iter()
        .filter(|f| f.binary != "pre-traffic-check")
        .count();
    assert_eq!(good.hooks_passed, gradual, "{good}");
    assert_eq!(
        c.lambda.alias_routing(&accept).unwrap().version,
        good.version
    );
    // The hook's probes reached each new version (Lambda's own count) and all answered.
    let probed = c.lambda.version_stats(&accept, good.version).await.unwrap();
    assert!(probed.invocations > 0, "{probed:?}");
    assert_eq!(probed.function_errors, 0, "{probed:?}");

    // A build whose accept-order dies on every call: its hook reports Failed, nothing moves.
    let broken_dir = root.join("target/local-cloud-e2e/deploy-hook-broken");
    let broken = deploy(
        &c,
        &Release {
            root: root.clone(),
            bin_dir: broken_build(&bin_dir, "accept-order", &broken_dir).unwrap(),
        },
        &options(),
    )
    .await
    .unwrap();
    let (by, why) = broken
        .rolled_back
        .clone()
        .expect("the broken build was deployed");
    assert!(by.contains("PreTraffic hook"), "{broken}");
    assert!(
        why.contains("reported Failed") && why.contains("accept-order"),
        "{why}"
    );
    assert!(broken.shifted.is_empty(), "{broken}");
    // Every alias still on the good release, and the broken version took no traffic: its
    // only invocations were the hook's, every one failed.
    for f in c.app.functions.iter().filter(|f| f.alias.is_some()) {
        assert_eq!(
            c.lambda.alias_routing(&f.name).unwrap(),
            local_cloud::lambda::AliasRouting {
                version: good.version,
                additional: None
            },
            "{}",
            f.name
        );
    }
    let hit = c
        .lambda
        .version_stats(&accept, broken.version)
        .await
        .unwrap();
    assert!(hit.invocations > 0, "the hook never reached it: {hit:?}");
    assert_eq!(hit.function_errors, hit.invocations, "{hit:?}");
    // Deployed again after the rollback: it shifts from the version the alias is on, never
    // from the rejected build, which takes no traffic.
    let again = deploy(&c, &sound, &options()).await.unwrap();
    assert_eq!(again.rolled_back, None, "{again}");
    let moved = again
        .shifted
        .iter()
        .find(|(id, _, _)| id == "AcceptOrderFunction")
        .unwrap();
    assert_eq!((moved.1, moved.2), (good.version, again.version), "{again}");
    let after = c
        .lambda
        .version_stats(&accept, broken.version)
        .await
        .unwrap();
    assert_eq!(
        after.invocations, hit.invocations,
        "the rejected build took traffic"
    );
    // And an order after the rollback is served by the good release.
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:?}");
    assert_eq!(live_pos_orders(&v), 1);
    c.stop().await;
}
