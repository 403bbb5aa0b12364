//! What the integration tests share: the `workbook` binary with a clean environment
//! ([`workbook`]), the docker CLI ([`docker`]), the real daemon (one test at a time), the lab
//! images on it, a child started as from a terminal, a fake Docker Engine ([`fake_engine`]), and
//! docs/compatibility.md as the stacks' tests read and bless it ([`compat`]).
//!
//! A module whose every run needs more (a workspace, `DOCKER_HOST`, a terminal) wraps
//! [`workbook`] or [`workbook_process`] in a builder of its own that adds just that.
//!
//! # Tests that need the real Docker daemon
//!
//! All the modules are one test binary, so their tests run in parallel threads of one process:
//! exercises use daemon-wide names (`ml-data`, `scratch`, `trainer`...), and some tests count
//! the workbook's helper containers or remove the lab images. So:
//!
//! - A test that makes, changes, removes or counts anything on the real daemon (directly, with
//!   the docker CLI, or through a `workbook` child that grades) first takes [`daemon`]
//!   (`let _daemon = util::daemon();`, or `util::daemon_async().await` in a `#[tokio::test]`)
//!   and holds it to its end: such tests run one at a time, whatever their module. Declare the
//!   guard before anything that cleans up in its `Drop`, so the cleanup runs under it too. A
//!   step that changes nothing there may run without it (`bundle` refuses bad files unlocked).
//!   Another engine is not that daemon: `podman` grades Podman's own socket (its containers,
//!   volumes and images are its own) and runs without the lock.
//! - It removes what it made, however it ends (a guard whose `Drop` removes it): resources of
//!   its own are named `wbtest-<purpose>-<pid>` (or `workbook-test-...-<pid>`), and an
//!   exercise's are removed as `workbook reset` does, only what the exercise declares.
//! - Tests that need no daemon point `DOCKER_HOST` at [`NO_DAEMON`] or at a [`fake_engine`]
//!   per child process, never in this process's environment (which every test's children
//!   inherit): `hostile_exec` runs its test in a process of its own for that.

pub mod classroom;
pub mod compat;
pub mod fake_engine;

use std::process::{Command, Output};

use tokio::sync::{Mutex, MutexGuard};

/// A `DOCKER_HOST` where no daemon answers.
pub const NO_DAEMON: &str = "unix:///nonexistent/docker.sock";

/// The `workbook` binary of this build, as a `std` command (to spawn, pipe, signal): with
/// `NO_COLOR=1` (plain text to compare) and without the caller's `WORKBOOK_WORKSPACE` (a test
/// names its workspace itself). Its stdin is inherited unless the test sets it.
pub fn workbook_process() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workbook"));
    cmd.env_remove("WORKBOOK_WORKSPACE").env("NO_COLOR", "1");
    cmd
}

/// [`workbook_process`] under assert_cmd (`.assert()`, `.write_stdin()`, `.timeout()`), whose
/// stdin is an empty pipe unless `.write_stdin()` says otherwise: no run waits for a keyboard.
pub fn workbook() -> assert_cmd::Command {
    assert_cmd::Command::from_std(workbook_process())
}

/// A workspace made by `workbook init` in a temporary folder: the folder (removed when dropped)
/// and the workspace's root in it.
pub fn init_workspace() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let out = workbook().arg("init").arg(&root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, root)
}

/// The JSON a command printed on stdout; what it printed, both streams, when that is not JSON.
pub fn json_stdout(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `docker ARGS` with the docker CLI: its output. A CLI that cannot be started at all is exit
/// status 127 with the reason on stderr (as a shell says it), not a panic, so that a cleanup in
/// a `Drop` may call it too.
pub fn docker(args: &[&str]) -> Output {
    use std::os::unix::process::ExitStatusExt;
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| Output {
            status: std::process::ExitStatus::from_raw(127 << 8),
            stdout: Vec::new(),
            stderr: format!("cannot run the docker CLI: {e}").into_bytes(),
        })
}

/// Whether `docker ARGS` succeeded.
pub fn docker_ok(args: &[&str]) -> bool {
    docker(args).status.success()
}

/// The stdout of `docker ARGS`, which must succeed (else the test fails with its output).
pub fn docker_stdout(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real daemon, one test at a time (see the module's doc). A tokio mutex, so that a
/// `#[tokio::test]` may hold it across `.await`; a test that panics releases it.
static DAEMON: Mutex<()> = Mutex::const_new(());

/// Takes the real daemon for this test (a plain `#[test]`): held until the guard drops.
pub fn daemon() -> MutexGuard<'static, ()> {
    DAEMON.blocking_lock()
}

/// [`daemon`], in a `#[tokio::test]`.
pub async fn daemon_async() -> MutexGuard<'static, ()> {
    DAEMON.lock().await
}

/// The daemon the tests grade, with the lab images built (offline, from the host's busybox,
/// when they are missing or stale).
pub async fn lab_engine() -> workbook::docker::engine::Engine {
    let engine = workbook::docker::engine::connect()
        .await
        .expect("the test daemon answers");
    let stale = workbook::docker::images::stale(&engine.docker)
        .await
        .unwrap();
    if !stale.is_empty() {
        let opts = workbook::docker::images::SetupOptions {
            offline: true,
            force: false,
            quiet: true,
            extra: Vec::new(),
        };
        workbook::docker::images::setup(&engine.docker, &opts)
            .await
            .unwrap();
    }
    engine
}

/// `cmd` started as from an interactive terminal: SIGINT, SIGTERM and SIGHUP at their default
/// dispositions, whatever this test process inherited. A background job of a non-interactive
/// shell starts with SIGINT ignored, one under `nohup` with SIGHUP ignored, and the workbook, as
/// a well-behaved program does, keeps an ignored signal ignored: tests that send signals must
/// not depend on how `cargo test` itself was started. (A test that wants one ignored sets it in
/// a `pre_exec` of its own, which runs after this one.)
pub fn as_from_a_terminal(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: `signal` is async-signal-safe; this runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// The check `id` of a `doctor --json` report.
pub fn doctor_check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` check in {report:#}"))
}
