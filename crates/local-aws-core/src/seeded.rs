//! Seeded fault draws that do not depend on the order concurrent requests arrive in: each draw
//! is keyed by the run's seed and what it is about (a request, an event and its target), so a
//! repeated run makes the same draw for the same thing.

use sha2::Digest as _;

/// The seed of one keyed draw: the run's `seed` and the key's `parts`, through SHA-256 (stable
/// across builds and platforms, unlike the standard library's hasher). Parts are
/// length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ.
pub fn keyed_seed(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = sha2::Sha256::new();
    h.update(seed.to_le_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

/// A source for one draw: keyed by `seed` and `parts` when there is a seed, fresh otherwise.
pub fn source(seed: Option<u64>, parts: &[&[u8]]) -> fastrand::Rng {
    match seed {
        Some(seed) => fastrand::Rng::with_seed(keyed_seed(seed, parts)),
        None => fastrand::Rng::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_draws_the_same_under_a_seed_and_differently_under_another() {
        let draw = |seed, parts: &[&[u8]]| source(Some(seed), parts).u64(..);
        assert_eq!(draw(7, &[b"POST", b"/a"]), draw(7, &[b"POST", b"/a"]));
        assert_ne!(draw(7, &[b"POST", b"/a"]), draw(8, &[b"POST", b"/a"]));
        assert_ne!(draw(7, &[b"POST", b"/a"]), draw(7, &[b"POST", b"/b"]));
        // Length-prefixed parts: moving a byte between parts is another key.
        assert_ne!(draw(7, &[b"ab", b"c"]), draw(7, &[b"a", b"bc"]));
        // Without a seed, two draws are independent (equal 64-bit draws: 2^-64).
        assert_ne!(source(None, &[]).u64(..), source(None, &[]).u64(..));
    }
}
