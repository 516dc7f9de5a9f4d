use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const OLD: &str = "the-old-credential-0001";
const NEW: &str = "the-new-credential-0002";
const BODY: &[u8] = br#"{"event":"x"}"#;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_370_400 + seconds, 0).unwrap()
}

fn signed(p: Partner, credential: &str) -> Vec<(String, String)> {
    auth::sign(p, BODY, credential, at(0), "nonce-1")
}

fn secret(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A secret that can be changed under the cache, counting its reads.
#[derive(Default)]
struct Stored {
    value: Mutex<HashMap<String, String>>,
    reads: AtomicUsize,
}

#[async_trait]
impl WebhookSecretSource for Stored {
    async fn read(&self) -> Result<HashMap<String, String>, RepoError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.value.lock().unwrap().clone())
    }
}

#[tokio::test]
async fn during_a_rotation_both_the_current_and_the_previous_credential_authenticate() {
    for p in Partner::ALL {
        let s = WebhookSecrets::from_secret(secret(&[
            (p.as_str(), NEW),
            (&format!("{}{PREVIOUS_SUFFIX}", p.as_str()), OLD),
        ]));
        assert!(
            s.verify(p, &signed(p, NEW), BODY, at(0)).await.is_ok(),
            "{p} new"
        );
        assert!(
            s.verify(p, &signed(p, OLD), BODY, at(0)).await.is_ok(),
            "{p} old"
        );
        assert_eq!(
            s.verify(p, &signed(p, "a-third-credential-0003"), BODY, at(0))
                .await
                .unwrap_err(),
            CredentialError::Auth(AuthError::BadSignature),
            "{p}"
        );
    }
}

#[tokio::test]
async fn a_warm_container_reads_a_rotated_secret_again_at_most_once_a_minute() {
    let p = Partner::DoorDash;
    let stored = Arc::new(Stored::default());
    *stored.value.lock().unwrap() = secret(&[("doordash", OLD)]);
    let s = WebhookSecrets::from_secret(secret(&[("doordash", OLD)]))
        .rereading_from(stored.clone(), at(0));
    // Rotated in Secrets Manager; the partner signs with the new one.
    *stored.value.lock().unwrap() = secret(&[("doordash", NEW), ("doordash.previous", OLD)]);
    // Within the minute of the cold start's read: not read again, refused.
    assert!(s.verify(p, &signed(p, NEW), BODY, at(30)).await.is_err());
    assert_eq!(stored.reads.load(Ordering::SeqCst), 0);
    // Past it: read again once, and taken.
    assert!(s.verify(p, &signed(p, NEW), BODY, at(61)).await.is_ok());
    assert_eq!(stored.reads.load(Ordering::SeqCst), 1);
    // The old one still passes (the previous), with no read.
    assert!(s.verify(p, &signed(p, OLD), BODY, at(62)).await.is_ok());
    // A flood of forged signatures reads at most once a minute.
    for second in 62..180 {
        let forged = signed(p, "a-forger-credential-000");
        assert!(s.verify(p, &forged, BODY, at(second)).await.is_err());
    }
    assert_eq!(stored.reads.load(Ordering::SeqCst), 2, "at 122 s only");
}

#[tokio::test]
async fn a_weak_credential_disables_its_partner_alone_by_name() {
    let s = WebhookSecrets::from_secret(secret(&[
        ("grubhub", "hmac:"),
        ("doordash", " padded-credential-0004"),
        ("app", NEW),
        ("ubereats", NEW),
        ("ubereats.previous", "short"),
    ]));
    assert_eq!(
        s.refused(),
        [
            (Partner::DoorDash, WeakCredential::Whitespace),
            (Partner::Grubhub, WeakCredential::Short { bytes: 0 }),
        ]
    );
    let g = Partner::Grubhub;
    let refused = s
        .verify(g, &signed(g, "hmac:"), BODY, at(0))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        CredentialError::Refused(g, WeakCredential::Short { bytes: 0 })
    );
    assert!(refused.to_string().contains("grubhub"), "{refused}");
    for p in [Partner::ChainApp, Partner::UberEats] {
        assert!(
            s.verify(p, &signed(p, NEW), BODY, at(0)).await.is_ok(),
            "{p}"
        );
    }
    // The weak previous one is dropped, not trusted.
    let u = Partner::UberEats;
    assert!(s.verify(u, &signed(u, "short"), BODY, at(0)).await.is_err());
}

#[tokio::test]
async fn a_partner_without_a_credential_is_refused() {
    let s = WebhookSecrets::new(HashMap::from([(Partner::ChainApp, NEW.to_owned())]));
    let p = Partner::DoorDash;
    assert_eq!(
        s.verify(p, &signed(p, NEW), BODY, at(0)).await.unwrap_err(),
        CredentialError::NotConfigured(p)
    );
}
