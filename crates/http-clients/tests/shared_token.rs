//! The fleet's shared Uber token: several "processes" (token caches) on one store fetch each
//! token once between them, on a loopback token endpoint that counts what it issued.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use http_clients::auth::TokenCache;
use pipeline::memory::InMemoryTokenStore;
use pipeline::ports::TokenStore;

/// A token endpoint issuing `t1`, `t2`, … (30-day lifetime), counting its answers.
async fn token_endpoint() -> (String, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let app = Router::new().route(
        "/oauth/v2/token",
        post(move || {
            let counter = counter.clone();
            async move {
                // Slow enough that concurrent callers overlap.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(serde_json::json!({
                    "access_token": format!("t{n}"),
                    "token_type": "Bearer",
                    "expires_in": 2_592_000,
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oauth/v2/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, issued)
}

fn cache(url: &str, store: Option<Arc<dyn TokenStore>>) -> TokenCache {
    let c = TokenCache::new(
        http_clients::build_client(http_clients::HttpSettings::default()).unwrap(),
        url.to_owned(),
        "client".to_owned(),
        "secret".to_owned(),
        "eats.order".to_owned(),
    );
    match store {
        Some(s) => c.shared(s),
        None => c,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_a_store_fetch_each_token_once_between_them() {
    let (url, issued) = token_endpoint().await;
    let store: Arc<dyn TokenStore> = Arc::new(InMemoryTokenStore::default());
    let fleet: Vec<Arc<TokenCache>> = (0..6)
        .map(|_| Arc::new(cache(&url, Some(store.clone()))))
        .collect();
    // Six cold processes at once: one fetches, the rest wait for it.
    let tokens = futures::future::join_all(fleet.iter().map(|c| {
        let c = c.clone();
        async move { c.token().await.unwrap() }
    }))
    .await;
    assert!(tokens.iter().all(|t| t == "t1"), "{tokens:?}");
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    // A process started later reads it too.
    assert_eq!(
        cache(&url, Some(store.clone())).token().await.unwrap(),
        "t1"
    );
    assert_eq!(issued.load(Ordering::SeqCst), 1);

    // Uber refuses t1 (401) in two processes: one new token between them.
    assert!(fleet[0].invalidate("t1").await);
    assert_eq!(fleet[0].token().await.unwrap(), "t2");
    assert!(fleet[1].invalidate("t1").await);
    assert_eq!(fleet[1].token().await.unwrap(), "t2");
    assert_eq!(
        fleet[2].token().await.unwrap(),
        "t1",
        "still cached, not yet refused"
    );
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    // t2 was fetched after a 401 moments ago: a 401 on it anywhere in the fleet is not
    // cured by yet another token, so none is fetched.
    assert!(!fleet[0].invalidate("t2").await);
    assert!(fleet[3].invalidate("t1").await);
    assert_eq!(fleet[3].token().await.unwrap(), "t2");
    assert!(!fleet[3].invalidate("t2").await);
    assert_eq!(fleet[3].token().await.unwrap(), "t2");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_without_a_store_each_fetch_their_own() {
    let (url, issued) = token_endpoint().await;
    let a = cache(&url, None);
    let b = cache(&url, None);
    assert_eq!(a.token().await.unwrap(), "t1");
    assert_eq!(b.token().await.unwrap(), "t2");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}
