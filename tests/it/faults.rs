//! Fault injection: the daemon connection dies in the middle of a grading (a socket proxy we
//! stop as the first volume read begins), and a daemon that accepts but never answers. Each
//! must give an `error` verdict (exit 2), change no progress, and leave nothing behind that
//! the next run does not remove.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::util;

const REAL: &str = "/var/run/docker.sock";

/// [`util::workbook`] in `ws`, on the default socket whatever the caller's `DOCKER_HOST`.
fn workbook(ws: &Path) -> Command {
    let mut cmd = util::workbook();
    cmd.env("WORKBOOK_WORKSPACE", ws).env_remove("DOCKER_HOST");
    cmd
}

fn helpers_left() -> usize {
    let out = util::docker(&["ps", "-aq", "--filter", "label=workbook.role=probe"]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// What the proxy does to the first request for its trigger path.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Cut every connection and stop accepting.
    Cut,
    /// Never forward it (the daemon seems to hang); other requests pass.
    Stall,
    /// Forward it, but never pass the answer back: the daemon does the work, the client
    /// never hears of it.
    Swallow,
}

/// A proxy to the real socket that injects `fault` when a request for `cut_on` passes.
fn start_proxy(
    path: PathBuf,
    cut_on: &'static str,
    fault: Fault,
) -> (std::thread::JoinHandle<()>, Arc<AtomicBool>) {
    let cut = Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = UnixListener::bind(&path).unwrap();
            loop {
                let accepted =
                    tokio::time::timeout(std::time::Duration::from_secs(20), listener.accept())
                        .await;
                let Ok(Ok((mut client, _))) = accepted else {
                    break;
                };
                if fault == Fault::Cut && flag.load(Ordering::SeqCst) {
                    break;
                }
                let conn_flag = flag.clone();
                tokio::spawn(async move {
                    let flag = conn_flag;
                    let Ok(mut daemon) = UnixStream::connect(REAL).await else {
                        return;
                    };
                    let mut up = [0u8; 65536];
                    let mut down = [0u8; 65536];
                    loop {
                        tokio::select! {
                            n = client.read(&mut up) => {
                                let Ok(n) = n else { break };
                                if n == 0 { break; }
                                if String::from_utf8_lossy(&up[..n]).contains(cut_on) && !flag.swap(true, Ordering::SeqCst) {
                                    if fault == Fault::Swallow {
                                        let _ = daemon.write_all(&up[..n]).await;
                                    }
                                    if fault != Fault::Cut {
                                        // Hold the connection open, answer nothing.
                                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                                    }
                                    break; // drop both ends: the connection dies mid-grade
                                }
                                if daemon.write_all(&up[..n]).await.is_err() { break; }
                            }
                            n = daemon.read(&mut down) => {
                                let Ok(n) = n else { break };
                                if n == 0 { break; }
                                if client.write_all(&down[..n]).await.is_err() { break; }
                            }
                        }
                    }
                });
                if fault == Fault::Cut && flag.load(Ordering::SeqCst) {
                    break;
                }
            }
        });
    });
    (handle, cut)
}

/// A workspace in `dir` with exercise 01 solved (ml-data holds hello.txt).
fn solved_workspace(dir: &Path) -> PathBuf {
    let ws = dir.join("ws");
    util::workbook().arg("init").arg(&ws).assert().success();
    workbook(&ws).arg("setup").assert().success();
    workbook(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
    workbook(&ws)
        .args(["solution", "01", "--run", "--yes"])
        .assert()
        .success();
    ws
}

#[test]
fn the_connection_dies_mid_grade() {
    let _daemon = util::daemon();
    let dir = tempfile::tempdir().unwrap();
    let ws = solved_workspace(dir.path());
    let progress_before = std::fs::read(ws.join(".workbook/progress.json")).unwrap();

    let sock = dir.path().join("proxy.sock");
    let (proxy, cut) = start_proxy(sock.clone(), "/archive", Fault::Cut);
    let out = workbook(&ws)
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["check", "01", "--json"])
        .output()
        .unwrap();
    proxy.join().unwrap();
    assert!(
        cut.load(Ordering::SeqCst),
        "the proxy never saw a volume read"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "error", "{report:#}");
    let errors: Vec<&Value> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "error")
        .collect();
    assert!(!errors.is_empty(), "{report:#}");
    assert_eq!(
        std::fs::read(ws.join(".workbook/progress.json")).unwrap(),
        progress_before,
        "progress changed"
    );

    // The probe of the dead run may remain for a moment; the next run sweeps it once it is
    // clearly abandoned (here: at once).
    workbook(&ws)
        .env("WORKBOOK_LEFTOVER_AGE_SECS", "0")
        .args(["check", "01"])
        .assert()
        .code(0);
    assert_eq!(helpers_left(), 0, "a probe of the dead run was left behind");
    workbook(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
}

#[test]
fn a_daemon_that_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    util::workbook().arg("init").arg(&ws).assert().success();
    let sock = dir.path().join("silent.sock");
    // Accepts connections, reads, never answers.
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    workbook(&ws)
        .timeout(std::time::Duration::from_secs(60))
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .env("WORKBOOK_DOCKER_TIMEOUT", "2")
        .args(["check", "01"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("did not answer within 2 s"));
}

/// `workbook check 01` in `ws`, talking to the daemon through the proxy at `sock`.
fn check_through(ws: &Path, sock: &Path) -> std::process::Child {
    let mut cmd = util::workbook_process();
    util::as_from_a_terminal(&mut cmd)
        .env("WORKBOOK_WORKSPACE", ws)
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["check", "01"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls `done` every `every_ms` until it holds or `secs` have passed; returns its last value.
fn wait_until(secs: u64, every_ms: u64, done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(every_ms));
    }
    done()
}

/// Sends SIGINT, as a terminal does on Ctrl-C, and waits: the exit code and stderr.
fn interrupt(mut child: std::process::Child) -> (Option<i32>, String) {
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    (status.code(), err)
}

#[test]
fn ctrl_c_during_a_grading_leaves_no_probe() {
    let _daemon = util::daemon();
    let dir = tempfile::tempdir().unwrap();
    let ws = solved_workspace(dir.path());
    let before = helpers_left();

    // The volume read hangs; the learner presses Ctrl-C while the probe exists.
    let sock = dir.path().join("stall.sock");
    let (_proxy, stalled) = start_proxy(sock.clone(), "/archive", Fault::Stall);
    let child = check_through(&ws, &sock);
    assert!(
        wait_until(30, 50, || stalled.load(Ordering::SeqCst)),
        "the grading never reached a volume read"
    );
    assert_eq!(
        helpers_left(),
        before + 1,
        "the probe should exist while the read hangs"
    );
    let (code, err) = interrupt(child);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(
        helpers_left(),
        before,
        "Ctrl-C left the probe behind: {err}"
    );
    workbook(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
}

#[test]
fn ctrl_c_while_a_probe_is_being_created_leaves_no_probe() {
    let _daemon = util::daemon();
    let dir = tempfile::tempdir().unwrap();
    let ws = solved_workspace(dir.path());
    let before = helpers_left();

    // The daemon creates the probe, but its answer (the id) never reaches the workbook.
    let sock = dir.path().join("swallow.sock");
    let (_proxy, swallowed) = start_proxy(sock.clone(), "/containers/create", Fault::Swallow);
    let child = check_through(&ws, &sock);
    assert!(
        wait_until(30, 50, || swallowed.load(Ordering::SeqCst)),
        "the grading never created a probe"
    );
    // Until the daemon has made the probe that the workbook never hears of.
    wait_until(10, 20, || helpers_left() != before);
    assert_eq!(
        helpers_left(),
        before + 1,
        "the daemon should have made the probe"
    );
    let (code, err) = interrupt(child);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        helpers_left(),
        before,
        "Ctrl-C left behind the probe whose creation it never heard of: {err}"
    );
    workbook(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
}
