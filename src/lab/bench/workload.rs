//! The workload each container runs, and what its logs say: timings, throughput, medians.

use super::{KindResult, TARGET};
use crate::util::error::Result;

/// The workload. Busybox `date` often lacks `%N`, so the script picks the finest clock it has:
/// `date +%s%N` (ns), else `adjtimex` (µs, readable without privileges), else `/proc/uptime`
/// (10 ms), and says which with a `clock=` line.
pub(super) fn script(size_mb: u64, rounds: u32) -> String {
    format!(
        r#"set -e
mkdir -p {TARGET}
clk=uptime
t=$(date +%s%N 2>/dev/null || true)
case "$t" in
  ''|*[!0-9]*) if adjtimex 2>/dev/null | grep -q tv_usec; then clk=adjtimex; fi ;;
  *) clk=date ;;
esac
now() {{
  case $clk in
    date) date +%s%N ;;
    adjtimex) adjtimex | awk '/tv_sec/ {{ s = $2 }} /tv_usec/ {{ u = $2 }} END {{ printf "%d%06d000\n", s, u }}' ;;
    *) read -r up rest < /proc/uptime; echo "${{up%.*}}${{up#*.}}0000000" ;;
  esac
}}
echo "clock=$clk"
i=0
while [ "$i" -lt {rounds} ]; do
  i=$((i + 1))
  rm -f {TARGET}/f
  sync
  t0=$(now)
  dd if=/dev/zero of={TARGET}/f bs=1M count={size_mb} conv=fsync
  sync
  t1=$(now)
  dd if={TARGET}/f of=/dev/null bs=1M
  t2=$(now)
  echo "write_ns=$((t1 - t0))"
  echo "read_ns=$((t2 - t1))"
done
rm -f {TARGET}/f
"#
    )
}

/// What the script printed: the clock it used and (write, read) nanoseconds per round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Timings {
    pub(super) clock: Clock,
    pub(super) rounds: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clock {
    Nanos,
    Micros,
    Centis,
}

impl Clock {
    /// The clock's resolution in ns: a phase faster than this still took one tick.
    pub(super) fn tick_ns(self) -> u64 {
        match self {
            Clock::Nanos => 1,
            Clock::Micros => 1_000,
            Clock::Centis => 10_000_000,
        }
    }
}

/// Parses the `clock=`, `write_ns=` and `read_ns=` lines; everything else (dd's own output)
/// is ignored. Each `write_ns` must be followed by its `read_ns`.
pub(super) fn parse_timings(logs: &str) -> Result<Timings> {
    let mut clock = Clock::Centis;
    let mut rounds = Vec::new();
    let mut pending: Option<u64> = None;
    let number = |key: &str, value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| format!("the timing line `{key}={value}` is not a whole number"))
    };
    for line in logs.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "clock" => {
                clock = match value {
                    "date" => Clock::Nanos,
                    "adjtimex" => Clock::Micros,
                    "uptime" => Clock::Centis,
                    other => return Err(format!("unknown clock `{other}`").into()),
                }
            }
            "write_ns" => {
                if pending.is_some() {
                    return Err("two write timings without a read timing between"
                        .to_string()
                        .into());
                }
                pending = Some(number("write_ns", value)?);
            }
            "read_ns" => {
                let Some(write) = pending.take() else {
                    return Err("a read timing without a write timing before it"
                        .to_string()
                        .into());
                };
                rounds.push((write, number("read_ns", value)?));
            }
            _ => {}
        }
    }
    if pending.is_some() {
        return Err("the last write timing has no read timing"
            .to_string()
            .into());
    }
    if rounds.is_empty() {
        return Err("no timing lines (write_ns=..., read_ns=...) were printed"
            .to_string()
            .into());
    }
    Ok(Timings { clock, rounds })
}

/// MiB/s for `size_mb` MiB in `ns`, counting at least one clock tick.
pub(super) fn throughput(size_mb: u64, ns: u64, clock: Clock) -> f64 {
    let ns = ns.max(clock.tick_ns()) as f64;
    size_mb as f64 * 1e9 / ns
}

pub(super) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub(super) fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub(super) fn summarize(kind: &str, size_mb: u64, t: &Timings) -> KindResult {
    let write = t
        .rounds
        .iter()
        .map(|(w, _)| throughput(size_mb, *w, t.clock))
        .collect();
    let read = t
        .rounds
        .iter()
        .map(|(_, r)| throughput(size_mb, *r, t.clock))
        .collect();
    KindResult {
        kind: kind.to_string(),
        write_mib_s: round1(median(write)),
        read_mib_s: round1(median(read)),
        rounds: t.rounds.len() as u32,
    }
}

pub(super) fn note(clocks: &[Clock]) -> String {
    let mut note = "Writes end with fsync and sync, so they reach the storage (a tmpfs is RAM, so \
                    it wins); reads come right after the write and are served mostly from the \
                    page cache, so they show memory speed more than disk speed. On Docker Desktop \
                    (Mac, Windows) bind mounts cross the boundary into the Linux VM and are \
                    usually the slowest."
        .to_string();
    if clocks.contains(&Clock::Centis) {
        note.push_str(
            " The container only had a 10 ms clock: very fast phases are rounded up to one tick.",
        );
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::bench::{missing_image, validate, BenchOptions};

    #[test]
    fn parses_timing_lines_between_dd_output() {
        let logs = "clock=adjtimex\n64+0 records in\n64+0 records out\nwrite_ns=500000000\n\
                    64+0 records in\nread_ns=50000000\nwrite_ns=250000000\r\nread_ns=0\n";
        let t = parse_timings(logs).unwrap();
        assert_eq!(t.clock, Clock::Micros);
        assert_eq!(t.rounds, vec![(500_000_000, 50_000_000), (250_000_000, 0)]);
        let k = summarize("tmpfs", 64, &t);
        assert_eq!(k.rounds, 2);
        assert_eq!(k.write_mib_s, 192.0); // median of 128 and 256
        assert!(k.read_mib_s.is_finite() && k.read_mib_s > 0.0);
        // Without a clock line the coarsest clock is assumed.
        let t = parse_timings("write_ns=0\nread_ns=0\n").unwrap();
        assert_eq!(throughput(1, t.rounds[0].0, t.clock), 100.0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for logs in [
            "",
            "\u{0}\u{1}garbage\n===\n=\n",
            "write_ns=abc\nread_ns=1\n",
            "write_ns=-5\nread_ns=1\n",
            "write_ns=99999999999999999999999\nread_ns=1\n",
            "read_ns=1\n",
            "write_ns=1\nwrite_ns=2\nread_ns=3\n",
            "write_ns=1\nread_ns=2\nwrite_ns=3\n",
            "clock=sundial\nwrite_ns=1\nread_ns=2\n",
            "dd: /bench/f: No space left on device\n",
        ] {
            assert!(parse_timings(logs).is_err(), "{logs:?}");
        }
    }

    #[test]
    fn medians_and_options() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
        assert!(validate(&BenchOptions::default()).is_ok());
        assert!(validate(&BenchOptions {
            size_mb: 0,
            rounds: 1
        })
        .is_err());
        assert!(validate(&BenchOptions {
            size_mb: 4,
            rounds: 0
        })
        .is_err());
        assert_eq!(
            missing_image(),
            "the lab image workbook/tools is missing: run `workbook setup`"
        );
        let s = script(64, 3);
        assert!(s.contains("count=64 conv=fsync") && s.contains("-lt 3 ]"));
    }
}
