//! `workbook doctor`: diagnoses this machine for the workbook, for an instructor setting up a
//! room or a learner stuck before the first exercise.
//!
//! One check per line: the Docker endpoint and how it was chosen, whether the daemon answers
//! (engine and API versions, OS/arch, storage driver), whether a registry answers (else the
//! static busybox the lab images are built from), the lab images, free disk for the daemon's
//! data root, a bind mount from the workspace that really works (Docker Desktop file sharing),
//! Docker Compose, and workbook-labelled leftovers. Every problem comes with the command that
//! fixes it.
//!
//! The doctor only reads, with two exceptions it cleans up itself: the bind-mount probe (a
//! temporary folder with a marker file and a helper container that is created, never started,
//! and always removed) and the pull of the tiny `busybox` base image that `workbook setup` would
//! pull anyway. It never removes anything else, leftovers included: it names the command.
//!
//! Exit code: 0 when nothing failed (warnings are things worth knowing, e.g. working offline),
//! 1 when a check failed, 2 when the daemon cannot be reached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::models::{HostConfig, Mount, MountType, SystemInfo, SystemVersion};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder,
};
use bollard::Docker;
use console::style;
use futures_util::StreamExt;
use serde::Serialize;

use crate::docker::endpoint::{self, Address, Endpoint, Env};
use crate::docker::engine::{self, describe, is_not_found};
use crate::docker::helpers;
use crate::docker::images::{self, PULL_BASE, TOOLS_IMAGE};
use crate::docker::labels;
use crate::grading::probe;
use crate::learner::workspace::Workspace;
use crate::ui::output::{json, out};

/// How long a registry gets to deliver the tiny base image.
const PULL_TIMEOUT: Duration = Duration::from_secs(8);
/// How long `docker compose version` / `docker-compose version` may take.
const COMPOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Helpers older than this are leftovers of an interrupted run (as in [`helpers::sweep`]).
const LEFTOVER_AGE_SECS: i64 = 120;
/// Below this much free space on the daemon's data root, a check fails; below `DISK_WARN`, it warns.
const DISK_FAIL: u64 = 1 << 30;
const DISK_WARN: u64 = 5 << 30;
/// The oldest Engine API the workbook is tested with (Docker 20.10).
const MIN_API: (u32, u32) = (1, 41);
/// Where the bind-mount probe mounts the temporary folder.
const BIND_TARGET: &str = "/probe";
const MARKER: &str = "marker";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    /// Worth knowing; the workbook still works.
    Warn,
    /// Something the workbook needs is missing or broken.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier: endpoint, engine, registry, busybox, images, disk, bind-mount,
    /// compose, leftovers.
    pub id: &'static str,
    pub status: CheckStatus,
    /// One line for people.
    pub summary: String,
    /// The command (with a few words) that fixes the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(id: &'static str, summary: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Ok,
            summary: summary.into(),
            fix: None,
        }
    }
    fn warn(id: &'static str, summary: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Warn,
            summary: summary.into(),
            fix,
        }
    }
    fn fail(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Fail,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Ok,
    Problems,
    Unreachable,
}

/// What `doctor --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The format of this report: 1.
    pub version: u32,
    pub status: Overall,
    pub checks: Vec<Check>,
}

impl Report {
    /// Aggregates the checks: unreachable wins, then any failure; warnings alone are ok.
    pub fn new(checks: Vec<Check>, reachable: bool) -> Report {
        let status = if !reachable {
            Overall::Unreachable
        } else if checks.iter().any(|c| c.status == CheckStatus::Fail) {
            Overall::Problems
        } else {
            Overall::Ok
        };
        Report {
            version: 1,
            status,
            checks,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self.status {
            Overall::Ok => 0,
            Overall::Problems => 1,
            Overall::Unreachable => 2,
        }
    }
}

/// `workbook doctor [--json]`: runs every check, prints them, returns the exit code.
pub async fn run(workspace: Option<&Path>, as_json: bool) -> Result<i32, String> {
    let report = diagnose(workspace).await;
    if as_json {
        json(&report);
    } else {
        out(&render(
            &report,
            crate::ui::render::Style::for_stdout().color,
        ));
    }
    Ok(report.exit_code())
}

/// Runs every check. Never fails: what goes wrong becomes a check.
pub async fn diagnose(workspace: Option<&Path>) -> Report {
    let env = Env::from_process();
    let (endpoint_check, endpoint) = endpoint_check(&env);
    let mut checks = vec![endpoint_check];
    let local = async {
        let (compose, busybox) = tokio::join!(compose_check(), async { images::host_busybox() });
        (compose, busybox)
    };
    let Some(endpoint) = endpoint else {
        // No endpoint, no daemon: the host-only checks still help.
        let (compose, busybox) = local.await;
        checks.push(Check::fail(
            "engine",
            "cannot reach the Docker daemon: no usable endpoint (see above)",
            "correct the endpoint (above), then run `workbook doctor` again",
        ));
        checks.push(busybox_check(&busybox, None));
        checks.push(compose);
        return Report::new(checks, false);
    };
    let engine = match engine::connect().await {
        Ok(engine) => engine,
        Err(e) => {
            let (compose, busybox) = local.await;
            checks.push(unreachable_check(
                &endpoint,
                &e,
                &other_sockets(&env, &endpoint),
            ));
            checks.push(busybox_check(&busybox, None));
            checks.push(compose);
            return Report::new(checks, false);
        }
    };
    let docker = &engine.docker;
    let (version, info) = tokio::join!(docker.version(), docker.info());
    let info = info.map_err(|e| describe("reading the daemon's information", &e));
    let version = version.map_err(|e| describe("reading the daemon's version", &e));
    let dir = bind_dir(workspace);
    let ((compose, busybox), registry, stale, bind, leftovers) = tokio::join!(
        local,
        pull_base(docker),
        stale_images(docker),
        bind_check(docker, &engine.endpoint, info.as_ref().ok(), &dir),
        leftovers_check(docker),
    );
    checks.push(engine_check(&version, &info));
    let images_fresh = matches!(&stale, Ok(s) if s.is_empty());
    checks.push(registry_check(&registry, &busybox, images_fresh));
    checks.push(busybox_check(&busybox, Some(registry.is_ok())));
    checks.push(images_check(&stale));
    checks.push(disk_check(&engine.endpoint, &info));
    checks.push(bind);
    checks.push(compose);
    checks.push(leftovers);
    Report::new(checks, true)
}

// ---------------------------------------------------------------- output

fn mark(status: CheckStatus, color: bool) -> String {
    let m = match status {
        CheckStatus::Ok => style("✓").green().bold(),
        CheckStatus::Warn => style("!").yellow().bold(),
        CheckStatus::Fail => style("✗").red().bold(),
    };
    m.force_styling(color).to_string()
}

/// The checklist: one line per check, an indented fix line under each problem, and a verdict.
pub fn render(report: &Report, color: bool) -> String {
    let mut text = String::new();
    for c in &report.checks {
        text.push_str(&format!("{} {}\n", mark(c.status, color), c.summary));
        if let Some(fix) = &c.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                text.push_str(&format!("    {lead} {line}\n"));
            }
        }
    }
    let fails = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    let warns = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Warn)
        .count();
    let warnings = match warns {
        0 => String::new(),
        1 => " (1 warning)".to_string(),
        n => format!(" ({n} warnings)"),
    };
    let verdict = match report.status {
        Overall::Ok => style(format!("All good: this machine is ready for the workbook{warnings}."))
            .green()
            .bold(),
        Overall::Problems => style(format!(
            "{fails} problem{} found{warnings}: run the fixes above, then `workbook doctor` again.",
            if fails == 1 { "" } else { "s" }
        ))
        .red()
        .bold(),
        Overall::Unreachable => style(
            "The Docker daemon cannot be reached: fix that first, then run `workbook doctor` again \
             (the images, registry, disk, bind-mount and leftover checks need the daemon)."
                .to_string(),
        )
        .red()
        .bold(),
    };
    text.push_str(&format!("{}\n", verdict.force_styling(color)));
    text
}

// ---------------------------------------------------------------- endpoint and engine

fn url(address: &Address) -> String {
    match address {
        Address::Unix(p) => format!("unix://{}", p.display()),
        Address::Tcp(h) => format!("tcp://{h}"),
    }
}

/// The sockets the default resolution looks at, in its order (as `endpoint::resolve` does).
fn socket_candidates(env: &Env) -> Vec<(PathBuf, &'static str)> {
    let mut c = vec![(PathBuf::from("/var/run/docker.sock"), "rootful Docker")];
    if let Some(run) = &env.xdg_runtime_dir {
        c.push((run.join("docker.sock"), "rootless Docker"));
    }
    if let Some(home) = &env.home {
        c.push((home.join(".docker/run/docker.sock"), "Docker Desktop"));
        c.push((home.join(".docker/desktop/docker.sock"), "Docker Desktop"));
    }
    c
}

/// Sockets on this machine other than the endpoint's: (path, what it usually is).
fn other_sockets(env: &Env, endpoint: &Endpoint) -> Vec<(PathBuf, &'static str)> {
    let chosen = match &endpoint.address {
        Address::Unix(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()),
        Address::Tcp(_) => PathBuf::new(),
    };
    socket_candidates(env)
        .into_iter()
        .filter(|(p, _)| p.exists())
        .filter(|(p, _)| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()) != chosen)
        .collect()
}

/// The endpoint and how it was chosen; `None` when none can be used.
fn endpoint_check(env: &Env) -> (Check, Option<Endpoint>) {
    match endpoint::resolve(env) {
        Ok(ep) => {
            let others = other_sockets(env, &ep);
            (endpoint_summary(env, &ep, &others), Some(ep))
        }
        Err(e) => (endpoint_error(env, &e), None),
    }
}

fn endpoint_summary(env: &Env, ep: &Endpoint, others: &[(PathBuf, &str)]) -> Check {
    let how = if ep.source == "DOCKER_HOST" {
        "set by DOCKER_HOST".to_string()
    } else if ep.source.starts_with("docker context") {
        let from = if env.docker_context.is_some() {
            "DOCKER_CONTEXT".to_string()
        } else {
            "the current context in the docker CLI's config.json".to_string()
        };
        format!("from the {} ({from})", ep.source)
    } else {
        format!(
            "{}, as neither DOCKER_HOST nor a docker context is set",
            ep.source
        )
    };
    let mut summary = format!("Docker endpoint {}: {how}", url(&ep.address));
    if !others.is_empty() {
        let list: Vec<String> = others
            .iter()
            .map(|(p, what)| format!("{} ({what})", p.display()))
            .collect();
        summary.push_str(&format!("; other sockets here: {}", list.join(", ")));
    }
    Check::ok("endpoint", summary)
}

/// A DOCKER_HOST or docker context workbook cannot use.
fn endpoint_error(env: &Env, error: &str) -> Check {
    let first = error.lines().next().unwrap_or(error);
    let summary = first
        .split(". Point ")
        .next()
        .and_then(|s| s.split(": run `").next())
        .unwrap_or(first)
        .trim_end_matches('.');
    let fix = if env.docker_host.is_some() {
        "`unset DOCKER_HOST` to use the default socket, or point it at a socket or tcp:// address: \
         `export DOCKER_HOST=unix:///var/run/docker.sock`"
    } else if env.docker_context.is_some() {
        "`unset DOCKER_CONTEXT` (or `docker context ls` to pick one that exists)"
    } else {
        "`docker context use default` (or `docker context ls` to pick another)"
    };
    Check::fail("endpoint", summary, fix)
}

fn start_docker(ep: &Endpoint) -> String {
    if ep.source.contains("rootless") {
        "start Docker: `systemctl --user start docker`".to_string()
    } else if ep.source.contains("Desktop") {
        "start Docker Desktop (open the app), then run `workbook doctor` again".to_string()
    } else {
        "start Docker: `sudo systemctl start docker` (or open Docker Desktop)".to_string()
    }
}

/// Why the daemon did not answer, and what fixes it. `error` is [`engine::connect`]'s message.
fn unreachable_check(ep: &Endpoint, error: &str, others: &[(PathBuf, &str)]) -> Check {
    let at = format!("cannot reach the Docker daemon at {ep}");
    let alternative = others
        .first()
        .map(|(p, what)| format!("`export DOCKER_HOST=unix://{}` ({what})", p.display()));
    let (why, fix) = match &ep.address {
        Address::Unix(path) if !path.exists() => {
            let why = format!("the socket {} does not exist", path.display());
            let fix = match (ep.source.as_str(), alternative) {
                ("DOCKER_HOST", Some(alt)) => {
                    format!("{alt}, or `unset DOCKER_HOST` to use the default socket")
                }
                ("DOCKER_HOST", None) => format!(
                    "`unset DOCKER_HOST` (it points at no socket), then {}",
                    start_docker(ep)
                ),
                (s, _) if s.starts_with("docker context") => {
                    format!("{}, or `docker context use default`", start_docker(ep))
                }
                _ => start_docker(ep),
            };
            (why, fix)
        }
        Address::Unix(path) if error.contains("ermission denied") => (
            format!("permission denied on the socket {}", path.display()),
            "let your user use Docker: `sudo usermod -aG docker $USER`, then log out and back in \
             (or `newgrp docker`)"
                .to_string(),
        ),
        Address::Unix(path) if error.contains("onnection refused") => (
            format!("nothing answers on the socket {}", path.display()),
            start_docker(ep),
        ),
        _ if error.contains("did not answer within") => (
            "it accepted the connection but did not answer".to_string(),
            "restart Docker: `sudo systemctl restart docker` (or restart Docker Desktop); \
             `docker info` shows when it answers again"
                .to_string(),
        ),
        Address::Tcp(host) => (
            first_reason(error),
            format!(
                "check that a daemon listens on tcp://{host}, or `unset DOCKER_HOST` to use this \
                 machine's Docker"
            ),
        ),
        Address::Unix(_) => (first_reason(error), start_docker(ep)),
    };
    Check::fail("engine", format!("{at}: {why}"), fix)
}

/// The cause in [`engine::connect`]'s message, without its "cannot reach ..." prefix and fix.
fn first_reason(error: &str) -> String {
    let first = error.lines().next().unwrap_or(error);
    let reason = match first.find(": ") {
        Some(i) if first.starts_with("cannot reach") => &first[i + 2..],
        _ => first,
    };
    reason.trim_end_matches('.').to_string()
}

/// "1.41" → (1, 41).
fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn engine_check(
    version: &Result<SystemVersion, String>,
    info: &Result<SystemInfo, String>,
) -> Check {
    let v = match version {
        Ok(v) => v,
        Err(e) => {
            return Check::warn(
                "engine",
                format!("the Docker daemon answers, but its version could not be read: {e}"),
                Some("`docker version` shows whether the daemon is healthy".to_string()),
            )
        }
    };
    let unknown = || "?".to_string();
    let mut parts = vec![format!(
        "API {}",
        v.api_version.clone().unwrap_or_else(unknown)
    )];
    parts.push(format!(
        "{}/{}",
        v.os.clone().unwrap_or_else(unknown),
        v.arch.clone().unwrap_or_else(unknown)
    ));
    if let Ok(info) = info {
        if let Some(os) = info.operating_system.as_deref().filter(|s| !s.is_empty()) {
            parts.push(os.to_string());
        }
        if let Some(driver) = info.driver.as_deref() {
            parts.push(format!("storage driver {driver}"));
        }
        let rootless = info
            .security_options
            .iter()
            .flatten()
            .any(|o| o.contains("name=rootless"));
        if rootless {
            parts.push("rootless".to_string());
        }
    }
    let summary = format!(
        "Docker Engine {} answers: {}",
        v.version.clone().unwrap_or_else(unknown),
        parts.join(", ")
    );
    match v.api_version.as_deref().and_then(parse_api) {
        Some(api) if api < MIN_API => Check::warn(
            "engine",
            format!(
                "{summary}; the workbook is tested on Docker 20.10 (API {}.{}) and newer",
                MIN_API.0, MIN_API.1
            ),
            Some("upgrade Docker: https://docs.docker.com/engine/install/".to_string()),
        ),
        _ => Check::ok("engine", summary),
    }
}

// ---------------------------------------------------------------- registry, busybox, images

/// Pulls the tiny base image within [`PULL_TIMEOUT`].
async fn pull_base(docker: &Docker) -> Result<(), String> {
    let pull = async {
        let opts = CreateImageOptionsBuilder::default()
            .from_image(PULL_BASE)
            .build();
        let mut stream = docker.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| describe(&format!("pulling {PULL_BASE}"), &e))?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(err);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(PULL_TIMEOUT, pull).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "pulling {PULL_BASE} took over {} s",
            PULL_TIMEOUT.as_secs()
        )),
    }
}

fn one_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim_end_matches('.')
}

const INSTALL_BUSYBOX: &str = "`sudo apt-get install busybox-static` (Debian/Ubuntu), or set \
                               WORKBOOK_BUSYBOX to a static busybox binary";

fn registry_check(
    pulled: &Result<(), String>,
    busybox: &Result<PathBuf, String>,
    images_fresh: bool,
) -> Check {
    let reason = match pulled {
        Ok(()) => {
            return Check::ok(
                "registry",
                format!("a registry answers: pulled {PULL_BASE}, the base of the lab images"),
            )
        }
        Err(e) => one_line(e),
    };
    match busybox {
        Ok(_) => Check::warn(
            "registry",
            format!(
                "offline: lab images are built from the host's static busybox (no registry: {reason})"
            ),
            None,
        ),
        Err(_) if images_fresh => Check::warn(
            "registry",
            format!(
                "offline and no static busybox: the lab images are here, but could not be rebuilt \
                 (no registry: {reason})"
            ),
            Some(INSTALL_BUSYBOX.to_string()),
        ),
        Err(_) => Check::fail(
            "registry",
            format!(
                "offline and no static busybox: the lab images cannot be built (no registry: {reason})"
            ),
            INSTALL_BUSYBOX,
        ),
    }
}

/// `registry_ok`: whether a registry answered (`None`: unknown, the daemon is unreachable).
fn busybox_check(busybox: &Result<PathBuf, String>, registry_ok: Option<bool>) -> Check {
    match busybox {
        Ok(p) => Check::ok(
            "busybox",
            format!(
                "static busybox at {}: the lab images can be built offline",
                p.display()
            ),
        ),
        Err(_) => {
            let summary = match registry_ok {
                Some(true) => {
                    "no static busybox: fine while a registry answers, needed to build the lab \
                     images offline"
                }
                _ => "no static busybox: needed to build the lab images when no registry answers",
            };
            Check::warn("busybox", summary, Some(INSTALL_BUSYBOX.to_string()))
        }
    }
}

/// Stale lab images, each with whether it is missing (`true`) or out of date (`false`).
async fn stale_images(docker: &Docker) -> Result<Vec<(&'static str, bool)>, String> {
    let mut out = Vec::new();
    for tag in images::stale(docker).await? {
        let missing = matches!(docker.inspect_image(tag).await, Err(e) if is_not_found(&e));
        out.push((tag, missing));
    }
    Ok(out)
}

fn short(tag: &str) -> &str {
    tag.strip_suffix(":latest").unwrap_or(tag)
}

fn images_check(stale: &Result<Vec<(&'static str, bool)>, String>) -> Check {
    let stale = match stale {
        Ok(s) => s,
        Err(e) => {
            return Check::warn(
                "images",
                format!("the lab images could not be checked: {}", one_line(e)),
                Some("`docker image ls workbook/*` lists them".to_string()),
            )
        }
    };
    if stale.is_empty() {
        let all: Vec<&str> = images::ALL.iter().map(|t| short(t)).collect();
        return Check::ok(
            "images",
            format!("lab images present and up to date: {}", all.join(", ")),
        );
    }
    let missing: Vec<&str> = stale.iter().filter(|s| s.1).map(|s| short(s.0)).collect();
    let outdated: Vec<&str> = stale.iter().filter(|s| !s.1).map(|s| short(s.0)).collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing: {}", missing.join(", ")));
    }
    if !outdated.is_empty() {
        parts.push(format!("out of date: {}", outdated.join(", ")));
    }
    Check::fail(
        "images",
        format!("lab images {}", parts.join("; ")),
        "`workbook setup` builds them",
    )
}

// ---------------------------------------------------------------- disk

/// Free and total bytes of the file system holding `path`.
#[cfg(unix)]
// The statvfs field types differ between platforms (u32 on some, u64 on Linux).
#[allow(clippy::useless_conversion)]
fn free_space(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs only writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = u64::from(st.f_frsize);
    Ok((
        u64::from(st.f_bavail).saturating_mul(unit),
        u64::from(st.f_blocks).saturating_mul(unit),
    ))
}

#[cfg(not(unix))]
fn free_space(_path: &Path) -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "not measured on this platform",
    ))
}

/// Disk space in GiB with one decimal ("0.1 GiB free of 100.0 GiB"), free and total in one
/// unit so they read side by side, not [`crate::ui::bytes::human`]'s fitting unit.
fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / crate::ui::bytes::GIB as f64)
}

fn is_desktop(info: &SystemInfo) -> bool {
    info.operating_system
        .as_deref()
        .is_some_and(|o| o.contains("Docker Desktop"))
}

fn disk_check(ep: &Endpoint, info: &Result<SystemInfo, String>) -> Check {
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            return Check::warn(
                "disk",
                format!(
                    "free disk not measured: the daemon's data root is unknown ({})",
                    one_line(e)
                ),
                None,
            )
        }
    };
    let Some(root) = info.docker_root_dir.as_deref().filter(|r| !r.is_empty()) else {
        return Check::warn(
            "disk",
            "free disk not measured: the daemon did not say where it keeps its data",
            None,
        );
    };
    if let Address::Tcp(host) = &ep.address {
        return Check::warn(
            "disk",
            format!(
                "free disk for {root} cannot be measured: the daemon is on another machine (tcp://{host})"
            ),
            Some(format!("on the Docker host: `df -h {root}`")),
        );
    }
    if is_desktop(info) {
        return Check::warn(
            "disk",
            format!("free disk for {root} cannot be measured: Docker Desktop keeps it in its virtual machine"),
            Some("Docker Desktop: Settings → Resources → Advanced shows the disk limit; `docker system df` what is used".to_string()),
        );
    }
    match free_space(Path::new(root)) {
        Ok((free, total)) => disk_verdict(root, free, total),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Check::warn(
            "disk",
            format!(
                "free disk for {root} cannot be measured: that folder is not on this machine \
                 (the daemon runs in a virtual machine or elsewhere)"
            ),
            Some(format!("on the Docker host: `df -h {root}`")),
        ),
        Err(e) => Check::warn(
            "disk",
            format!("free disk for {root} cannot be measured: {e}"),
            Some(format!("`df -h {root}`")),
        ),
    }
}

fn disk_verdict(root: &str, free: u64, total: u64) -> Check {
    let summary = format!(
        "{} free of {} for the daemon's data ({root})",
        gib(free),
        gib(total)
    );
    let fix = format!(
        "free space on the disk of {root}: `docker system df` shows what Docker itself uses"
    );
    if free < DISK_FAIL {
        Check::fail("disk", format!("only {summary}"), fix)
    } else if free < DISK_WARN {
        Check::warn("disk", format!("only {summary}"), Some(fix))
    } else {
        Check::ok("disk", summary)
    }
}

// ---------------------------------------------------------------- bind mount

/// The folder the bind-mount probe uses: the workspace, else the current folder.
fn bind_dir(explicit: Option<&Path>) -> PathBuf {
    if let Ok(Some(ws)) = Workspace::find(explicit) {
        return ws.root;
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// An image the probe can be created from: the tools image, else a local busybox.
async fn probe_image(docker: &Docker) -> Option<&'static str> {
    for image in [TOOLS_IMAGE, PULL_BASE] {
        if docker.inspect_image(image).await.is_ok() {
            return Some(image);
        }
    }
    None
}

fn bind_fix(ep: &Endpoint, info: Option<&SystemInfo>, dir: &Path) -> String {
    if let Address::Tcp(host) = &ep.address {
        format!(
            "the daemon runs on another machine (tcp://{host}) and sees its own files: work on the \
             Docker host, or `unset DOCKER_HOST` to use a local daemon"
        )
    } else if info.is_some_and(is_desktop) {
        format!(
            "share {} with Docker Desktop: Settings → Resources → File sharing, add it, Apply & \
             restart",
            dir.display()
        )
    } else {
        format!(
            "try it by hand: `docker run --rm -v \"{}:/probe:ro\" busybox ls /probe`",
            dir.display()
        )
    }
}

async fn bind_check(
    docker: &Docker,
    ep: &Endpoint,
    info: Option<&SystemInfo>,
    dir: &Path,
) -> Check {
    let Some(image) = probe_image(docker).await else {
        return Check::warn(
            "bind-mount",
            format!(
                "bind mounts from {} not tested: it needs the lab image {}",
                dir.display(),
                short(TOOLS_IMAGE)
            ),
            Some("`workbook setup`, then `workbook doctor` again".to_string()),
        );
    };
    let folder = match tempfile::Builder::new()
        .prefix(".workbook-doctor-")
        .tempdir_in(dir)
    {
        Ok(f) => f,
        Err(e) => {
            return Check::warn(
                "bind-mount",
                format!(
                    "bind mounts from {} not tested: cannot create a folder there: {e}",
                    dir.display()
                ),
                Some(
                    "run `workbook doctor` in a folder you can write to (your workspace)"
                        .to_string(),
                ),
            )
        }
    };
    let token = format!(
        "workbook doctor {} {}\n",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let result = match std::fs::write(folder.path().join(MARKER), &token) {
        Ok(()) => bind_probe(docker, image, folder.path(), token.as_bytes()).await,
        Err(e) => Err(BindError::Local(format!(
            "cannot write into {}: {e}",
            folder.path().display()
        ))),
    };
    let shown = folder.path().display().to_string();
    if let Err(e) = folder.close() {
        eprintln!("warning: cannot remove the temporary folder {shown}: {e}");
    }
    let d = dir.display();
    match result {
        Ok(()) => Check::ok("bind-mount", format!("bind mounts from {d} work")),
        Err(BindError::Local(e)) => Check::warn(
            "bind-mount",
            format!("bind mounts from {d} not tested: {e}"),
            None,
        ),
        Err(BindError::Daemon(e)) => Check::fail(
            "bind-mount",
            format!("bind mounts from {d} do not work: {e}"),
            bind_fix(ep, info, dir),
        ),
    }
}

enum BindError {
    /// Something on this side (not the daemon) kept the test from running.
    Local(String),
    /// The daemon could not show the folder's file.
    Daemon(String),
}

/// Creates a stopped helper with `folder` bind-mounted read-only, reads the marker back through
/// the archive endpoint, and removes the helper whatever happened.
async fn bind_probe(
    docker: &Docker,
    image: &str,
    folder: &Path,
    token: &[u8],
) -> Result<(), BindError> {
    let host = HostConfig {
        mounts: Some(vec![Mount {
            target: Some(BIND_TARGET.to_string()),
            source: Some(folder.to_string_lossy().into_owned()),
            typ: Some(MountType::BIND),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let body = helpers::helper_body(image, labels::ROLE_PROBE, vec!["true".to_string()], host);
    let id = match docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
    {
        Ok(r) => r.id,
        Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
            return Err(BindError::Daemon(format!("the daemon said: {message}")))
        }
        Err(e) => {
            return Err(BindError::Daemon(describe(
                "creating the bind-mount probe",
                &e,
            )))
        }
    };
    helpers::track(&id);
    let read = read_marker(docker, &id).await;
    helpers::remove(docker, &id).await;
    match read? {
        Some(content) if content == token => Ok(()),
        Some(_) => Err(BindError::Daemon(
            "the container sees a different file than this machine wrote: the daemon sees \
             another machine's folder"
                .to_string(),
        )),
        None => Err(BindError::Daemon(
            "the file written into it is not visible in the container (the folder is not shared \
             with the daemon)"
                .to_string(),
        )),
    }
}

/// The marker's bytes inside the helper; `None` when it is not there.
async fn read_marker(docker: &Docker, id: &str) -> Result<Option<Vec<u8>>, BindError> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(&format!("{BIND_TARGET}/{MARKER}"))
        .build();
    let mut stream = docker.download_from_container(id, Some(opts));
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                buf.extend_from_slice(&bytes);
                if buf.len() > 64 * 1024 {
                    break;
                }
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message,
            }) if !message.contains("No such container") => return Ok(None),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Err(BindError::Daemon(format!("the daemon said: {message}")))
            }
            Err(e) => {
                return Err(BindError::Daemon(describe(
                    "reading through the bind-mount probe",
                    &e,
                )))
            }
        }
    }
    probe::first_entry(&buf)
        .map(|fact| fact.content)
        .map_err(|e| BindError::Daemon(format!("the probe's archive was unreadable: {e}")))
}

// ---------------------------------------------------------------- compose

/// What running one Compose command showed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    /// Its first line of output.
    Found(String),
    /// The program is not installed.
    NotInstalled,
    /// It ran and failed, or hung: the first line it printed.
    Failed(String),
}

async fn run_version(program: &str, args: &[&str]) -> Probe {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(COMPOSE_TIMEOUT, cmd.output()).await {
        Err(_) => Probe::Failed(format!("no answer within {} s", COMPOSE_TIMEOUT.as_secs())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Probe::NotInstalled,
        Ok(Err(e)) => Probe::Failed(e.to_string()),
        Ok(Ok(o)) => {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let first = |s: &str| {
                s.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .to_string()
            };
            if o.status.success() && !first(&stdout).is_empty() {
                Probe::Found(first(&stdout))
            } else {
                let said = first(&stderr);
                Probe::Failed(if said.is_empty() {
                    format!("exit status {}", o.status)
                } else {
                    said
                })
            }
        }
    }
}

async fn compose_check() -> Check {
    let (plugin, v1) = tokio::join!(
        run_version("docker", &["compose", "version"]),
        run_version("docker-compose", &["version"]),
    );
    compose_verdict(&plugin, &v1)
}

fn compose_verdict(plugin: &Probe, v1: &Probe) -> Check {
    match (plugin, v1) {
        (Probe::Found(v), _) => Check::ok("compose", format!("`docker compose` works: {v}")),
        (_, Probe::Found(v)) => Check::ok(
            "compose",
            format!(
                "`docker-compose` works: {v} (v1; the exercises accept it, `docker compose` v2 is \
                 the current one)"
            ),
        ),
        (Probe::NotInstalled, _) => Check::fail(
            "compose",
            "the docker CLI is not installed, and no `docker-compose` either: the exercises use both",
            "install Docker with its CLI and Compose plugin: https://docs.docker.com/engine/install/ \
             (Debian/Ubuntu: `sudo apt-get install docker-ce-cli docker-compose-plugin`)",
        ),
        (Probe::Failed(why), _) => Check::fail(
            "compose",
            format!(
                "Docker Compose is not available: `docker compose version` said \"{why}\", and \
                 `docker-compose` is not installed"
            ),
            "`sudo apt-get install docker-compose-plugin` (from Docker's apt repository; Debian's \
             own package is `docker-compose`), or Docker Desktop, which includes it",
        ),
    }
}

// ---------------------------------------------------------------- leftovers

#[derive(Debug, Clone, PartialEq, Eq)]
struct Resource {
    volume: bool,
    /// What `docker rm -f` / `docker volume rm` takes.
    name: String,
    role: Option<String>,
    exercise: Option<String>,
    age_secs: Option<i64>,
}

async fn leftovers_check(docker: &Docker) -> Check {
    match managed_resources(docker).await {
        Ok(found) => leftovers_verdict(&found),
        Err(e) => Check::warn(
            "leftovers",
            format!("workbook leftovers could not be listed: {}", one_line(&e)),
            None,
        ),
    }
}

async fn managed_resources(docker: &Docker) -> Result<Vec<Resource>, String> {
    let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| describe("listing workbook containers", &e))?;
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| describe("listing workbook volumes", &e))?;
    let now = crate::util::clock::now() as i64;
    let mut out = Vec::new();
    for c in containers {
        let label = |k: &str| c.labels.as_ref().and_then(|l| l.get(k)).cloned();
        let name = c
            .names
            .iter()
            .flatten()
            .next()
            .map(|n| n.trim_start_matches('/').to_string())
            .or_else(|| c.id.as_deref().map(|id| id.chars().take(12).collect()));
        let Some(name) = name else { continue };
        out.push(Resource {
            volume: false,
            name,
            role: label(labels::ROLE),
            exercise: label(labels::EXERCISE),
            age_secs: c.created.map(|t| now - t),
        });
    }
    for v in volumes.volumes.into_iter().flatten() {
        out.push(Resource {
            volume: true,
            role: v.labels.get(labels::ROLE).cloned(),
            exercise: v.labels.get(labels::EXERCISE).cloned(),
            age_secs: v.created_at.map(|t| now - t.timestamp()),
            name: v.name,
        });
    }
    Ok(out)
}

fn leftovers_verdict(found: &[Resource]) -> Check {
    let helper = |r: &Resource| {
        matches!(
            r.role.as_deref(),
            Some(labels::ROLE_PROBE | labels::ROLE_SEED | labels::ROLE_BENCH)
        )
    };
    let mut exercises: Vec<&str> = found.iter().filter_map(|r| r.exercise.as_deref()).collect();
    exercises.sort_unstable();
    exercises.dedup();
    let kept = found.iter().filter(|r| r.exercise.is_some()).count();
    let live = found
        .iter()
        .filter(|r| r.exercise.is_none() && helper(r))
        .filter(|r| r.age_secs.is_none_or(|a| a <= LEFTOVER_AGE_SECS))
        .count();
    let left: Vec<&Resource> = found
        .iter()
        .filter(|r| r.exercise.is_none())
        .filter(|r| !helper(r) || r.age_secs.is_some_and(|a| a > LEFTOVER_AGE_SECS))
        .collect();
    let mut notes = Vec::new();
    if kept > 0 {
        notes.push(format!(
            "{kept} resource{} of exercise{} {} kept for the learner (`workbook reset --all` removes them)",
            plural(kept),
            plural(exercises.len()),
            exercises.join(", ")
        ));
    }
    if live > 0 {
        notes.push(format!(
            "{live} helper{} in use by a workbook command running now",
            plural(live)
        ));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    if left.is_empty() {
        return Check::ok("leftovers", format!("no workbook leftovers{notes}"));
    }
    let containers: Vec<&str> = left
        .iter()
        .filter(|r| !r.volume)
        .map(|r| r.name.as_str())
        .collect();
    let volumes: Vec<&str> = left
        .iter()
        .filter(|r| r.volume)
        .map(|r| r.name.as_str())
        .collect();
    let mut what = Vec::new();
    let mut fix = Vec::new();
    if !containers.is_empty() {
        what.push(format!(
            "{} container{}",
            containers.len(),
            plural(containers.len())
        ));
        fix.push(format!("`docker rm -f {}`", containers.join(" ")));
    }
    if !volumes.is_empty() {
        what.push(format!("{} volume{}", volumes.len(), plural(volumes.len())));
        fix.push(format!("`docker volume rm {}`", volumes.join(" ")));
    }
    Check::warn(
        "leftovers",
        format!(
            "leftovers of interrupted workbook runs: {}{notes}",
            what.join(" and ")
        ),
        Some(fix.join(" and ")),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &'static str, status: CheckStatus) -> Check {
        Check {
            id,
            status,
            summary: format!("{id} summary"),
            fix: (status != CheckStatus::Ok).then(|| format!("fix {id}")),
        }
    }

    #[test]
    fn status_aggregation_and_exit_codes() {
        let ok = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("registry", CheckStatus::Warn),
            ],
            true,
        );
        assert_eq!((ok.status, ok.exit_code()), (Overall::Ok, 0));
        let problems = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("images", CheckStatus::Fail),
            ],
            true,
        );
        assert_eq!(
            (problems.status, problems.exit_code()),
            (Overall::Problems, 1)
        );
        let down = Report::new(vec![check("engine", CheckStatus::Fail)], false);
        assert_eq!((down.status, down.exit_code()), (Overall::Unreachable, 2));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let r = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("images", CheckStatus::Fail),
            ],
            true,
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["status"], "problems");
        assert_eq!(v["checks"][0]["id"], "endpoint");
        assert_eq!(v["checks"][0]["status"], "ok");
        assert!(v["checks"][0].get("fix").is_none());
        assert_eq!(v["checks"][1]["status"], "fail");
        assert_eq!(v["checks"][1]["fix"], "fix images");
    }

    #[test]
    fn renders_a_checklist_with_fix_lines() {
        let r = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("registry", CheckStatus::Warn),
                check("images", CheckStatus::Fail),
            ],
            true,
        );
        let text = render(&r, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "✓ endpoint summary");
        assert_eq!(lines[1], "! registry summary");
        assert_eq!(lines[2], "    fix: fix registry");
        assert_eq!(lines[3], "✗ images summary");
        assert_eq!(lines[4], "    fix: fix images");
        assert!(
            lines[5].starts_with("1 problem found (1 warning)"),
            "{}",
            lines[5]
        );
        assert!(!text.contains('\u{1b}'));
        let all_good = render(&Report::new(vec![check("x", CheckStatus::Ok)], true), false);
        assert!(all_good.ends_with("All good: this machine is ready for the workbook.\n"));
        let down = render(
            &Report::new(vec![check("engine", CheckStatus::Fail)], false),
            false,
        );
        assert!(down.contains("cannot be reached"));
        assert!(render(&r, true).contains('\u{1b}'));
    }

    fn ep(address: Address, source: &str) -> Endpoint {
        Endpoint {
            address,
            source: source.to_string(),
        }
    }

    #[test]
    fn a_missing_socket_names_the_path_and_a_fix() {
        let e = ep(
            Address::Unix("/nonexistent/docker.sock".into()),
            "DOCKER_HOST",
        );
        let msg = "cannot reach the Docker daemon at unix:///nonexistent/docker.sock (from DOCKER_HOST): error trying to connect: No such file or directory.\nis Docker running?";
        let c = unreachable_check(&e, msg, &[]);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.starts_with("cannot reach the Docker daemon at"));
        assert!(c
            .summary
            .contains("the socket /nonexistent/docker.sock does not exist"));
        assert!(c.fix.as_deref().unwrap().contains("unset DOCKER_HOST"));
        let other = [(
            PathBuf::from("/run/user/1000/docker.sock"),
            "rootless Docker",
        )];
        let c = unreachable_check(&e, msg, &other);
        assert!(c
            .fix
            .unwrap()
            .starts_with("`export DOCKER_HOST=unix:///run/user/1000/docker.sock`"));
    }

    #[test]
    fn unreachable_fixes_follow_the_cause() {
        // An existing path stands in for a socket.
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        std::fs::write(&sock, "").unwrap();
        let e = ep(Address::Unix(sock.clone()), "the default socket");
        let denied = unreachable_check(
            &e,
            "cannot reach ...: Permission denied (os error 13).",
            &[],
        );
        assert!(denied
            .fix
            .unwrap()
            .contains("sudo usermod -aG docker $USER"));
        let refused = unreachable_check(&e, "cannot reach ...: Connection refused", &[]);
        assert!(refused.fix.unwrap().contains("sudo systemctl start docker"));
        let rootless = ep(Address::Unix(sock), "the rootless Docker socket");
        let refused = unreachable_check(&rootless, "Connection refused", &[]);
        assert!(refused
            .fix
            .unwrap()
            .contains("systemctl --user start docker"));
        let slow = unreachable_check(
            &e,
            "the Docker daemon at x did not answer within 60 s.",
            &[],
        );
        assert!(slow.fix.unwrap().contains("restart"));
        let tcp = ep(Address::Tcp("10.0.0.5:2375".into()), "DOCKER_HOST");
        let c = unreachable_check(
            &tcp,
            "cannot reach the Docker daemon at tcp://10.0.0.5:2375 (from DOCKER_HOST): connection timed out.\ncheck",
            &[],
        );
        assert!(
            c.summary.ends_with(": connection timed out"),
            "{}",
            c.summary
        );
        assert!(c.fix.unwrap().contains("tcp://10.0.0.5:2375"));
    }

    #[test]
    fn endpoint_says_how_it_was_chosen() {
        let env = Env::default();
        let c = endpoint_summary(
            &env,
            &ep(
                Address::Unix("/var/run/docker.sock".into()),
                "the default socket",
            ),
            &[(
                PathBuf::from("/run/user/1000/docker.sock"),
                "rootless Docker",
            )],
        );
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(c.summary.contains("unix:///var/run/docker.sock"));
        assert!(c
            .summary
            .contains("neither DOCKER_HOST nor a docker context"));
        assert!(c
            .summary
            .contains("/run/user/1000/docker.sock (rootless Docker)"));
        let c = endpoint_summary(&env, &ep(Address::Tcp("h:2375".into()), "DOCKER_HOST"), &[]);
        assert_eq!(
            c.summary,
            "Docker endpoint tcp://h:2375: set by DOCKER_HOST"
        );
        let bad = Env {
            docker_host: Some("ssh://me@box".into()),
            ..Env::default()
        };
        let (c, endpoint) = endpoint_check(&bad);
        assert!(endpoint.is_none());
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("ssh://me@box"));
        assert!(!c.summary.contains("Point"));
        assert!(c.fix.unwrap().contains("unset DOCKER_HOST"));
        let gone = Env {
            docker_context: Some("gone".into()),
            docker_config: Some("/nonexistent".into()),
            ..Env::default()
        };
        let (c, endpoint) = endpoint_check(&gone);
        assert!(endpoint.is_none());
        assert!(c.summary.contains("`gone`"), "{}", c.summary);
        assert!(c.fix.unwrap().contains("unset DOCKER_CONTEXT"));
    }

    #[test]
    fn registry_and_busybox_combine() {
        let bb: Result<PathBuf, String> = Ok("/bin/busybox".into());
        let none: Result<PathBuf, String> = Err("no busybox".into());
        let offline: Result<(), String> = Err("pulling busybox:1.36 took over 8 s".into());
        assert_eq!(
            registry_check(&Ok(()), &none, false).status,
            CheckStatus::Ok
        );
        let c = registry_check(&offline, &bb, false);
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c
            .summary
            .starts_with("offline: lab images are built from the host's static busybox"));
        assert_eq!(
            registry_check(&offline, &none, true).status,
            CheckStatus::Warn
        );
        let c = registry_check(&offline, &none, false);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c
            .fix
            .unwrap()
            .contains("sudo apt-get install busybox-static"));
        assert_eq!(busybox_check(&bb, Some(false)).status, CheckStatus::Ok);
        let c = busybox_check(&none, Some(true));
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c.summary.contains("fine while a registry answers"));
    }

    #[test]
    fn images_say_what_is_missing_and_how_to_build() {
        assert_eq!(images_check(&Ok(vec![])).status, CheckStatus::Ok);
        let c = images_check(&Ok(vec![(TOOLS_IMAGE, true), (images::API_IMAGE, false)]));
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(
            c.summary,
            "lab images missing: workbook/tools; out of date: workbook/ml-api"
        );
        assert!(c.fix.unwrap().contains("workbook setup"));
    }

    #[test]
    fn disk_thresholds_and_remote_daemons() {
        assert_eq!(
            disk_verdict("/d", 20 << 30, 100 << 30).status,
            CheckStatus::Ok
        );
        assert_eq!(
            disk_verdict("/d", 2 << 30, 100 << 30).status,
            CheckStatus::Warn
        );
        let c = disk_verdict("/d", 100 << 20, 100 << 30);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.starts_with("only 0.1 GiB free of 100.0 GiB"));
        let info = SystemInfo {
            docker_root_dir: Some("/var/lib/docker".into()),
            ..Default::default()
        };
        let remote = disk_check(
            &ep(Address::Tcp("h:2375".into()), "DOCKER_HOST"),
            &Ok(info.clone()),
        );
        assert_eq!(remote.status, CheckStatus::Warn);
        assert!(remote.summary.contains("cannot be measured"));
        let desktop = SystemInfo {
            operating_system: Some("Docker Desktop".into()),
            ..info
        };
        let c = disk_check(
            &ep(Address::Unix("/x.sock".into()), "the Docker Desktop socket"),
            &Ok(desktop),
        );
        assert!(c.summary.contains("Docker Desktop"));
    }

    #[cfg(unix)]
    #[test]
    fn statvfs_measures_a_local_folder() {
        let (free, total) = free_space(Path::new("/")).unwrap();
        assert!(total > 0 && free <= total);
        assert!(free_space(Path::new("/nonexistent/folder")).is_err());
        let info = SystemInfo {
            docker_root_dir: Some("/".into()),
            ..Default::default()
        };
        let c = disk_check(
            &ep(Address::Unix("/x.sock".into()), "the default socket"),
            &Ok(info),
        );
        assert!(c.summary.contains("free of"), "{}", c.summary);
    }

    #[test]
    fn compose_prefers_the_plugin_and_explains_absence() {
        let v2 = Probe::Found("Docker Compose version v2.27.0".into());
        let v1 = Probe::Found("docker-compose version 1.29.2, build unknown".into());
        let unknown = Probe::Failed("docker: unknown command: docker compose".into());
        assert!(compose_verdict(&v2, &Probe::NotInstalled)
            .summary
            .contains("v2.27.0"));
        let c = compose_verdict(&unknown, &v1);
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(c.summary.contains("1.29.2"));
        let c = compose_verdict(&unknown, &Probe::NotInstalled);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("unknown command"));
        assert!(c.fix.unwrap().contains("docker-compose-plugin"));
        let c = compose_verdict(&Probe::NotInstalled, &Probe::NotInstalled);
        assert!(c.summary.contains("docker CLI is not installed"));
    }

    fn res(volume: bool, name: &str, role: Option<&str>, ex: Option<&str>, age: i64) -> Resource {
        Resource {
            volume,
            name: name.into(),
            role: role.map(Into::into),
            exercise: ex.map(Into::into),
            age_secs: Some(age),
        }
    }

    #[test]
    fn leftovers_are_old_helpers_and_unknown_resources_only() {
        assert_eq!(leftovers_verdict(&[]).status, CheckStatus::Ok);
        let found = vec![
            res(false, "abc", Some("probe"), None, 600),
            res(false, "young", Some("probe"), None, 5),
            res(false, "trainer", Some("setup"), Some("04-training"), 9000),
            res(true, "ml-data", None, Some("01-named-volumes"), 9000),
            res(true, "workbook-bench-1", Some("bench"), None, 900),
        ];
        let c = leftovers_verdict(&found);
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(
            c.summary.contains("1 container and 1 volume"),
            "{}",
            c.summary
        );
        assert!(c
            .summary
            .contains("2 resources of exercises 01-named-volumes, 04-training"));
        assert!(c.summary.contains("1 helper in use"));
        assert_eq!(
            c.fix.as_deref(),
            Some("`docker rm -f abc` and `docker volume rm workbook-bench-1`")
        );
        let c = leftovers_verdict(&found[1..4]);
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(c.fix.is_none());
    }

    #[test]
    fn api_versions_parse() {
        assert_eq!(parse_api("1.41"), Some((1, 41)));
        assert_eq!(parse_api("1.9"), Some((1, 9)));
        assert!(parse_api("1.9") < Some(MIN_API));
        assert_eq!(parse_api("x"), None);
    }
}
