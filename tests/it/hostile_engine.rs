//! The real `workbook` binary against a hostile fake Docker Engine (`tests/fake_engine`): answers
//! that stall after their headers, never end, trickle, or flood; signals while a grading is
//! stuck. Each run is bounded: exit 2 (or the verdict's code) within a generous bound instead of
//! hanging, a message that names what happened, bounded memory (peak RSS), and no probe left
//! (the fake records its DELETE). Nothing here touches the real Docker daemon.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util;
use crate::util::fake_engine::{FakeEngine, Misbehaviour};

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
    let status = util::workbook_process()
        .arg("init")
        .arg(&root)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    Workspace { _dir: dir, root }
}

/// [`util::workbook_process`] in `ws` against `fake`, as from a terminal (signals at their
/// defaults), stdin closed, its output piped.
fn workbook(ws: &Path, fake: &FakeEngine, timeout_secs: u32) -> Command {
    let mut cmd = util::workbook_process();
    util::as_from_a_terminal(&mut cmd)
        .env("WORKBOOK_WORKSPACE", ws)
        .env("DOCKER_HOST", fake.docker_host())
        .env("WORKBOOK_DOCKER_TIMEOUT", timeout_secs.to_string())
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

    fn running(&self) -> bool {
        Path::new(&format!("/proc/{}/stat", self.pid())).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
                .unwrap_or_default()
                .contains(") Z ")
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
    // One connection per request, each closed with its answer: no descriptor piles up.
    let open_fds = std::fs::read_dir(format!("/proc/{}/fd", run.pid()))
        .map(|d| d.count())
        .unwrap_or(0);
    let gradings = fake.created();
    assert!(
        open_fds < 64,
        "{open_fds} open descriptors after {gradings} gradings"
    );
    let o = run.signal_and_wait(libc::SIGINT, Duration::from_secs(10));
    eprintln!("{gradings} gradings under the flood, {open_fds} open descriptors");
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

/// `workbook watch` on a terminal (`script` gives it one; what is written to `script` is typed
/// at that terminal), against `fake`.
fn watch_on_a_terminal(ws: &Path, fake: &FakeEngine) -> Run {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_workbook"));
    let mut cmd = Command::new("script");
    util::as_from_a_terminal(&mut cmd)
        .args(["-q", "-e", "-c"])
        // `exec`: a shell that waited on the workbook (dash does) would die of the Ctrl-C itself,
        // and `script -e` would report the shell's death, not the workbook's exit.
        .arg(format!("exec '{}' watch", bin.display()))
        .arg("/dev/null")
        .env("SHELL", "/bin/sh")
        .env("WORKBOOK_WORKSPACE", ws)
        .env("DOCKER_HOST", fake.docker_host())
        .env("WORKBOOK_DOCKER_TIMEOUT", "3")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Run::start(cmd)
}

/// Types `keys` at the terminal of a [`watch_on_a_terminal`] run and waits for it to end.
fn type_and_wait(mut run: Run, keys: &[u8]) -> Outcome {
    let sent = Instant::now();
    run.child.stdin.as_mut().unwrap().write_all(keys).unwrap();
    run.wait_from(sent, Duration::from_secs(10))
}

#[test]
fn watch_under_an_event_flood_answers_keys() {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.unsolved();
    fake.misbehave("GET", "/events", Misbehaviour::EventsFlood);
    let run = watch_on_a_terminal(&ws.root, &fake);
    assert!(
        wait_until(20, || fake.created() >= 5),
        "{}",
        fake.transcript()
    );
    std::thread::sleep(Duration::from_secs(1));
    let o = type_and_wait(run, b"q");
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

// ---------------------------------------------------------------- 3. Ctrl-C during blocking work

#[test]
fn ctrl_c_ends_a_grading_stuck_scanning_a_large_backup() {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    block_exercise_07(&ws.root);
    let run = Run::start({
        let mut c = workbook(&ws.root, &fake, 60);
        c.args(["check", "07"]);
        c
    });
    // The daemon's part is done once the containers were listed; then the checks are judged.
    assert!(wait_until(20, || fake.saw("GET", "/containers/json")));
    std::thread::sleep(Duration::from_millis(500));
    let o = run.signal_and_wait(libc::SIGINT, Duration::from_secs(10));
    assert_ended(&o, Duration::from_secs(10));
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(o.stderr.contains("interrupted"), "{}", o.output());
    assert!(
        o.elapsed < Duration::from_secs(1),
        "took {:?} from SIGINT to exit",
        o.elapsed
    );
}

/// A large, valid backup where exercise 07 reads one (64 MiB of zeros in one file, about 64 KiB
/// compressed): judging its step scans all of it, seconds in a debug build, on a blocking
/// thread. (A named pipe no longer blocks anything: host files that are not regular files are
/// refused before they are opened.) 07's setup is marked done: the fake has no setup to make.
fn block_exercise_07(ws: &Path) {
    let dir = ws.join("07-backup-restore");
    let big = tempfile::tempdir().unwrap();
    std::fs::File::create(big.path().join("big"))
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let made = Command::new("tar")
        .arg("czf")
        .arg(dir.join("ml-data-backup.tar.gz"))
        .arg("-C")
        .arg(big.path())
        .arg("big")
        .status()
        .unwrap();
    assert!(made.success(), "tar czf");
    let progress = ws.join(".workbook/progress.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&progress).unwrap()).unwrap();
    state["current"] = "07-backup-restore".into();
    state["exercises"]["07-backup-restore"]["setup_done"] = true.into();
    std::fs::write(&progress, state.to_string()).unwrap();
}

#[test]
fn watch_answers_keys_while_a_large_backup_is_scanned() {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    // Exercise 07 is the one watched.
    block_exercise_07(&ws.root);
    let run = watch_on_a_terminal(&ws.root, &fake);
    assert!(wait_until(20, || fake.saw("GET", "/containers/json")));
    std::thread::sleep(Duration::from_millis(500));
    let o = type_and_wait(run, b"q");
    assert_ended(&o, Duration::from_secs(10));
    assert_eq!(o.code, Some(0), "{}", o.output());
    assert!(
        o.elapsed < Duration::from_secs(1),
        "took {:?} to answer q",
        o.elapsed
    );
}

#[test]
fn ctrl_c_ends_a_command_waiting_for_the_workspace_lock() {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    // Another workbook command holds the workspace: `check` waits up to 15 s for it.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(ws.root.join(".workbook/lock"))
        .or_else(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(ws.root.join(".workbook/lock"))
        })
        .unwrap();
    lock.lock().unwrap();
    let run = Run::start({
        let mut c = workbook(&ws.root, &fake, 60);
        c.args(["check", "01"]);
        c
    });
    std::thread::sleep(Duration::from_millis(700));
    assert!(run.running(), "it ended before the signal");
    let o = run.signal_and_wait(libc::SIGINT, Duration::from_secs(30));
    assert_ended(&o, Duration::from_secs(30));
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(o.stderr.contains("interrupted"), "{}", o.output());
    assert!(
        o.elapsed < Duration::from_secs(1),
        "took {:?} from SIGINT to exit",
        o.elapsed
    );
    drop(lock);
}

// ---------------------------------------------------------------- 4. SIGINT, SIGTERM, SIGHUP

/// `args` against a fake whose archive answers stall after their headers; `signal` once the
/// probe read has begun. Asserts the exit, the message and that the probe was deleted.
fn signal_during_a_stalled_probe_read(args: &[&str], signal: i32, message: &str) {
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.misbehave("GET", "/archive", Misbehaviour::HeadersThenStall);
    // An unfinished exercise: `watch` watches on.
    fake.unsolved();
    let run = Run::start({
        let mut c = workbook(&ws.root, &fake, 60);
        c.args(args);
        c
    });
    assert!(
        wait_until(20, || fake.saw("GET", "/archive")),
        "no probe read:\n{}",
        fake.transcript()
    );
    assert_eq!(
        fake.live_containers().len(),
        1,
        "the probe exists while it is read"
    );
    std::thread::sleep(Duration::from_millis(300));
    let o = run.signal_and_wait(signal, Duration::from_secs(10));
    assert_ended(&o, Duration::from_secs(10));
    assert_eq!(
        o.signal, None,
        "killed by the signal: nothing was cleaned up"
    );
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(o.stderr.contains(message), "{}", o.output());
    assert!(
        o.elapsed < Duration::from_secs(2),
        "took {:?} from the signal to exit",
        o.elapsed
    );
    assert!(fake.saw("DELETE", "/containers/"), "{}", fake.transcript());
    assert_probe_removed(&fake);
}

#[test]
fn ctrl_c_during_a_stalled_probe_read_removes_the_probe() {
    signal_during_a_stalled_probe_read(&["check", "01"], libc::SIGINT, "interrupted");
}

#[test]
fn sigterm_during_a_stalled_probe_read_removes_the_probe() {
    signal_during_a_stalled_probe_read(&["check", "01"], libc::SIGTERM, "terminated");
}

#[test]
fn sighup_during_a_stalled_probe_read_removes_the_probe() {
    signal_during_a_stalled_probe_read(&["check", "01"], libc::SIGHUP, "hung up");
}

#[test]
fn sigterm_ends_watch_and_removes_its_probe() {
    signal_during_a_stalled_probe_read(&["watch"], libc::SIGTERM, "terminated");
}

#[test]
fn sighup_ends_watch_and_removes_its_probe() {
    signal_during_a_stalled_probe_read(&["watch"], libc::SIGHUP, "hung up");
}

#[test]
fn ctrl_c_typed_at_the_terminal_ends_watch_and_removes_its_probe() {
    // Watch reads keys one at a time, with the terminal's signals kept: Ctrl-C is SIGINT.
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.unsolved();
    fake.misbehave("GET", "/archive", Misbehaviour::HeadersThenStall);
    let run = watch_on_a_terminal(&ws.root, &fake);
    assert!(
        wait_until(20, || fake.saw("GET", "/archive")),
        "{}",
        fake.transcript()
    );
    std::thread::sleep(Duration::from_millis(300));
    let o = type_and_wait(run, b"\x03");
    assert_ended(&o, Duration::from_secs(10));
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(o.output().contains("interrupted"), "{}", o.output());
    assert!(o.elapsed < Duration::from_secs(2), "took {:?}", o.elapsed);
    assert_probe_removed(&fake);
}

#[test]
fn sighup_is_ignored_under_nohup() {
    use std::os::unix::process::CommandExt;
    let _serial = serial();
    let ws = workspace();
    let fake = FakeEngine::start();
    fake.misbehave("GET", "/archive", Misbehaviour::HeadersThenStall);
    let mut cmd = workbook(&ws.root, &fake, 60);
    cmd.args(["check", "01"]);
    // As `nohup` starts it.
    // SAFETY: only changes a signal disposition between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let run = Run::start(cmd);
    assert!(wait_until(20, || fake.saw("GET", "/archive")));
    // SAFETY: signals our own child, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(run.pid(), libc::SIGHUP) }, 0);
    std::thread::sleep(Duration::from_secs(1));
    assert!(run.running(), "SIGHUP ended it under nohup");
    let o = run.signal_and_wait(libc::SIGTERM, Duration::from_secs(10));
    assert_eq!(o.code, Some(2), "{}", o.output());
    assert!(o.stderr.contains("terminated"), "{}", o.output());
    assert_probe_removed(&fake);
}
