//! How long from a trigger to the redrawn verdict: kept in memory, written to the timings file.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::schedule::TriggerKind;
use super::KEPT_LATENCIES;

/// The last trigger→redraw latencies, in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    kept: VecDeque<(TriggerKind, f64)>,
}

impl Latencies {
    pub fn push(&mut self, kind: TriggerKind, ms: f64) {
        if self.kept.len() == KEPT_LATENCIES {
            self.kept.pop_front();
        }
        self.kept.push_back((kind, ms));
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The `p`-th percentile (0–100, nearest rank) of the kept latencies of `kind` (all kinds
    /// with `None`).
    pub fn percentile(&self, kind: Option<TriggerKind>, p: f64) -> Option<f64> {
        let mut v: Vec<f64> = self
            .kept
            .iter()
            .filter(|(k, _)| kind.is_none_or(|want| *k == want))
            .map(|(_, ms)| *ms)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        Some(v[rank.clamp(1, v.len()) - 1])
    }
}

/// When the daemon emitted an event, on this process's clock: its arrival, less how long
/// before it (by the wall clock) the daemon stamped it. Latencies then run from the daemon's
/// event, not from its delivery. A stamp in the future or over a second old (a remote
/// daemon's clock) is not trusted: the arrival is used.
pub fn emitted_at(arrived: Instant, time_nano: Option<i64>, now: std::time::SystemTime) -> Instant {
    let Some(nanos) = time_nano.and_then(|n| u64::try_from(n).ok()) else {
        return arrived;
    };
    let stamped = std::time::UNIX_EPOCH + Duration::from_nanos(nanos);
    match now.duration_since(stamped) {
        Ok(ago) if ago <= Duration::from_secs(1) => arrived.checked_sub(ago).unwrap_or(arrived),
        _ => arrived,
    }
}

/// One line of the timings file.
pub fn timing_line(kind: TriggerKind, ms: f64) -> String {
    format!("{{\"trigger\":\"{}\",\"ms\":{:.1}}}", kind.as_str(), ms)
}
