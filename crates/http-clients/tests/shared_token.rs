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
    endpoint(0, 2_592_000).await
}

/// A token endpoint whose first `refuse` requests are refused 401 `invalid_client`, then
/// issuing tokens that live `expires_in` seconds.
async fn token_endpoint_refusing(refuse: usize) -> (String, Arc<AtomicUsize>) {
    endpoint(refuse, 2_592_000).await
}

async fn endpoint(refuse: usize, expires_in: u64) -> (String, Arc<AtomicUsize>) {
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
                if n <= refuse {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({ "error": "invalid_client" })),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    axum::Json(serde_json::json!({
                        "access_token": format!("t{}", n - refuse),
                        "token_type": "Bearer",
                        "expires_in": expires_in,
                    })),
                )
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_holds_the_fleet_off_with_its_error_instead_of_fetching_again() {
    let (url, requests) = token_endpoint_refusing(1).await;
    let store: Arc<dyn TokenStore> = Arc::new(InMemoryTokenStore::default());
    let first = cache(&url, Some(store.clone()));
    let e = first.token().await.unwrap_err();
    assert!(
        !e.is_transient() && e.to_string().contains("invalid_client"),
        "{e}"
    );
    // Every other process, and the first again, gets the same refusal, of the same class,
    // without asking the endpoint: the fleet is held off for 36 s.
    for c in [cache(&url, Some(store.clone())), first] {
        let again = c.token().await.unwrap_err();
        assert!(!again.is_transient(), "{again}");
        assert!(again.to_string().contains("invalid_client"), "{again}");
        assert!(
            again.retry_after.is_some_and(|d| d.as_secs() > 30),
            "{again:?}"
        );
    }
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_falls_back_to_a_cached_token_that_has_not_expired() {
    let (url, requests) = token_endpoint().await;
    let memory = Arc::new(InMemoryTokenStore::default());
    let store: Arc<dyn TokenStore> = memory.clone();
    let c = cache(&url, Some(store));
    assert_eq!(c.token().await.unwrap(), "t1");
    // Uber refuses t1: the store, down, cannot give another, and t1 was refused: an error,
    // transient, naming the store.
    assert!(c.invalidate("t1").await);
    memory.fail_next(1);
    let e = c.token().await.unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("token store"),
        "{e}"
    );
    // Back up: one new token.
    assert_eq!(c.token().await.unwrap(), "t2");
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    // A cold process while the store is down has nothing to fall back on.
    memory.fail_next(1);
    let cold = cache(&url, Some(memory.clone() as Arc<dyn TokenStore>));
    assert!(cold.token().await.unwrap_err().is_transient());
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_due_for_refresh_is_still_used_while_the_store_is_down() {
    // Tokens live 10 s: refreshed after 9 s (a tenth early), expired at 10 s; the check at
    // 9.2 s leaves 0.8 s of slack for a loaded machine.
    let (url, requests) = endpoint(0, 10).await;
    let memory = Arc::new(InMemoryTokenStore::default());
    let c = cache(&url, Some(memory.clone() as Arc<dyn TokenStore>));
    assert_eq!(c.token().await.unwrap(), "t1");
    tokio::time::sleep(std::time::Duration::from_millis(9200)).await;
    memory.fail_next(1);
    assert_eq!(
        c.token().await.unwrap(),
        "t1",
        "due for refresh, not expired"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

/// The store holds the token sealed, never readable: a reader of the table learns nothing; a
/// process with another client secret (a rotation) cannot use it and fetches its own; a
/// plaintext token an earlier release kept is not trusted either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_holds_tokens_sealed_under_the_client_secret() {
    let (url, issued) = token_endpoint().await;
    let memory = Arc::new(InMemoryTokenStore::default());
    let store: Arc<dyn TokenStore> = memory.clone();
    assert_eq!(
        cache(&url, Some(store.clone())).token().await.unwrap(),
        "t1"
    );
    let key = format!("{url}|client|eats.order");
    let kept = store.get(&key).await.unwrap().token.unwrap().token;
    // Nonce (12 bytes), the 2-byte token encrypted, the tag (16), base64url: 40 characters.
    let body = kept
        .strip_prefix(http_clients::sealed::SEALED_PREFIX)
        .unwrap_or_else(|| panic!("kept unsealed: {kept}"));
    assert_eq!(body.len(), 40, "{kept}");
    // The fleet reads it through the seal.
    assert_eq!(
        cache(&url, Some(store.clone())).token().await.unwrap(),
        "t1"
    );
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    // A rotated client secret cannot open it: a new token is fetched.
    let rotated = TokenCache::new(
        http_clients::build_client(http_clients::HttpSettings::default()).unwrap(),
        url.clone(),
        "client".to_owned(),
        "rotated-secret".to_owned(),
        "eats.order".to_owned(),
    )
    .shared(store.clone());
    assert_eq!(rotated.token().await.unwrap(), "t2");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}
