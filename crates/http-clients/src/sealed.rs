//! Access tokens sealed before the fleet keeps them: the tokens table holds ciphertext only.
//!
//! A token is a bearer credential: anyone who reads it acts as the chain on the partner until
//! it expires (Uber's live 30 days). The table is readable by whoever may read the account's
//! DynamoDB, so the token is sealed with AES-256-GCM under a key derived (HKDF-SHA256, RFC 5869)
//! from the OAuth client secret, which lives in Secrets Manager and is readable only by the
//! functions that call the partner; the item's key is the HKDF `info` and the AEAD's
//! associated data, so a sealed token moved to another item does not open. A reader of the
//! table alone learns nothing; a client secret rotated makes the kept token unreadable, and
//! the next process fetches a new one (as after expiry). Nonces are 96 random bits, one per
//! seal: a token is sealed once per fetch (a few a day per scope), far from GCM's 2^32 bound
//! for random nonces under one key (NIST SP 800-38D, 8.3).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom as _, SystemRandom};

/// What a sealed token starts with (the format's version).
pub const SEALED_PREFIX: &str = "sealed.v1.";

const SALT: &[u8] = b"order-pipeline/partner-tokens/v1";

/// Seals and opens the tokens kept under one item key.
pub struct TokenSeal {
    key: LessSafeKey,
    aad: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for TokenSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSeal(..)")
    }
}

impl TokenSeal {
    /// The seal for the item `item_key`, keyed from `client_secret`.
    pub fn new(client_secret: &str, item_key: &str) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(client_secret.as_bytes());
        let info = [item_key.as_bytes()];
        let okm = prk
            .expand(&info, &AES_256_GCM)
            .unwrap_or_else(|_| unreachable!("32 bytes is within HKDF-SHA256's output"));
        Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            aad: item_key.as_bytes().to_vec(),
            rng: SystemRandom::new(),
        }
    }

    /// `token` sealed: [`SEALED_PREFIX`] and base64url of nonce, ciphertext and tag. `None`
    /// only if the system's random source fails.
    pub fn seal(&self, token: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut out = token.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad),
                &mut out,
            )
            .ok()?;
        let mut sealed = nonce.to_vec();
        sealed.extend(out);
        Some(format!("{SEALED_PREFIX}{}", B64.encode(sealed)))
    }

    /// The token `sealed` holds, or `None` when it is not one this seal made (another key, a
    /// changed byte, another item, or a plaintext token an earlier release kept).
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = B64.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(&self.aad), &mut rest)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "IA.VUNmGAAAAAAAEgASAAAABwAIAAwAAAAAAAAAEgAAAAAAAAG8AAAAFAAAAAAADgAQAAQAAAAIAAwAAAAOAAAAkAAAABwAAAAEAAAAEAAAAJ";

    #[test]
    fn a_sealed_token_opens_only_with_its_secret_and_item() {
        let seal = TokenSeal::new("client-secret-1", "https://auth/token|id|eats.order");
        let sealed = seal.seal(TOKEN).unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(
            !sealed.contains(TOKEN) && !sealed.contains("IA.VUNm"),
            "{sealed}"
        );
        assert_eq!(seal.open(&sealed).as_deref(), Some(TOKEN));
        // Two seals of one token differ (a fresh nonce each).
        assert_ne!(seal.seal(TOKEN).unwrap(), sealed);
        // Another client secret, another item, a changed byte, a plaintext token: not opened.
        let rotated = TokenSeal::new("client-secret-2", "https://auth/token|id|eats.order");
        assert_eq!(rotated.open(&sealed), None);
        let other_item = TokenSeal::new("client-secret-1", "https://auth/token|id|eats.store");
        assert_eq!(other_item.open(&sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(seal.open(&String::from_utf8(tampered).unwrap()), None);
        assert_eq!(seal.open(TOKEN), None);
        assert_eq!(seal.open(&format!("{SEALED_PREFIX}AAAA")), None);
    }
}
