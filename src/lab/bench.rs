//! `workbook bench-io`: the same write/read workload against four kinds of storage.
//!
//! Each kind gets one helper container (image `workbook/tools`, no network, no capabilities,
//! labelled `workbook.managed=true` + `workbook.role=bench`) that runs every round itself: it
//! writes a file with `dd ... conv=fsync`, syncs, reads it back, and prints how long each phase
//! took as `write_ns=` / `read_ns=` lines, which are parsed from the container's logs. The
//! container, the temporary named volume and the temporary host folder are removed on every
//! path, errors included.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{HostConfig, Mount, MountType, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptionsBuilder, RemoveVolumeOptionsBuilder, StartContainerOptions,
    WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::Serialize;

use crate::docker::engine::{describe, is_not_found};
use crate::docker::helpers;
use crate::docker::images::TOOLS_IMAGE;
use crate::docker::labels;

/// Where the workload writes inside the container.
const TARGET: &str = "/bench";
/// Upper bounds that keep a typo from filling a disk or the RAM.
pub const MAX_SIZE_MB: u64 = 16 * 1024;
pub const MAX_ROUNDS: u32 = 100;
/// The widest a bar gets, however wide the terminal.
const MAX_BAR: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    pub size_mb: u64,
    pub rounds: u32,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            size_mb: 64,
            rounds: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindResult {
    /// "container-layer" | "named-volume" | "bind-mount" | "tmpfs"
    pub kind: String,
    /// Median over the rounds, MiB/s.
    pub write_mib_s: f64,
    /// Median over the rounds, MiB/s.
    pub read_mib_s: f64,
    pub rounds: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The format of this report: 1.
    pub version: u32,
    pub size_mb: u64,
    pub results: Vec<KindResult>,
    pub note: String,
}

/// The four storage kinds, in the order they are measured and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ContainerLayer,
    NamedVolume,
    BindMount,
    Tmpfs,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::ContainerLayer,
        Kind::NamedVolume,
        Kind::BindMount,
        Kind::Tmpfs,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::ContainerLayer => "container-layer",
            Kind::NamedVolume => "named-volume",
            Kind::BindMount => "bind-mount",
            Kind::Tmpfs => "tmpfs",
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Kind::ContainerLayer => "the container's writable layer",
            Kind::NamedVolume => "a named volume",
            Kind::BindMount => "a bind mount",
            Kind::Tmpfs => "a tmpfs",
        }
    }
}

/// Named volumes of this process that exist right now, so Ctrl-C can remove them.
static LIVE_VOLUMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Removes the bench volumes this process still has (for a Ctrl-C handler; bench containers
/// are tracked by [`helpers::remove_live`]).
pub async fn remove_live(docker: &Docker) {
    let names: Vec<String> = LIVE_VOLUMES.lock().map(|l| l.clone()).unwrap_or_default();
    for name in names {
        remove_volume(docker, &name).await;
    }
}

/// Runs the workload against every storage kind and reports the median throughput of each.
pub async fn run(docker: &Docker, opts: &BenchOptions) -> Result<BenchReport, String> {
    validate(opts)?;
    ensure_image(docker).await?;
    check_memory(docker, opts).await?;
    let mut results = Vec::new();
    let mut clocks = Vec::new();
    for kind in Kind::ALL {
        let timings = run_kind(docker, opts, kind)
            .await
            .map_err(|e| format!("bench-io on {}: {e}", kind.doing()))?;
        if timings.rounds.len() != opts.rounds as usize {
            return Err(format!(
                "bench-io on {}: the container reported {} round(s) instead of {}",
                kind.doing(),
                timings.rounds.len(),
                opts.rounds
            ));
        }
        results.push(summarize(kind.name(), opts.size_mb, &timings));
        clocks.push(timings.clock);
    }
    Ok(BenchReport {
        version: 1,
        size_mb: opts.size_mb,
        results,
        note: note(&clocks),
    })
}

fn validate(opts: &BenchOptions) -> Result<(), String> {
    if opts.size_mb == 0 || opts.size_mb > MAX_SIZE_MB {
        return Err(format!(
            "--size-mb must be between 1 and {MAX_SIZE_MB}, not {}",
            opts.size_mb
        ));
    }
    if opts.rounds == 0 || opts.rounds > MAX_ROUNDS {
        return Err(format!(
            "--rounds must be between 1 and {MAX_ROUNDS}, not {}",
            opts.rounds
        ));
    }
    Ok(())
}

fn missing_image() -> String {
    let name = TOOLS_IMAGE.strip_suffix(":latest").unwrap_or(TOOLS_IMAGE);
    format!("the lab image {name} is missing: run `workbook setup`")
}

async fn ensure_image(docker: &Docker) -> Result<(), String> {
    match docker.inspect_image(TOOLS_IMAGE).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Err(missing_image()),
        Err(e) => Err(describe(
            &format!("looking for the lab image {TOOLS_IMAGE}"),
            &e,
        )),
    }
}

/// The tmpfs run keeps the whole file in the Docker host's RAM.
async fn check_memory(docker: &Docker, opts: &BenchOptions) -> Result<(), String> {
    let info = docker
        .info()
        .await
        .map_err(|e| describe("reading the Docker host's memory size", &e))?;
    let Some(total) = info.mem_total.filter(|m| *m > 0) else {
        return Ok(());
    };
    let total_mib = total as u64 / (1024 * 1024);
    if opts.size_mb > total_mib / 2 {
        return Err(format!(
            "--size-mb {} is more than half the memory of the Docker host ({total_mib} MiB), \
             and the tmpfs run keeps the whole file in RAM: use a smaller --size-mb",
            opts.size_mb
        ));
    }
    Ok(())
}

async fn run_kind(docker: &Docker, opts: &BenchOptions, kind: Kind) -> Result<Timings, String> {
    match kind {
        Kind::ContainerLayer => run_container(docker, opts, HostConfig::default()).await,
        Kind::NamedVolume => {
            let volume = create_volume(docker).await?;
            let host = HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(TARGET.to_string()),
                    source: Some(volume.clone()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                ..Default::default()
            };
            let result = run_container(docker, opts, host).await;
            remove_volume(docker, &volume).await;
            result
        }
        Kind::BindMount => {
            let dir = tempfile::Builder::new()
                .prefix("workbook-bench-")
                .tempdir_in(std::env::temp_dir())
                .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
            let data = shared_folder(dir.path())?;
            let host = HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(TARGET.to_string()),
                    source: Some(data.to_string_lossy().into_owned()),
                    typ: Some(MountType::BIND),
                    ..Default::default()
                }]),
                ..Default::default()
            };
            let result = run_container(docker, opts, host).await;
            let shown = dir.path().display().to_string();
            if let Err(e) = dir.close() {
                eprintln!("warning: cannot remove the temporary folder {shown}: {e}");
            }
            result.map_err(|e| {
                if e.contains("does not exist") {
                    format!(
                        "{e}\nIs the Docker daemon on another machine (DOCKER_HOST)? It must see \
                         this machine's temporary folder for the bind-mount run."
                    )
                } else {
                    e
                }
            })
        }
        Kind::Tmpfs => {
            // The file plus room for the file system's own bookkeeping.
            let size = opts.size_mb + opts.size_mb / 8 + 8;
            let host = HostConfig {
                tmpfs: Some(HashMap::from([(
                    TARGET.to_string(),
                    format!("size={size}m"),
                )])),
                ..Default::default()
            };
            run_container(docker, opts, host).await
        }
    }
}

/// A world-writable folder inside the private (0700) temporary folder: the container's root
/// has no CAP_DAC_OVERRIDE, so it may not write into a folder another user owns, and nobody
/// else on the host can reach the folder through its parent.
fn shared_folder(parent: &Path) -> Result<std::path::PathBuf, String> {
    let data = parent.join("data");
    std::fs::create_dir(&data)
        .map_err(|e| format!("cannot create the folder {}: {e}", data.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| format!("cannot open up the folder {}: {e}", data.display()))?;
    }
    Ok(data)
}

async fn create_volume(docker: &Docker) -> Result<String, String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("workbook-bench-{}-{stamp}", std::process::id());
    let request = VolumeCreateRequest {
        name: Some(name.clone()),
        labels: Some(labels::helper(labels::ROLE_BENCH)),
        ..Default::default()
    };
    if let Ok(mut live) = LIVE_VOLUMES.lock() {
        live.push(name.clone());
    }
    match docker.create_volume(request).await {
        Ok(v) => Ok(v.name),
        Err(e) => {
            remove_volume(docker, &name).await;
            Err(describe("creating a temporary volume", &e))
        }
    }
}

/// Removes a bench volume; failures are reported on stderr, never hidden. A volume still in
/// use (HTTP 409) is retried for a while: its container may be in the middle of being removed,
/// e.g. when something else removed it first and our own removal returned early.
async fn remove_volume(docker: &Docker, name: &str) {
    let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match docker.remove_volume(name, Some(opts.clone())).await {
            Ok(()) => break,
            Err(e) if is_not_found(&e) => break,
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) if attempts < VOLUME_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => {
                eprintln!(
                    "warning: {}; remove it with `docker volume rm {name}`",
                    describe("removing the temporary bench volume", &e)
                );
                break;
            }
        }
    }
    if let Ok(mut live) = LIVE_VOLUMES.lock() {
        live.retain(|l| l != name);
    }
}

/// How often a volume in use is tried (250 ms apart).
const VOLUME_ATTEMPTS: u32 = 40;

/// Runs the script in one container with `host`'s storage at /bench; always removes it.
async fn run_container(
    docker: &Docker,
    opts: &BenchOptions,
    host: HostConfig,
) -> Result<Timings, String> {
    let cmd = vec![
        "sh".to_string(),
        "-c".to_string(),
        script(opts.size_mb, opts.rounds),
    ];
    let host = HostConfig {
        auto_remove: Some(false),
        ..host
    };
    let body = helpers::helper_body(TOOLS_IMAGE, labels::ROLE_BENCH, cmd, host);
    let id = match docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
    {
        Ok(r) => r.id,
        Err(e) if is_not_found(&e) => return Err(missing_image()),
        Err(e) => return Err(describe("creating the bench container", &e)),
    };
    helpers::track(&id);
    // Generous: a slow disk may write a few MiB/s.
    let budget = Duration::from_secs(120 + 2 * opts.size_mb * u64::from(opts.rounds));
    let result = match tokio::time::timeout(budget, execute(docker, &id)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the workload did not finish within {} s",
            budget.as_secs()
        )),
    };
    helpers::remove(docker, &id).await;
    result
}

/// Starts the container, waits for it, and parses its logs.
async fn execute(docker: &Docker, id: &str) -> Result<Timings, String> {
    docker
        .start_container(id, None::<StartContainerOptions>)
        .await
        .map_err(|e| describe("starting the bench container", &e))?;
    let mut exit = 0;
    let mut wait = docker.wait_container(id, None::<WaitContainerOptions>);
    while let Some(item) = wait.next().await {
        match item {
            Ok(r) => exit = r.status_code,
            Err(DockerError::DockerContainerWaitError { code, .. }) => exit = code,
            Err(e) => return Err(describe("waiting for the bench container", &e)),
        }
    }
    let logs = logs(docker, id).await?;
    if exit != 0 {
        return Err(format!(
            "the workload failed (exit code {exit}):\n{}",
            tail(&logs, 8)
        ));
    }
    parse_timings(&logs).map_err(|e| format!("{e}; the container printed:\n{}", tail(&logs, 8)))
}

async fn logs(docker: &Docker, id: &str) -> Result<String, String> {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut stream = docker.logs(id, Some(opts));
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        let chunk = item.map_err(|e| match e {
            // 404: gone; 409: "dead or marked for removal".
            DockerError::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            } => "the bench container was removed while it ran, by another program \
                  (another workbook command that cleans up helpers, or `docker rm`): run \
                  bench-io again"
                .to_string(),
            e => describe("reading the bench container's output", &e),
        })?;
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok(text)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    if lines.is_empty() {
        "(nothing)".to_string()
    } else {
        lines[start..].join("\n")
    }
}

/// The workload. Busybox `date` often lacks `%N`, so the script picks the finest clock it has:
/// `date +%s%N` (ns), else `adjtimex` (µs, readable without privileges), else `/proc/uptime`
/// (10 ms), and says which with a `clock=` line.
fn script(size_mb: u64, rounds: u32) -> String {
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
struct Timings {
    clock: Clock,
    rounds: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Nanos,
    Micros,
    Centis,
}

impl Clock {
    /// The clock's resolution in ns: a phase faster than this still took one tick.
    fn tick_ns(self) -> u64 {
        match self {
            Clock::Nanos => 1,
            Clock::Micros => 1_000,
            Clock::Centis => 10_000_000,
        }
    }
}

/// Parses the `clock=`, `write_ns=` and `read_ns=` lines; everything else (dd's own output)
/// is ignored. Each `write_ns` must be followed by its `read_ns`.
fn parse_timings(logs: &str) -> Result<Timings, String> {
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
                    other => return Err(format!("unknown clock `{other}`")),
                }
            }
            "write_ns" => {
                if pending.is_some() {
                    return Err("two write timings without a read timing between".to_string());
                }
                pending = Some(number("write_ns", value)?);
            }
            "read_ns" => {
                let Some(write) = pending.take() else {
                    return Err("a read timing without a write timing before it".to_string());
                };
                rounds.push((write, number("read_ns", value)?));
            }
            _ => {}
        }
    }
    if pending.is_some() {
        return Err("the last write timing has no read timing".to_string());
    }
    if rounds.is_empty() {
        return Err("no timing lines (write_ns=..., read_ns=...) were printed".to_string());
    }
    Ok(Timings { clock, rounds })
}

/// MiB/s for `size_mb` MiB in `ns`, counting at least one clock tick.
fn throughput(size_mb: u64, ns: u64, clock: Clock) -> f64 {
    let ns = ns.max(clock.tick_ns()) as f64;
    size_mb as f64 * 1e9 / ns
}

fn median(mut values: Vec<f64>) -> f64 {
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

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn summarize(kind: &str, size_mb: u64, t: &Timings) -> KindResult {
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

fn note(clocks: &[Clock]) -> String {
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

/// A horizontal bar chart for the terminal: one bar per kind for write and one for read,
/// scaled to the fastest, labelled with MiB/s; `width` is the terminal width; `color` toggles
/// console styling.
///
/// Write bars are scaled to the fastest write and read bars to the fastest read: reads from the
/// page cache are often ten times faster, which would flatten every write bar.
pub fn chart(report: &BenchReport, width: usize, color: bool) -> String {
    let paint = |text: &str, style: console::Style| -> String {
        if color && !text.is_empty() {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let rounds = report.results.first().map(|r| r.rounds).unwrap_or(0);
    let mut lines = vec![paint(
        &fit(
            &format!(
                "bench-io: {} MiB written (fsync) and read back, median of {rounds} round{}",
                report.size_mb,
                if rounds == 1 { "" } else { "s" }
            ),
            width,
        ),
        console::Style::new().bold(),
    )];
    if report.results.is_empty() {
        lines.push(fit("no results", width));
    }
    let label_w = report
        .results
        .iter()
        .map(|r| r.kind.chars().count())
        .max()
        .unwrap_or(0);
    let value = |v: f64| format!("{:.1} MiB/s", clean(v));
    let value_w = report
        .results
        .iter()
        .flat_map(|r| [value(r.write_mib_s), value(r.read_mib_s)])
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    // "  label bar value"
    let fixed = 2 + label_w + 1 + 1 + value_w;
    let bar_w = width.saturating_sub(fixed).min(MAX_BAR);
    type Pick = fn(&KindResult) -> f64;
    let phases: [(&str, Pick, console::Style); 2] = [
        ("write", |r| r.write_mib_s, console::Style::new().cyan()),
        ("read", |r| r.read_mib_s, console::Style::new().green()),
    ];
    for (phase, pick, style) in phases {
        if report.results.is_empty() {
            break;
        }
        lines.push(String::new());
        lines.push(paint(&fit(phase, width), console::Style::new().bold()));
        let max = report
            .results
            .iter()
            .map(|r| clean(pick(r)))
            .fold(0.0, f64::max);
        for r in &report.results {
            let v = clean(pick(r));
            let text = value(v);
            if bar_w < 4 {
                // Too narrow for bars: label and value only, cut to the width.
                lines.push(fit(&format!("{} {text}", r.kind), width));
                continue;
            }
            let bar = bar(v, max, bar_w);
            let pad = " ".repeat(bar_w - bar.chars().count());
            lines.push(format!(
                "  {:<label_w$} {}{pad} {text:>value_w$}",
                r.kind,
                paint(&bar, style.clone()),
            ));
        }
    }
    if !report.note.is_empty() {
        lines.push(String::new());
        let wrap = width.clamp(1, 100);
        for line in textwrap::wrap(&report.note, wrap) {
            lines.push(paint(&fit(&line, width), console::Style::new().dim()));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A finite, non-negative throughput.
fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

/// `v / max` of `width` cells in block characters, with eighths for the last cell; a positive
/// value always shows at least a sliver.
fn bar(v: f64, max: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max <= 0.0 || v <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = ((v / max).min(1.0) * width as f64 * 8.0).round() as usize;
    let eighths = eighths.clamp(1, width * 8);
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// The first `width` characters of `s`.
fn fit(s: &str, width: usize) -> String {
    s.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BenchReport {
        let r = |kind: &str, w: f64, rd: f64| KindResult {
            kind: kind.to_string(),
            write_mib_s: w,
            read_mib_s: rd,
            rounds: 3,
        };
        BenchReport {
            version: 1,
            size_mb: 64,
            results: vec![
                r("container-layer", 100.0, 2000.0),
                r("named-volume", 400.0, 4000.0),
                r("bind-mount", 200.0, 1000.0),
                r("tmpfs", 800.0, 4000.0),
            ],
            note: "Reads come from the page cache; tmpfs is RAM.".to_string(),
        }
    }

    fn bar_cells(line: &str) -> f64 {
        line.chars()
            .map(|c| match c {
                '█' => 1.0,
                '▏' | '▎' | '▍' | '▌' | '▋' | '▊' | '▉' => 0.5,
                _ => 0.0,
            })
            .sum()
    }

    #[test]
    fn bars_are_scaled_to_the_fastest_of_each_phase() {
        let text = chart(&report(), 100, false);
        let row = |phase: &str, kind: &str| -> String {
            let mut lines = text.lines().skip_while(|l| *l != phase);
            lines
                .find(|l| l.trim_start().starts_with(kind))
                .unwrap()
                .to_string()
        };
        let full = bar_cells(&row("write", "tmpfs"));
        assert!(full >= 10.0, "{text}");
        assert_eq!(bar_cells(&row("write", "named-volume")), full / 2.0);
        assert_eq!(bar_cells(&row("write", "bind-mount")), full / 4.0);
        assert_eq!(bar_cells(&row("write", "container-layer")), full / 8.0);
        assert_eq!(bar_cells(&row("read", "tmpfs")), full);
        assert_eq!(bar_cells(&row("read", "named-volume")), full);
        assert_eq!(bar_cells(&row("read", "bind-mount")), full / 4.0);
        assert!(row("write", "tmpfs").ends_with("800.0 MiB/s"));
        assert!(row("read", "bind-mount").ends_with("1000.0 MiB/s"));
    }

    #[test]
    fn never_wider_than_the_width() {
        for width in [0, 1, 5, 20, 33, 34, 40, 80, 200] {
            for color in [false, true] {
                let text = chart(&report(), width, color);
                for line in text.lines() {
                    assert!(
                        console::measure_text_width(line) <= width,
                        "width {width}: {line:?}"
                    );
                }
            }
        }
        // Wide terminals do not get absurd bars.
        let wide = chart(&report(), 500, false);
        assert!(wide
            .lines()
            .all(|l| l.chars().count() <= 2 + 15 + 1 + MAX_BAR + 1 + 13));
    }

    #[test]
    fn color_only_when_asked() {
        let plain = chart(&report(), 80, false);
        assert!(!plain.contains('\x1b'));
        let colored = chart(&report(), 80, true);
        assert!(colored.contains('\x1b'));
        assert_eq!(console::strip_ansi_codes(&colored), plain);
    }

    #[test]
    fn slow_and_broken_values_do_not_break_the_chart() {
        let mut r = report();
        r.results[0].write_mib_s = 0.001;
        r.results[1].write_mib_s = f64::NAN;
        r.results[2].read_mib_s = f64::INFINITY;
        let text = chart(&r, 60, false);
        let layer = text
            .lines()
            .find(|l| l.trim_start().starts_with("container-layer"))
            .unwrap();
        assert!(bar_cells(layer) > 0.0, "a positive value shows a sliver");
        assert!(chart(
            &BenchReport {
                results: vec![],
                ..r
            },
            40,
            false
        )
        .contains("no results"));
    }

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

    async fn leftovers(docker: &Docker) -> usize {
        let filters = HashMap::from([(
            "label",
            vec![format!("{}={}", labels::ROLE, labels::ROLE_BENCH)],
        )]);
        let containers = docker
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        let volumes = docker
            .list_volumes(Some(
                bollard::query_parameters::ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        containers.len() + volumes.volumes.map(|v| v.len()).unwrap_or(0)
    }

    /// Runs against the real daemon; skips when there is none (or no lab image).
    #[tokio::test]
    async fn runs_all_four_kinds_and_leaves_nothing_behind() {
        let Ok(engine) = crate::docker::engine::connect().await else {
            eprintln!("skipped: no Docker daemon");
            return;
        };
        let docker = engine.docker;
        if docker.inspect_image(TOOLS_IMAGE).await.is_err() {
            eprintln!("skipped: {}", missing_image());
            return;
        }
        let opts = BenchOptions {
            size_mb: 4,
            rounds: 1,
        };
        let report = run(&docker, &opts).await.unwrap();
        assert_eq!(report.version, 1);
        assert_eq!(report.size_mb, 4);
        let kinds: Vec<&str> = report.results.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["container-layer", "named-volume", "bind-mount", "tmpfs"]
        );
        for r in &report.results {
            assert!(r.write_mib_s > 0.0 && r.write_mib_s.is_finite(), "{r:?}");
            assert!(r.read_mib_s > 0.0 && r.read_mib_s.is_finite(), "{r:?}");
            assert_eq!(r.rounds, 1);
        }
        assert_eq!(leftovers(&docker).await, 0);
    }
}
