//! `workbook watch` on the real daemon, as a child process whose stdout is a pipe (so it prints
//! each new verdict as lines): the learner's docker commands and file writes make it re-grade,
//! announce the steps that pass, and end. The 30 s bounds are for correctness (a watcher that
//! never notices), not performance. Each test resets its exercise before and after (removing
//! only what the exercise declares, as `workbook reset` does).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::util::{self, docker_stdout};

const BOUND: Duration = Duration::from_secs(30);

/// [`util::workbook_process`] in `ws`, as from a terminal (signals at their defaults), stdin
/// closed, without the timing report.
fn workbook(ws: &Path) -> Command {
    let mut cmd = util::workbook_process();
    util::as_from_a_terminal(&mut cmd)
        .env("WORKBOOK_WORKSPACE", ws)
        .env_remove("WORKBOOK_WATCH_TIMINGS")
        .stdin(Stdio::null());
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh workspace on `exercise`, with the lab images; the exercise is reset again on drop.
struct Lab {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    exercise: &'static str,
}

impl Lab {
    fn new(exercise: &'static str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        run_ok(workbook(&ws).arg("init").arg(&ws));
        run_ok(workbook(&ws).arg("setup"));
        // Makes it the current exercise, from its start.
        run_ok(workbook(&ws).args(["reset", exercise, "--yes"]));
        Lab {
            _dir: dir,
            ws,
            exercise,
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = workbook(&self.ws)
            .args(["reset", self.exercise, "--yes"])
            .output();
        // The reset set the exercise up again: remove what its setup made (labelled by the
        // workbook for this exercise), so the test leaves nothing behind.
        let filter = format!("label=workbook.exercise={}", self.exercise);
        let made = util::docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            "label=workbook.managed=true",
            "--filter",
            &filter,
        ]);
        for v in String::from_utf8_lossy(&made.stdout).lines() {
            util::docker(&["volume", "rm", v]);
        }
    }
}

/// `workbook watch ARGS` with its stdout read line by line.
struct Watcher {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    started: Instant,
}

impl Watcher {
    fn start(lab: &Lab, args: &[&str]) -> Watcher {
        let mut child = workbook(&lab.ws)
            .arg("watch")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(format!("stderr: {line}"));
            }
        });
        Watcher {
            child,
            lines,
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    fn transcript(&self) -> String {
        self.seen.join("\n")
    }

    /// Reads lines until none has come for `quiet` (late daemon events settle).
    fn settle(&mut self, quiet: Duration) {
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line);
        }
    }

    /// Waits for a line containing `needle` (one already seen counts); panics after the bound.
    fn wait_for(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        loop {
            let left = BOUND.saturating_sub(self.started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line with `{needle}` within {BOUND:?}; the watcher printed:\n{}",
                    self.transcript()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the watcher ended before printing `{needle}` ({:?}); it printed:\n{}",
                    self.child.try_wait(),
                    self.transcript()
                ),
            }
        }
    }

    /// Waits for the process to end (within the bound) and returns its exit code.
    fn exit_code(&mut self) -> i32 {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The rest of its output.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.code().unwrap_or(-1);
            }
            assert!(
                self.started.elapsed() < BOUND,
                "the watcher did not end within {BOUND:?}; it printed:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watcher {
    /// A watcher still running after a failed assertion: Ctrl-C (it removes its probes), then kill.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-INT", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Exercise 03's first step, done: `scratch` running with a tmpfs at /tmp.
fn run_scratch() {
    docker_stdout(&[
        "run",
        "-d",
        "--name",
        "scratch",
        "--tmpfs",
        "/tmp",
        "workbook/tools",
        "sleep",
        "infinity",
    ]);
}

fn progress(ws: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap())
        .unwrap()
}

#[test]
fn docker_commands_make_the_watcher_announce_each_step_and_exit_on_pass() {
    let _daemon = util::daemon();
    let lab = Lab::new("03-tmpfs");
    let mut w = Watcher::start(&lab, &["--exit-on-pass"]);
    w.wait_for("watching 03-tmpfs");
    w.wait_for("0/2 steps pass");

    // The solution, one command at a time: each one's events re-grade.
    run_scratch();
    w.wait_for("step 1 passed: scratch has a tmpfs at /tmp");
    docker_stdout(&[
        "run",
        "-d",
        "--name",
        "cache",
        "--tmpfs",
        "/tmp:size=1g",
        "workbook/tools",
        "sleep",
        "infinity",
    ]);
    w.wait_for("step 2 passed: cache has a tmpfs at /tmp limited to 1 GiB");
    assert_eq!(w.exit_code(), 0, "{}", w.transcript());
    let done = w.wait_for("all 2 steps pass");
    assert!(done.contains("03-tmpfs"), "{done}");
    assert!(
        w.seen.iter().any(|l| l.contains("(event): ")),
        "re-grades came from daemon events:\n{}",
        w.transcript()
    );
    // Recorded as `check` records it.
    let p = progress(&lab.ws);
    assert_eq!(p["exercises"]["03-tmpfs"]["status"], "done", "{p:#}");
    assert!(p["exercises"]["03-tmpfs"]["steps"]["cache-limit"]["first_passed"].is_u64());
}

#[test]
fn a_file_written_in_the_exercise_folder_triggers_a_regrade() {
    let _daemon = util::daemon();
    let lab = Lab::new("02-bind-mounts");
    let dir = lab.ws.join("02-bind-mounts");
    let mut w = Watcher::start(&lab, &["--exit-on-pass"]);
    w.wait_for("0/3 steps pass");

    let data = format!("{}:/app/data", dir.join("data").display());
    let models = format!("{}:/app/models:ro", dir.join("models").display());
    docker_stdout(&[
        "run",
        "-d",
        "--name",
        "trainer",
        "-v",
        &data,
        "workbook/ml-training",
    ]);
    docker_stdout(&[
        "run",
        "-d",
        "--name",
        "api",
        "-v",
        &models,
        "workbook/ml-api",
    ]);
    w.wait_for("step 1 passed");
    w.wait_for("step 2 passed");

    // Once the daemon's events have settled, the file is written from the host (with the
    // container's hostname, as the step wants): no Docker event can trigger this re-grade,
    // only the file change.
    w.settle(Duration::from_millis(1500));
    let hostname = docker_stdout(&["inspect", "-f", "{{.Config.Hostname}}", "trainer"]);
    std::fs::write(dir.join("data/from-container.txt"), hostname).unwrap();
    let line = w.wait_for("(file): ");
    assert!(line.starts_with("re-check "), "{line}");
    w.wait_for("step 3 passed: A file written in trainer appears on the host");
    assert_eq!(w.exit_code(), 0, "{}", w.transcript());
}

#[test]
fn max_regrades_ends_the_watch_with_the_verdicts_exit_code() {
    let _daemon = util::daemon();
    let lab = Lab::new("03-tmpfs");
    let mut w = Watcher::start(&lab, &["--max-regrades", "1"]);
    w.wait_for("0/2 steps pass");
    // A file in the exercise folder is the trigger here (a container of any name would do).
    std::fs::write(lab.ws.join("03-tmpfs/notes.txt"), "tmpfs is memory\n").unwrap();
    w.wait_for("re-check 1 (");
    assert_eq!(w.exit_code(), 1, "{}", w.transcript());
}

/// Probes on `ml-data` that this daemon still has (any session's).
fn probes_on(volume: &str) -> Vec<String> {
    docker_stdout(&[
        "ps",
        "-aq",
        "--filter",
        "label=workbook.role=probe",
        "--filter",
        &format!("volume={volume}"),
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

fn helpers() -> Vec<String> {
    docker_stdout(&["ps", "-aq", "--filter", "label=workbook.role"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// While `watch` re-grades exercise 07 (a backup present, so every grading reads ml-data), the
/// learner's own `docker volume rm ml-data` is never refused as "in use" by a probe of the
/// workbook's; SIGTERM ends the watch and leaves no helper container.
#[test]
fn watch_never_holds_a_volume_the_learner_removes() {
    let _daemon = util::daemon();
    let lab = Lab::new("07-backup-restore");
    let dir = lab.ws.join("07-backup-restore");
    docker_stdout(&[
        "run",
        "--rm",
        "-v",
        "ml-data:/data:ro",
        "-v",
        &format!("{}:/backup", dir.display()),
        "workbook/tools",
        "tar",
        "czf",
        "/backup/ml-data-backup.tar.gz",
        "-C",
        "/data",
        ".",
    ]);
    let mut w = Watcher::start(&lab, &[]);
    w.wait_for("watching 07-backup-restore");
    w.wait_for("steps pass");

    let mut refused = Vec::new();
    for i in 0..20 {
        let rm = util::docker(&["volume", "rm", "ml-data"]);
        if !rm.status.success() {
            refused.push(format!(
                "round {i}: {}",
                String::from_utf8_lossy(&rm.stderr).trim()
            ));
            continue;
        }
        docker_stdout(&["volume", "create", "ml-data"]);
    }
    w.settle(Duration::from_millis(1500));
    assert!(
        refused.is_empty(),
        "{} of 20 removals were refused:\n{}\nwatch printed:\n{}",
        refused.len(),
        refused.join("\n"),
        w.transcript()
    );
    assert!(
        w.seen.iter().any(|l| l.starts_with("re-check ")),
        "the loop made the watch re-grade:\n{}",
        w.transcript()
    );
    assert!(probes_on("ml-data").is_empty(), "no probe holds ml-data");

    let pid = w.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let code = w.exit_code();
    assert_eq!(
        code,
        2,
        "SIGTERM ends the watch as an interruption:\n{}",
        w.transcript()
    );
    assert!(
        helpers().is_empty(),
        "SIGTERM left helpers: {:?}",
        helpers()
    );
}

/// Re-grades on daemon events are not the learner's attempts: only the gradings they ask for
/// (the watch's first one here) count failed steps.
#[test]
fn daemon_events_are_not_counted_as_attempts() {
    let _daemon = util::daemon();
    let lab = Lab::new("03-tmpfs");
    let mut w = Watcher::start(&lab, &[]);
    w.wait_for("0/2 steps pass");
    let name = format!("workbook-test-attempts-{}", std::process::id());
    for _ in 0..5 {
        docker_stdout(&["create", "--name", &name, "workbook/tools", "true"]);
        docker_stdout(&["rm", &name]);
    }
    w.settle(Duration::from_millis(1500));
    let regrades = w.seen.iter().filter(|l| l.starts_with("re-check ")).count();
    assert!(regrades >= 2, "the events re-graded:\n{}", w.transcript());
    drop(w);
    let p = progress(&lab.ws);
    // The step the learner is on: one attempt (the watch's first grading), not one per event;
    // the step after it was not reached, so none.
    for (step, attempts) in [("scratch-tmpfs", 1), ("cache-limit", 0)] {
        assert_eq!(
            p["exercises"]["03-tmpfs"]["steps"][step]["failed_attempts"], attempts,
            "{step}: {attempts} attempt(s), not one per event ({regrades} re-grades): {p:#}"
        );
    }
}

/// The watch writes the progress state only under the workspace lock: while another workbook
/// command holds it, verdicts wait, and are recorded once it is free; the watch keeps going.
#[test]
fn watch_waits_for_the_workspace_lock_to_record() {
    let _daemon = util::daemon();
    let lab = Lab::new("03-tmpfs");
    let mut w = Watcher::start(&lab, &[]);
    w.wait_for("0/2 steps pass");
    w.settle(Duration::from_millis(1000));
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(lab.ws.join(".workbook/lock"))
        .unwrap();
    lock.lock().unwrap();
    let before = std::fs::read(lab.ws.join(".workbook/progress.json")).unwrap();
    run_scratch();
    w.wait_for("step 1 passed");
    w.settle(Duration::from_millis(1000));
    assert_eq!(
        std::fs::read(lab.ws.join(".workbook/progress.json")).unwrap(),
        before,
        "progress.json was written while another command held the lock:\n{}",
        w.transcript()
    );
    lock.unlock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while progress(&lab.ws)["exercises"]["03-tmpfs"]["steps"]["scratch-tmpfs"]["first_passed"]
        .is_null()
    {
        assert!(
            Instant::now() < deadline,
            "the verdict was never recorded after the lock was freed:\n{}",
            w.transcript()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
