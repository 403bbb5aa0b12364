//! A set of normalised paths that finds a path's folders in time linear in its length.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// The Mersenne prime 2^61 - 1, modulus of [`PathSet`]'s hashes.
pub(super) const MERSENNE: u64 = (1 << 61) - 1;

/// Normalised paths that answer "is this path, or one of its folders, in the set?" in time
/// linear in the path's length, however deep it is: each prefix's hash extends the one before
/// (a polynomial hash modulo 2^61 - 1 with a random base for each set, so no archive can aim at
/// collisions), and a hit is confirmed by comparing the bytes. A map lookup for each folder
/// would compare the whole prefix each time: quadratic in the depth.
pub(super) struct PathSet<T> {
    pub(super) base: u64,
    pub(super) map: HashMap<u64, Vec<(String, T)>>,
}

impl<T> Default for PathSet<T> {
    fn default() -> Self {
        let seed = RandomState::new().hash_one(0x5eed_u64);
        PathSet {
            base: seed % (MERSENNE - 1024) + 512,
            map: HashMap::new(),
        }
    }
}

impl<T> PathSet<T> {
    /// The hash `h` (of some prefix) extended by `bytes`; the empty path hashes to 0.
    pub(super) fn extend(&self, mut h: u64, bytes: &[u8]) -> u64 {
        for b in bytes {
            let x = u128::from(h) * u128::from(self.base);
            let folded = (x as u64 & MERSENNE) + (x >> 61) as u64;
            h = (folded % MERSENNE + u64::from(*b) + 1) % MERSENNE;
        }
        h
    }

    pub(super) fn insert(&mut self, path: &str, value: T) {
        let h = self.extend(0, path.as_bytes());
        self.map
            .entry(h)
            .or_default()
            .push((path.to_string(), value));
    }

    /// The value of `path`, whose hash is `h`.
    pub(super) fn get_hashed(&self, h: u64, path: &str) -> Option<&T> {
        let bucket = self.map.get(&h)?;
        bucket.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }

    /// The folder of `path` (a prefix ending before one of its `/`) that is in the set.
    pub(super) fn folder_of<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.map.is_empty() {
            return None;
        }
        let mut h = 0;
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' && self.get_hashed(h, &path[..i]).is_some() {
                return Some(&path[..i]);
            }
            h = self.extend(h, &[b]);
        }
        None
    }
}
