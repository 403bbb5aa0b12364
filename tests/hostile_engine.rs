//! The real `workbook` binary against a hostile fake Docker Engine (`tests/fake_engine`): answers
//! that stall after their headers, never end, trickle, or flood; signals while a grading is
//! stuck. Each run is bounded: exit 2 (or the verdict's code) within a generous bound instead of
//! hanging, a message that names what happened, bounded memory (peak RSS), and no probe left
//! (the fake records its DELETE). Nothing here touches the real Docker daemon.

mod fake_engine;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_engine::{FakeEngine, Misbehaviour};

/// A process that grows past this is killed: memory is not bounded.
const RUNAWAY_MB: u64 = 600;
/// The peak resident memory a run may reach: the JSON cap (64 MiB) with room for the rest.
const BOUNDED_MB: u64 = 200;

/// Signal tests measure time from signal to exit: one at a time, so they do not slow each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A workspace made by `workbook init` in a temporary folder.
struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let status = Command::new(assert_cmd::cargo::cargo_bin("workbook"))
        .arg("init")
        .arg(&root)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    Workspace { _dir: dir, root }
}

fn workbook(ws: &Path, fake: &FakeEngine, timeout_secs: u32) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("workbook"));
    cmd.env("WORKBOOK_WORKSPACE", ws)
        .env("DOCKER_HOST", fake.docker_host())
        .env("WORKBOOK_DOCKER_TIMEOUT", timeout_secs.to_string())
        .env("NO_COLOR", "1")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A running workbook: its output collected, its memory sampled.
struct Run {
    child: Child,
    started: Instant,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    peak_kb: Arc<AtomicU64>,
    runaway: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

/// How a run ended.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    /// The signal that killed it.
    signal: Option<i32>,
    /// From start (or from the signal, see [`Run::signal_and_wait`]) to exit.
    elapsed: Duration,
    /// It did not end within the bound and was killed.
    hung: bool,
    /// It grew past [`RUNAWAY_MB`] and was killed.
    runaway: bool,
    /// Peak resident memory, MiB: the kernel's high-water mark (VmHWM), sampled every 20 ms.
    peak_mb: u64,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Run {
    fn start(mut cmd: Command) -> Run {
        let mut child = cmd.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut out) = child.stdout.take() {
            let sink = stdout.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        if let Some(mut err) = child.stderr.take() {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let peak_kb = Arc::new(AtomicU64::new(0));
        let runaway = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (pid, peak, run_away, finished) =
            (child.id(), peak_kb.clone(), runaway.clone(), done.clone());
        std::thread::spawn(move || {
            while !finished.load(Ordering::SeqCst) {
                let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                    break;
                };
                let field = |name: &str| {
                    status
                        .lines()
                        .find(|l| l.starts_with(name))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                peak.fetch_max(field("VmHWM:"), Ordering::SeqCst);
                if field("VmRSS:") > RUNAWAY_MB * 1024 {
                    run_away.store(true, Ordering::SeqCst);
                    // SAFETY: signals our own child, which has not been reaped yet.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Run {
            child,
            started: Instant::now(),
            stdout,
            stderr,
            peak_kb,
            runaway,
            done,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits up to `bound` for the exit; kills it after that.
    fn wait(self, bound: Duration) -> Outcome {
        let from = self.started;
        self.wait_from(from, bound)
    }

    /// Sends `signal`, then waits up to `bound`; `elapsed` counts from the signal.
    fn signal_and_wait(self, signal: i32, bound: Duration) -> Outcome {
        let sent = Instant::now();
        // SAFETY: signals our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
        self.wait_from(sent, bound)
    }

    fn wait_from(mut self, from: Instant, bound: Duration) -> Outcome {
        let pid = self.pid();
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let mut hung = false;
        loop {
            // SAFETY: reaps our own child; WNOHANG never blocks.
            let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
            if r == pid {
                break;
            }
            assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
            if from.elapsed() > bound && !hung {
                hung = true;
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = from.elapsed();
        self.done.store(true, Ordering::SeqCst);
        // The readers finish once the pipes close.
        std::thread::sleep(Duration::from_millis(50));
        let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
        // Not `usage.ru_maxrss`: spawned by vfork, the child's count starts from this test
        // process's own peak.
        let peak_kb = self.peak_kb.load(Ordering::SeqCst);
        let outcome = Outcome {
            code,
            signal,
            elapsed,
            hung,
            runaway: self.runaway.load(Ordering::SeqCst),
            peak_mb: peak_kb / 1024,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        };
        eprintln!(
            "exit {:?} (signal {:?}) after {:?}, peak RSS {} MiB{}; it printed:\n{}",
            outcome.code,
            outcome.signal,
            outcome.elapsed,
            outcome.peak_mb,
            if outcome.hung { ", HUNG" } else { "" },
            outcome.output().trim_end()
        );
        // The reaped child must not be waited for again by std.
        std::mem::forget(self.child);
        outcome
    }
}

/// Waits up to `secs` for `done`.
fn wait_until(secs: u64, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

fn assert_ended(o: &Outcome, bound: Duration) {
    assert!(
        !o.hung,
        "it did not end within {bound:?}; it printed:\n{}",
        o.output()
    );
    assert!(
        !o.runaway,
        "its memory grew past {RUNAWAY_MB} MiB; it printed:\n{}",
        o.output()
    );
}

fn assert_bounded_memory(o: &Outcome) {
    assert!(
        o.peak_mb < BOUNDED_MB,
        "peak RSS {} MiB, over {BOUNDED_MB} MiB",
        o.peak_mb
    );
}

/// The one probe the grading created was deleted, and no container is left.
fn assert_probe_removed(fake: &FakeEngine) {
    assert!(
        fake.created() >= 1,
        "no probe was created:\n{}",
        fake.transcript()
    );
    assert!(
        fake.live_containers().is_empty(),
        "probes left: {:?}; requests:\n{}",
        fake.live_containers(),
        fake.transcript()
    );
}

// ---------------------------------------------------------------- the fake itself

#[test]
fn a_healthy_fake_grades_exercise_01_as_passed() {
    let ws = workspace();
    let fake = FakeEngine::start();
    let o = Run::start({
        let mut c = workbook(&ws.root, &fake, 5);
        c.args(["check", "01"]);
        c
    })
    .wait(Duration::from_secs(30));
    assert_ended(&o, Duration::from_secs(30));
    assert_eq!(o.code, Some(0), "{}", o.output());
    assert_probe_removed(&fake);
}

// ---------------------------------------------------------------- 1. bounded answers

/// `check 01` against the fake, with `how` on `method path`; the outcome after at most `bound`.
fn check_01_with(
    method: &str,
    path: &str,
    how: Misbehaviour,
    bound: Duration,
) -> (Outcome, FakeEngine) {
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.misbehave(method, path, how);
    let o = Run::start({
        let mut c = workbook(&ws.root, &fake, 3);
        c.args(["check", "01"]);
        c
    })
    .wait(bound);
    (o, fake)
}

#[test]
fn a_json_answer_that_stalls_after_its_headers_is_an_error_in_time() {
    let bound = Duration::from_secs(20);
    let (o, _fake) = check_01_with(
        "GET",
        "/containers/json",
        Misbehaviour::HeadersThenStall,
        bound,
    );
    assert_ended(&o, bound);
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(
        o.output()
            .contains("stopped sending in the middle of an answer to GET /containers/json"),
        "{}",
        o.output()
    );
}

#[test]
fn an_endless_json_body_is_cut_at_its_cap() {
    let bound = Duration::from_secs(60);
    let (o, _fake) = check_01_with("GET", "/containers/json", Misbehaviour::EndlessJson, bound);
    assert_ended(&o, bound);
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(
        o.output().contains(
            "sent more than 64 MiB for GET /containers/json; is it really a Docker Engine?"
        ),
        "{}",
        o.output()
    );
    assert_bounded_memory(&o);
}

#[test]
fn an_endless_error_body_is_cut_small() {
    let bound = Duration::from_secs(30);
    let (o, _fake) = check_01_with("GET", "/volumes", Misbehaviour::EndlessBodyError, bound);
    assert_ended(&o, bound);
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(
        o.output()
            .contains("sent an error of more than 64 KiB for GET /volumes"),
        "{}",
        o.output()
    );
    assert!(o.peak_mb < 64, "peak RSS {} MiB", o.peak_mb);
}

#[test]
fn an_archive_sent_a_byte_every_30_s_is_an_error_in_time() {
    let bound = Duration::from_secs(25);
    let (o, fake) = check_01_with(
        "GET",
        "/archive",
        Misbehaviour::SlowTar(Duration::from_secs(30)),
        bound,
    );
    assert_ended(&o, bound);
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(
        o.output()
            .contains("stopped sending in the middle of an answer to GET /containers/")
            && o.output().contains("/archive (nothing for 3 s)"),
        "{}",
        o.output()
    );
    assert_probe_removed(&fake);
}

#[test]
fn an_archive_that_trickles_meets_the_read_deadline() {
    // A byte every 0.5 s: never idle for the 3 s bound, never done either.
    let bound = Duration::from_secs(25);
    let (o, fake) = check_01_with(
        "GET",
        "/archive",
        Misbehaviour::SlowTar(Duration::from_millis(500)),
        bound,
    );
    assert_ended(&o, bound);
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(
        o.output().contains("took more than 3 s to send"),
        "{}",
        o.output()
    );
    assert_probe_removed(&fake);
}

#[test]
fn an_endless_archive_is_read_only_up_to_the_callers_limit() {
    let bound = Duration::from_secs(30);
    let (o, fake) = check_01_with("GET", "/archive", Misbehaviour::EndlessTar, bound);
    assert_ended(&o, bound);
    // The archive's one entry is not hello.txt as it should be: a verdict, not a hang.
    assert!(matches!(o.code, Some(1 | 2)), "{}", o.output());
    assert!(o.peak_mb < 64, "peak RSS {} MiB", o.peak_mb);
    assert_probe_removed(&fake);
}

// ---------------------------------------------------------------- 2. the event stream

/// `watch --max-regrades N` against the fake with `how` on its event stream.
fn watch_with(how: Misbehaviour, regrades: u32, bound: Duration) -> (Outcome, FakeEngine) {
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.unsolved();
    fake.misbehave("GET", "/events", how);
    let o = Run::start({
        let mut c = workbook(&ws.root, &fake, 3);
        c.args(["watch", "--max-regrades", &regrades.to_string()]);
        c
    })
    .wait(bound);
    (o, fake)
}

#[test]
fn watch_survives_an_endless_event_line() {
    let bound = Duration::from_secs(30);
    let (o, fake) = watch_with(Misbehaviour::EventsLongline, 1, bound);
    assert_ended(&o, bound);
    // It falls back to polling, and the poll's re-grade ends it with its verdict: a fail.
    assert_eq!(o.code, Some(1), "{}", o.output());
    assert!(
        o.stderr.contains("event stream is unavailable")
            && o.stderr
                .contains("a line of more than 1 MiB for GET /events"),
        "{}",
        o.output()
    );
    assert_bounded_memory(&o);
    assert!(fake.live_containers().is_empty());
}

#[test]
fn watch_falls_back_to_polling_on_garbage_events() {
    let bound = Duration::from_secs(30);
    let (o, fake) = watch_with(Misbehaviour::EventsGarbage, 1, bound);
    assert_ended(&o, bound);
    assert_eq!(o.code, Some(1), "{}", o.output());
    assert!(
        o.stderr.contains("event stream is unavailable"),
        "{}",
        o.output()
    );
    assert!(fake.live_containers().is_empty());
}

#[test]
fn watch_under_an_event_flood_answers_ctrl_c() {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.unsolved();
    fake.misbehave("GET", "/events", Misbehaviour::EventsFlood);
    let run = Run::start({
        let mut c = workbook(&ws.root, &fake, 3);
        c.arg("watch");
        c
    });
    // Flooded and re-grading without pause for a while.
    assert!(
        wait_until(20, || fake.created() >= 5),
        "{}",
        fake.transcript()
    );
    std::thread::sleep(Duration::from_secs(1));
    let o = run.signal_and_wait(libc::SIGINT, Duration::from_secs(10));
    assert_ended(&o, Duration::from_secs(10));
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(o.stderr.contains("interrupted"), "{}", o.output());
    assert!(
        o.elapsed < Duration::from_secs(2),
        "took {:?} to end",
        o.elapsed
    );
    assert_bounded_memory(&o);
    assert!(
        wait_until(2, || fake.live_containers().is_empty()),
        "{:?}",
        fake.live_containers()
    );
}

#[test]
fn watch_under_an_event_flood_answers_keys() {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.unsolved();
    fake.misbehave("GET", "/events", Misbehaviour::EventsFlood);
    // `script` gives the watcher a terminal, so it reads keys; what we write goes to it.
    let bin = assert_cmd::cargo::cargo_bin("workbook");
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("{} watch", bin.display()))
        .arg("/dev/null")
        .env("WORKBOOK_WORKSPACE", &ws.root)
        .env("DOCKER_HOST", fake.docker_host())
        .env("WORKBOOK_DOCKER_TIMEOUT", "3")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut run = Run::start(cmd);
    assert!(
        wait_until(20, || fake.created() >= 5),
        "{}",
        fake.transcript()
    );
    std::thread::sleep(Duration::from_secs(1));
    let sent = Instant::now();
    run.child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let o = run.wait_from(sent, Duration::from_secs(10));
    assert_ended(&o, Duration::from_secs(10));
    assert_eq!(o.code, Some(0), "{}", o.output());
    assert!(
        o.elapsed < Duration::from_secs(2),
        "took {:?} to answer q",
        o.elapsed
    );
    assert!(
        wait_until(2, || fake.live_containers().is_empty()),
        "{:?}",
        fake.live_containers()
    );
}
