//! Fault injection: the daemon connection dies in the middle of a grading (a socket proxy we
//! stop as the first volume read begins), and a daemon that accepts but never answers. Each
//! must give an `error` verdict (exit 2), change no progress, and leave nothing behind that
//! the next run does not remove.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

static DAEMON: Mutex<()> = Mutex::new(());

const REAL: &str = "/var/run/docker.sock";

fn workbook(ws: &Path) -> Command {
    let mut cmd = Command::cargo_bin("workbook").unwrap();
    cmd.env("WORKBOOK_WORKSPACE", ws)
        .env("NO_COLOR", "1")
        .env_remove("DOCKER_HOST");
    cmd
}

fn helpers_left() -> usize {
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=workbook.role=probe"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// A proxy to the real socket that cuts every connection, and stops accepting, as soon as a
/// request for `cut_on` passes through it.
fn start_proxy(
    path: PathBuf,
    cut_on: &'static str,
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
                if flag.load(Ordering::SeqCst) {
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
                                if String::from_utf8_lossy(&up[..n]).contains(cut_on) {
                                    flag.store(true, Ordering::SeqCst);
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
                if flag.load(Ordering::SeqCst) {
                    break;
                }
            }
        });
    });
    (handle, cut)
}

#[test]
fn the_connection_dies_mid_grade() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    Command::cargo_bin("workbook")
        .unwrap()
        .arg("init")
        .arg(&ws)
        .assert()
        .success();
    workbook(&ws).arg("setup").assert().success();
    workbook(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
    workbook(&ws)
        .args(["solution", "01", "--run", "--yes"])
        .assert()
        .success();
    let progress_before = std::fs::read(ws.join(".workbook/progress.json")).unwrap();

    let sock = dir.path().join("proxy.sock");
    let (proxy, cut) = start_proxy(sock.clone(), "/archive");
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
    Command::cargo_bin("workbook")
        .unwrap()
        .arg("init")
        .arg(&ws)
        .assert()
        .success();
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
