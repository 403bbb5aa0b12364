//! Rate limits of the classroom server: a token bucket per key (an attendee's posts, an
//! address's failed joins). Small enough to hold every attendee of a workshop in memory; idle
//! buckets are forgotten.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

pub struct Limiter<K> {
    burst: f64,
    per_second: f64,
    buckets: HashMap<K, (f64, Instant)>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// `burst` requests at once, then `per_second`.
    pub fn new(burst: u32, per_second: f64) -> Limiter<K> {
        Limiter {
            burst: f64::from(burst),
            per_second,
            buckets: HashMap::new(),
        }
    }

    /// Takes one request for `key` at `now`: `Ok` when allowed, else how long until the next.
    pub fn take(&mut self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.buckets.len() > 10_000 {
            let (burst, rate) = (self.burst, self.per_second);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = self.buckets.entry(key.clone()).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_second))
        }
    }

    /// Whether `key` has requests left at `now`, without taking one.
    pub fn allows(&self, key: &K, now: Instant) -> bool {
        self.buckets.get(key).is_none_or(|(tokens, at)| {
            tokens + now.duration_since(*at).as_secs_f64() * self.per_second >= 1.0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let mut l = Limiter::new(3, 2.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take(&1, t0).is_ok());
        }
        let wait = l.take(&1, t0).unwrap_err();
        assert!(wait <= Duration::from_millis(500) && wait > Duration::ZERO);
        assert!(!l.allows(&1, t0));
        assert!(l.take(&2, t0).is_ok(), "another key has its own bucket");
        assert!(l.take(&1, t0 + Duration::from_millis(500)).is_ok());
    }
}
