//! `workbook watch`: grades the current exercise, then grades it again whenever something that
//! may change the verdict happens, and keeps the checklist on screen up to date.
//!
//! Re-grades are triggered by
//! - the daemon's event stream (container create/destroy/start/stop/die/rename and volume
//!   create/destroy/mount/unmount; every container, whatever its name, so a typo'd one counts
//!   too; only the workbook's own helper containers, probes and seeders, are ignored, or every
//!   grading would trigger the next one),
//! - a change to a file in the exercise folder (debounced: a burst of changes is one re-grade),
//! - the `r` key,
//! - a 2 s timer, only when the event stream is unavailable or broke.
//!
//! Gradings never overlap: triggers that arrive during one are coalesced into a single
//! follow-up run. The time from a trigger's receipt to the redrawn verdict is measured; with
//! `WORKBOOK_WATCH_TIMINGS=FILE` each re-grade appends `{"trigger":"event","ms":12.3}` to FILE.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use console::{style, Key, Term};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::checks::Status;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::docker::engine::{chain, Engine};
use crate::docker::helpers;
use crate::docker::labels;
use crate::grading::gather::Memory;
use crate::grading::grade::{self, Report};
use crate::lab::setup as lab_setup;
use crate::learner::progress::{ExerciseStatus, Progress};
use crate::learner::workspace::Workspace;
use crate::ui::output::{out, outln};
use crate::ui::render::{render, Style};

/// How long a file change waits for more changes before the re-grade.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// The longest a burst of file changes postpones its re-grade (a log written non-stop).
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(1);
/// How long daemon events that may be the learner acting on a volume (a container removed, a
/// volume unmounted) must be quiet before the re-grade, when grading reads such a volume
/// through a probe that names it: while that probe exists the daemon refuses `docker volume rm`.
/// Plain volumes are read through probes that bind their folder and never need this.
pub const SETTLE: Duration = Duration::from_millis(700);
/// The longest such events postpone their re-grade.
pub const MAX_SETTLE: Duration = Duration::from_secs(3);
/// How long an exec check's result is reused while its container is unchanged.
pub const EXEC_REUSE: Duration = Duration::from_secs(5);
/// How often verdicts waiting for the workspace lock try again.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Re-grade interval when the daemon's event stream is unavailable.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// Environment variable naming a file that gets one JSON line per re-grade.
pub const TIMINGS_ENV: &str = "WORKBOOK_WATCH_TIMINGS";
/// How many latencies are kept in memory.
pub const KEPT_LATENCIES: usize = 256;

/// Container actions that can change a verdict.
pub const CONTAINER_ACTIONS: &[&str] = &["create", "destroy", "start", "stop", "die", "rename"];
/// Volume actions that can change a verdict.
pub const VOLUME_ACTIONS: &[&str] = &["create", "destroy", "mount", "unmount"];

/// Options of `workbook watch`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchOptions {
    /// End with 0 as soon as every step passes.
    pub exit_on_pass: bool,
    /// End after this many re-grades (the first grading is not one), with the last verdict's
    /// exit code.
    pub max_regrades: Option<u32>,
}

// ---------------------------------------------------------------- triggers and scheduling

/// What asked for a re-grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    Event,
    File,
    Key,
    Poll,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Event => "event",
            TriggerKind::File => "file",
            TriggerKind::Key => "key",
            TriggerKind::Poll => "poll",
        }
    }
}

/// A request for a re-grade and when it was received (the start of its latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub at: Instant,
}

/// First and last change of a burst, which becomes one re-grade once it has been quiet for
/// `quiet`, or `max` after its first change at the latest.
#[derive(Debug, Clone, Copy)]
struct Burst {
    first: Instant,
    last: Instant,
}

impl Burst {
    fn add(burst: &mut Option<Burst>, at: Instant) {
        *burst = Some(match *burst {
            Some(b) => Burst {
                first: b.first,
                last: b.last.max(at),
            },
            None => Burst {
                first: at,
                last: at,
            },
        });
    }

    fn deadline(&self, quiet: Duration, max: Duration) -> Instant {
        (self.last + quiet).min(self.first + max)
    }
}

/// Decides when gradings run: one at a time, triggers during a run coalesced into one
/// follow-up, file changes debounced, and events that may be the learner acting on a volume
/// held back until things settle. Pure: the caller passes the time in.
#[derive(Debug, Default)]
pub struct Scheduler {
    running: bool,
    /// The earliest trigger not yet served by a run that started after it.
    pending: Option<Trigger>,
    /// The current burst of file changes.
    files: Option<Burst>,
    /// The current burst of daemon events held back to settle ([`SETTLE`]).
    settling: Option<Burst>,
}

impl Scheduler {
    /// Asks for a re-grade. Returns the trigger to grade for now when no grading runs; otherwise
    /// it is kept (merged with any other waiting one) for the follow-up run.
    pub fn request(&mut self, t: Trigger) -> Option<Trigger> {
        self.pending = Some(match self.pending {
            Some(p) if p.at <= t.at => p,
            _ => t,
        });
        self.start_if_idle()
    }

    /// A grading is started outside of [`Scheduler::request`] (the first one of an exercise).
    pub fn started(&mut self) {
        self.running = true;
    }

    /// The grading finished. Returns the follow-up to run, if triggers came in meanwhile.
    pub fn finished(&mut self) -> Option<Trigger> {
        self.running = false;
        self.start_if_idle()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Forgets waiting triggers, file changes and settling events (a new exercise starts with
    /// its own grading).
    pub fn clear(&mut self) {
        self.pending = None;
        self.files = None;
        self.settling = None;
    }

    /// A file in the exercise folder changed at `at`.
    pub fn file_changed(&mut self, at: Instant) {
        Burst::add(&mut self.files, at);
    }

    /// A daemon event at `at` that must settle before the re-grade: the learner may be about
    /// to act on a volume that grading reads through a probe naming it.
    pub fn settle(&mut self, at: Instant) {
        Burst::add(&mut self.settling, at);
    }

    /// Whether events are being held back to settle: every event joins them meanwhile.
    pub fn is_settling(&self) -> bool {
        self.settling.is_some()
    }

    /// When the current burst of file changes becomes a re-grade: [`DEBOUNCE`] after the last
    /// change, and no later than [`MAX_DEBOUNCE`] after the first.
    pub fn file_deadline(&self) -> Option<Instant> {
        self.files.map(|b| b.deadline(DEBOUNCE, MAX_DEBOUNCE))
    }

    /// When held-back events become a re-grade: [`SETTLE`] after the last, no later than
    /// [`MAX_SETTLE`] after the first.
    pub fn settle_deadline(&self) -> Option<Instant> {
        self.settling.map(|b| b.deadline(SETTLE, MAX_SETTLE))
    }

    /// The earliest of the two deadlines.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.file_deadline(), self.settle_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// At `now`: turns a burst of file changes whose deadline has passed into a request (its
    /// latency counts from the burst's first change), and likewise held-back events. Returns
    /// the trigger to grade for now, as `request` does.
    pub fn files_due(&mut self, now: Instant) -> Option<Trigger> {
        let mut started = None;
        if let Some(b) = self
            .files
            .filter(|b| b.deadline(DEBOUNCE, MAX_DEBOUNCE) <= now)
        {
            self.files = None;
            started = self.request(Trigger {
                kind: TriggerKind::File,
                at: b.first,
            });
        }
        if let Some(b) = self
            .settling
            .filter(|b| b.deadline(SETTLE, MAX_SETTLE) <= now)
        {
            self.settling = None;
            started = started.or(self.request(Trigger {
                kind: TriggerKind::Event,
                at: b.first,
            }));
        }
        started
    }

    fn start_if_idle(&mut self) -> Option<Trigger> {
        if self.running {
            return None;
        }
        let t = self.pending.take()?;
        self.running = true;
        Some(t)
    }
}

// ---------------------------------------------------------------- daemon events

/// Sorts daemon events: relevant ones trigger a re-grade. The workbook's own helper containers
/// (probes, seeders, bench runs: labelled `workbook.managed=true` with such a role) and the
/// volume mounts they cause are ignored, or each grading would trigger the next.
///
/// The daemon also logs a volume `create` each time a container names an existing volume
/// (every probe does), so a `create` of a volume known to exist changes nothing and is ignored;
/// without that, watching an exercise whose grading reads a volume re-graded without end.
#[derive(Debug, Default)]
pub struct EventFilter {
    /// Ids of helper containers seen lately (their volume mounts carry only the id).
    helpers: VecDeque<String>,
    /// Volumes known to exist: listed at the start, then kept by create and destroy events.
    volumes: HashSet<String>,
}

const KEPT_HELPERS: usize = 512;

impl EventFilter {
    /// A filter that knows these volumes exist.
    pub fn with_volumes(names: impl IntoIterator<Item = String>) -> EventFilter {
        EventFilter {
            volumes: names.into_iter().collect(),
            ..EventFilter::default()
        }
    }

    pub fn relevant(&mut self, ev: &EventMessage) -> bool {
        let action = ev.action.as_deref().unwrap_or_default();
        let id = ev
            .actor
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .unwrap_or_default();
        let attributes = ev.actor.as_ref().and_then(|a| a.attributes.as_ref());
        match ev.typ {
            Some(EventMessageTypeEnum::CONTAINER) => {
                if labels::is_helper(attributes) {
                    if !id.is_empty() && !self.helpers.iter().any(|h| h == id) {
                        if self.helpers.len() == KEPT_HELPERS {
                            self.helpers.pop_front();
                        }
                        self.helpers.push_back(id.to_string());
                    }
                    return false;
                }
                CONTAINER_ACTIONS.contains(&action)
            }
            Some(EventMessageTypeEnum::VOLUME) => {
                let by_helper = attributes
                    .and_then(|a| a.get("container"))
                    .is_some_and(|c| self.helpers.iter().any(|h| h == c));
                match action {
                    // `id` is the volume's name.
                    "create" => self.volumes.insert(id.to_string()) && !by_helper,
                    "destroy" => {
                        self.volumes.remove(id);
                        !by_helper
                    }
                    _ => !by_helper && VOLUME_ACTIONS.contains(&action),
                }
            }
            _ => false,
        }
    }
}

/// The volume an event is about: Docker names it in the actor's id, Podman in the attribute
/// `name`.
fn volume_of(ev: &EventMessage) -> Option<&str> {
    let actor = ev.actor.as_ref()?;
    actor
        .attributes
        .as_ref()
        .and_then(|a| a.get("name"))
        .filter(|_| ev.typ == Some(EventMessageTypeEnum::VOLUME))
        .map(String::as_str)
        .or(actor.id.as_deref())
}

/// Whether a relevant event may be the learner starting to act on one of `named`, the volumes
/// grading reads through probes that name them: a container stopping or going away (a
/// `docker volume rm` often follows), or one of those volumes changing.
pub fn unsettling(ev: &EventMessage, named: &HashSet<String>) -> bool {
    if named.is_empty() {
        return false;
    }
    let action = ev.action.as_deref().unwrap_or_default();
    match ev.typ {
        Some(EventMessageTypeEnum::CONTAINER) => matches!(action, "destroy" | "die" | "stop"),
        Some(EventMessageTypeEnum::VOLUME) => volume_of(ev).is_some_and(|v| named.contains(v)),
        _ => false,
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<EventMessage, bollard::errors::Error>>>>;

/// The daemon's container and volume events from `since` (unix seconds) on, so nothing that
/// happens while the first grading runs is missed.
fn subscribe(engine: &Engine, since: u64) -> EventStream {
    let filters: HashMap<String, Vec<String>> = HashMap::from([
        (
            "type".to_string(),
            vec!["container".to_string(), "volume".to_string()],
        ),
        (
            "event".to_string(),
            CONTAINER_ACTIONS
                .iter()
                .chain(VOLUME_ACTIONS)
                .map(|a| a.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
    ]);
    let opts = EventsOptions {
        since: Some(since.to_string()),
        until: None,
        filters: Some(filters),
    };
    Box::pin(engine.docker.events(Some(opts)))
}

// ---------------------------------------------------------------- file changes

/// Whether a file-system event can change what grading sees (opening or reading a file, which
/// grading itself does, cannot).
pub fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    use notify::EventKind;
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Watches `dir` recursively; each change sends the time it was seen.
fn watch_folder(
    dir: &Path,
    tx: mpsc::UnboundedSender<Instant>,
) -> Result<notify::RecommendedWatcher, String> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if is_change(&ev.kind) {
                let _ = tx.send(Instant::now());
            }
        }
    })
    .map_err(|e| format!("cannot watch files: {e}"))?;
    watcher
        .watch(dir, notify::RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(watcher)
}

// ---------------------------------------------------------------- latencies

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

// ---------------------------------------------------------------- keys

/// Reads keys on a blocking thread while it lives. On Unix the terminal is switched to
/// no-echo, key-at-a-time input for the session (Ctrl-C still interrupts), and the thread
/// waits for input with a timeout, so it notices the end of the watch and never keeps the
/// process (or a raw-mode terminal) waiting for one more key.
struct KeyReader {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl KeyReader {
    /// `None` when there is no terminal to read keys from.
    fn start(tx: mpsc::UnboundedSender<Key>) -> Option<KeyReader> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let term = [Term::stdout(), Term::stderr()]
            .into_iter()
            .find(Term::is_term)?;
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        let saved = key_at_a_time();
        let (thread_stop, thread_done) = (stop.clone(), done.clone());
        tokio::task::spawn_blocking(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                if !input_ready(Duration::from_millis(100)) {
                    continue;
                }
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                match term.read_key() {
                    Ok(key) => {
                        let quit = matches!(key, Key::Char('q' | 'Q'));
                        if tx.send(key).is_err() || quit {
                            break;
                        }
                    }
                    // Ctrl-C: console raised SIGINT, the watch handles it.
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                    Err(_) => break,
                }
            }
            thread_done.store(true, Ordering::SeqCst);
        });
        Some(KeyReader {
            stop,
            done,
            #[cfg(unix)]
            saved,
        })
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Let the thread finish a key it is reading before the terminal is put back.
        let started = std::time::Instant::now();
        while !self.done.load(Ordering::SeqCst) && started.elapsed() < Duration::from_millis(500) {
            std::thread::sleep(Duration::from_millis(5));
        }
        #[cfg(unix)]
        if let Some(saved) = self.saved {
            // SAFETY: restores the attributes read from the same descriptor at start.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}

/// Non-canonical, no-echo input on stdin (signals stay on); returns the attributes to restore.
#[cfg(unix)]
fn key_at_a_time() -> Option<libc::termios> {
    // SAFETY: tcgetattr fills the struct on success (checked); tcsetattr reads it.
    unsafe {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        if libc::tcgetattr(libc::STDIN_FILENO, t.as_mut_ptr()) != 0 {
            return None;
        }
        let saved = t.assume_init();
        let mut raw = saved;
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
            return None;
        }
        Some(saved)
    }
}

/// Whether stdin has input within `timeout`.
#[cfg(unix)]
fn input_ready(timeout: Duration) -> bool {
    let mut fds = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut fds, 1, timeout.as_millis() as libc::c_int) };
    if n < 0 {
        // Interrupted by a signal: look again after a pause rather than spin.
        std::thread::sleep(timeout);
        return false;
    }
    n > 0
}

/// Elsewhere `read_key` blocks until a key: the watch may then wait for one at exit.
#[cfg(not(unix))]
fn input_ready(_timeout: Duration) -> bool {
    true
}

// ---------------------------------------------------------------- the screen

/// Terminal rows `lines` take at `width` columns (long lines wrap).
pub fn rows(lines: &[String], width: usize) -> usize {
    let width = width.max(1);
    lines
        .iter()
        .map(|l| console::measure_text_width(l).div_ceil(width).max(1))
        .sum()
}

/// Stdout: on a terminal the checklist is redrawn in place (lines printed above it stay);
/// otherwise every new verdict is printed as lines.
struct Screen {
    term: Term,
    tty: bool,
    /// The checklist last drawn, and the rows it takes on screen now (0 once it scrolled
    /// away under other text).
    checklist: Vec<String>,
    drawn_rows: usize,
}

impl Screen {
    fn new() -> Screen {
        let term = Term::stdout();
        let tty = term.is_term();
        Screen {
            term,
            tty,
            checklist: Vec::new(),
            drawn_rows: 0,
        }
    }

    fn clear(&mut self) {
        if self.tty && self.drawn_rows > 0 {
            let _ = self.term.clear_last_lines(self.drawn_rows);
            self.drawn_rows = 0;
        }
    }

    /// Text that stays: above the checklist on a terminal.
    fn say(&mut self, text: &str) {
        self.clear();
        outln(text);
        self.redraw();
    }

    /// A warning on stderr without garbling the checklist.
    fn warn(&mut self, text: &str) {
        self.clear();
        eprintln!("{} {text}", style("warning:").yellow().bold());
        self.redraw();
    }

    /// Replaces the checklist (a terminal only: elsewhere verdicts are printed by the caller).
    fn draw(&mut self, lines: Vec<String>) {
        self.clear();
        self.checklist = lines;
        self.redraw();
    }

    fn redraw(&mut self) {
        if !self.tty || self.checklist.is_empty() {
            return;
        }
        self.clear();
        out(&self
            .checklist
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>());
        self.drawn_rows = rows(&self.checklist, self.term.size().1 as usize);
    }
}

fn mark(status: Status) -> console::StyledObject<&'static str> {
    match status {
        Status::Pass => style("✓").green().bold(),
        Status::Fail => style("✗").red().bold(),
        Status::Error => style("!").yellow().bold(),
    }
}

/// Every step with its mark, and the message of those that do not pass (with `brief`, of the
/// first one only).
fn step_lines(report: &Report, brief: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut explained = false;
    for (i, step) in report.steps.iter().enumerate() {
        lines.push(format!("  {} {}. {}", mark(step.status), i + 1, step.title));
        if step.status != Status::Pass && !(brief && explained) {
            lines.extend(step.message.lines().map(|l| format!("       {l}")));
            explained = true;
        }
    }
    lines
}

/// [`step_lines`] in at most `room` rows of `width` columns where it can: every step's line,
/// and as much of the first unfinished step's message as fits.
pub fn fit_steps(report: &Report, width: usize, room: usize) -> Vec<String> {
    for brief in [false, true] {
        let lines = step_lines(report, brief);
        if rows(&lines, width) <= room {
            return lines;
        }
    }
    let titles = report.steps.len();
    // Rows left for the message, keeping one for the ellipsis.
    let mut budget = room.saturating_sub(titles + 1);
    let mut lines = Vec::new();
    let mut explained = false;
    for (i, step) in report.steps.iter().enumerate() {
        lines.push(format!("  {} {}. {}", mark(step.status), i + 1, step.title));
        if step.status != Status::Pass && !explained {
            explained = true;
            for l in step.message.lines() {
                let line = format!("       {l}");
                let need = rows(std::slice::from_ref(&line), width);
                if need > budget {
                    lines.push("       …".to_string());
                    break;
                }
                budget -= need;
                lines.push(line);
            }
        }
    }
    lines
}

fn summary(report: &Report) -> String {
    let count = |status| report.steps.iter().filter(|s| s.status == status).count();
    let text = format!("{}/{} steps pass", count(Status::Pass), report.steps.len());
    match count(Status::Error) {
        0 => text,
        n => format!("{text}, {n} could not be checked"),
    }
}

/// Whether two verdicts read the same (status and message of every step).
fn same_verdict(a: &Report, b: &Report) -> bool {
    a.status == b.status
        && a.steps.len() == b.steps.len()
        && a.steps
            .iter()
            .zip(&b.steps)
            .all(|(x, y)| x.status == y.status && x.message == y.message)
}

/// Steps that pass now and did not in `before` (1-based number, title).
fn newly_passed<'r>(before: Option<&Report>, now: &'r Report) -> Vec<(usize, &'r str)> {
    let Some(before) = before else {
        return Vec::new();
    };
    now.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == Status::Pass)
        .filter(|(_, s)| before.step(&s.id).is_none_or(|b| b.status != Status::Pass))
        .map(|(i, s)| (i + 1, s.title.as_str()))
        .collect()
}

// ---------------------------------------------------------------- the session

type Grading<'a> = Pin<Box<dyn Future<Output = Report> + 'a>>;

/// Why a grading runs: the first of an exercise, or a re-grade.
#[derive(Debug, Clone, Copy)]
enum Reason {
    First,
    Again(Trigger),
}

struct Session<'a> {
    cat: &'a Catalog,
    ws: &'a Workspace,
    engine: &'a Engine,
    opts: WatchOptions,
    ex: &'a Exercise,
    screen: Screen,
    keys: bool,
    polling: bool,
    /// The watch ends after the verdict being drawn (no keys to offer).
    ending: bool,
    last: Option<Report>,
    regrades: u32,
    latencies: Latencies,
    timings: Option<PathBuf>,
    timings_warned: bool,
    /// Shared by every grading of the session: the volume history (fed by the event stream
    /// too) and recent exec results.
    memory: Arc<Memory>,
    endpoint: String,
    /// Verdicts not recorded yet: another workbook command holds the workspace lock.
    unrecorded: Vec<(Report, bool)>,
    lock_warned: bool,
}

/// What the loop does after a verdict.
enum After {
    Continue,
    Exit(i32),
}

/// Watches the current exercise until `q`, Ctrl-C, or what `opts` asks for. Returns the exit
/// code: 0 when ended by `q` or `--exit-on-pass`; after `--max-regrades N`, the last verdict's
/// (0 pass, 1 fail, 2 error).
pub async fn run(
    cat: &Catalog,
    ws: &Workspace,
    engine: &Engine,
    opts: WatchOptions,
) -> Result<i32, String> {
    let result = watch(cat, ws, engine, opts).await;
    // However the watch ended (a grading may have been cut short), no probe stays behind.
    helpers::remove_live(&engine.docker).await;
    result
}

async fn watch(
    cat: &Catalog,
    ws: &Workspace,
    engine: &Engine,
    opts: WatchOptions,
) -> Result<i32, String> {
    let progress = load_progress(ws)?;
    let exercises = cat.exercises()?;
    let ex = progress
        .current(exercises)
        .or_else(|| exercises.last())
        .ok_or_else(|| "this workbook has no exercises".to_string())?;
    ensure_setup(engine, cat, ws, ex).await?;

    let (key_tx, mut key_rx) = mpsc::unbounded_channel::<Key>();
    let key_reader = KeyReader::start(key_tx);
    let (file_tx, mut file_rx) = mpsc::unbounded_channel::<Instant>();

    let mut s = Session {
        cat,
        ws,
        engine,
        opts,
        ex,
        screen: Screen::new(),
        keys: key_reader.is_some(),
        polling: false,
        ending: false,
        last: None,
        regrades: 0,
        latencies: Latencies::default(),
        timings: std::env::var_os(TIMINGS_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        timings_warned: false,
        memory: Arc::new({
            let endpoint = engine.endpoint.to_string();
            let mut m = Memory::reusing_execs(EXEC_REUSE);
            m.history = std::sync::Mutex::new(ws.grading_memory(&endpoint).history());
            m
        }),
        endpoint: engine.endpoint.to_string(),
        unrecorded: Vec::new(),
        lock_warned: false,
    };

    // Subscribe before the first grading, from a second back: nothing falls in between. From
    // then on, while the stream lasts, every volume removal on the daemon is seen.
    let subscribed = crate::util::clock::now().saturating_sub(1);
    let mut events = Some(subscribe(engine, subscribed));
    let stream_from = subscribed as i64 * 1_000_000_000;
    let known = crate::docker::engine::all_volumes(&engine.docker)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name);
    let mut filter = EventFilter::with_volumes(known);
    let mut files = s.watch_files(&file_tx);
    let mut poll = tokio::time::interval(POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let shutdown = crate::util::signals::shutdown();
    tokio::pin!(shutdown);

    let mut sched = Scheduler::default();
    sched.started();
    let mut reason = Reason::First;
    let mut grading: Option<Grading> = Some(s.grading());

    loop {
        let file_deadline = sched.deadline();
        tokio::select! {
            signal = &mut shutdown => {
                drop(grading);
                helpers::remove_live(&engine.docker).await;
                s.print_latency_summary();
                return Err(signal.to_string());
            }
            report = async {
                match grading.as_mut() {
                    Some(g) => g.await,
                    None => std::future::pending().await,
                }
            }, if grading.is_some() => {
                grading = None;
                match s.verdict(report, reason)? {
                    After::Exit(code) => {
                        s.finish();
                        return Ok(code);
                    }
                    After::Continue => {}
                }
                if let Some(t) = sched.finished() {
                    reason = Reason::Again(t);
                    grading = Some(s.grading());
                }
            }
            ev = async {
                match events.as_mut() {
                    Some(e) => e.next().await,
                    None => std::future::pending().await,
                }
            }, if events.is_some() => {
                let arrived = Instant::now();
                match ev {
                    Some(Ok(msg)) => {
                        let at = emitted_at(arrived, msg.time_nano, std::time::SystemTime::now());
                        s.observe(&msg, stream_from);
                        if filter.relevant(&msg) {
                            if sched.is_settling() || unsettling(&msg, &s.memory.named_probes()) {
                                sched.settle(at);
                            } else if let Some(t) = sched.request(Trigger { kind: TriggerKind::Event, at }) {
                                reason = Reason::Again(t);
                                grading = Some(s.grading());
                            }
                        }
                    }
                    other => {
                        let why = match other {
                            Some(Err(e)) => chain(&e),
                            _ => "the daemon closed it".to_string(),
                        };
                        events = None;
                        s.polling = true;
                        poll.reset();
                        s.screen.warn(&format!(
                            "the Docker daemon's event stream is unavailable ({why}); checking every {} s instead",
                            POLL_EVERY.as_secs()
                        ));
                        s.refresh_checklist();
                    }
                }
            }
            Some(at) = file_rx.recv() => sched.file_changed(at),
            _ = tokio::time::sleep_until(file_deadline.unwrap_or_else(Instant::now)), if file_deadline.is_some() => {
                if let Some(t) = sched.files_due(Instant::now()) {
                    reason = Reason::Again(t);
                    grading = Some(s.grading());
                }
            }
            _ = tokio::time::sleep(FLUSH_EVERY), if !s.unrecorded.is_empty() => {
                if let Err(e) = s.flush() {
                    s.screen.warn(&format!("{e}; these verdicts were not recorded"));
                    s.unrecorded.clear();
                }
            }
            _ = poll.tick(), if s.polling => {
                if let Some(t) = sched.request(Trigger { kind: TriggerKind::Poll, at: Instant::now() }) {
                    reason = Reason::Again(t);
                    grading = Some(s.grading());
                }
            }
            Some(key) = key_rx.recv() => {
                let at = Instant::now();
                match key {
                    Key::Char('q' | 'Q') => {
                        // The last checklist stays on screen.
                        drop(grading);
                        helpers::remove_live(&engine.docker).await;
                        s.finish();
                        return Ok(0);
                    }
                    Key::Char('r' | 'R') => {
                        if let Some(t) = sched.request(Trigger { kind: TriggerKind::Key, at }) {
                            reason = Reason::Again(t);
                            grading = Some(s.grading());
                        }
                    }
                    Key::Char('h' | 'H') => s.hint()?,
                    Key::Char('l' | 'L') => s.list()?,
                    Key::Char('n' | 'N') => {
                        if !s.last.as_ref().is_some_and(Report::passed) {
                            s.screen.say("Not done yet: `n` moves on once every step passes (h shows a hint).");
                            continue;
                        }
                        drop(grading.take());
                        helpers::remove_live(&engine.docker).await;
                        let Some(next) = s.move_on().await? else {
                            s.finish();
                            return Ok(0);
                        };
                        s.ex = next;
                        s.last = None;
                        drop(files.take());
                        files = s.watch_files(&file_tx);
                        sched = Scheduler::default();
                        sched.started();
                        reason = Reason::First;
                        grading = Some(s.grading());
                    }
                    _ => {}
                }
            }
        }
    }
}

fn load_progress(ws: &Workspace) -> Result<Progress, String> {
    let (p, warning) = Progress::load(&ws.progress_path())?;
    if let Some(w) = warning {
        eprintln!("{} {w}", style("warning:").yellow().bold());
    }
    Ok(p)
}

/// Creates the exercise's setup resources the first time (as `check` does). A pack's setup and
/// exec commands are confirmed by `check`, never run unasked from here.
async fn ensure_setup(
    engine: &Engine,
    cat: &Catalog,
    ws: &Workspace,
    ex: &Exercise,
) -> Result<(), String> {
    let _lock = ws.lock()?;
    let mut progress = load_progress(ws)?;
    // A pack's exec commands are approved by `check`, never run unasked from here.
    if let (Some(pack), Some(digest)) = (cat.pack_dir(), ex.exec_digest()) {
        let approved = progress
            .exercise(&ex.slug)
            .and_then(|e| e.exec_approved.as_deref());
        if approved != Some(digest.as_str()) {
            return Err(format!(
                "exercise {} of the pack {} runs commands in your containers when it is graded{}: \
                 run `workbook --pack {} check {}` first (it shows them and asks), then watch again",
                ex.slug,
                pack.display(),
                if approved.is_some() { ", and they changed since you approved them" } else { "" },
                pack.display(),
                ex.slug
            ));
        }
    }
    if ex.data.setup.is_empty() || progress.exercise(&ex.slug).is_some_and(|e| e.setup_done) {
        return Ok(());
    }
    if let Some(pack) = cat.pack_dir() {
        return Err(format!(
            "exercise {} of the pack {} has a setup to confirm first: run `workbook --pack {} check {}` \
             (it shows what it creates and asks), then watch again",
            ex.slug,
            pack.display(),
            pack.display(),
            ex.slug
        ));
    }
    for line in lab_setup::apply(&engine.docker, cat, ex).await? {
        eprintln!("set up {line} for {}", ex.slug);
    }
    progress.exercise_mut(&ex.slug).setup_done = true;
    progress.save(&ws.progress_path())
}

impl<'a> Session<'a> {
    fn grading(&self) -> Grading<'a> {
        let engine: &'a Engine = self.engine;
        let docker = &engine.docker;
        let ex = self.ex;
        let dir = self.ws.exercise_dir(&ex.slug);
        let memory = self.memory.clone();
        Box::pin(async move { grade::grade_with(docker, ex, &dir, &memory).await })
    }

    /// Adds what a daemon event tells of volume removals to the session's history: the stream
    /// has delivered every event from `stream_from` up to this one.
    fn observe(&self, ev: &EventMessage, stream_from: i64) {
        let Some(t) = crate::checks::history::event_time(ev) else {
            return;
        };
        if let Ok(mut h) = self.memory.history.lock() {
            if let Some(name) = crate::checks::history::removed_volume(ev) {
                h.note_removal(name, t);
            }
            h.add_window(stream_from, t);
        }
    }

    /// Records a verdict in the progress state, under the workspace lock as every writer does,
    /// with what the session learnt of volume removals. The learner's own gradings (the first,
    /// and the `r` key) count failed steps as attempts; re-grades on daemon events and file
    /// changes record only passes. While another workbook command holds the lock, verdicts wait
    /// in order (the watch never freezes for it) and [`Session::flush`] records them later.
    fn record(&mut self, report: &Report, asked: bool) -> Result<(), String> {
        self.unrecorded.push((report.clone(), asked));
        self.flush()
    }

    /// At the end of the watch: records what still waits for the lock (waiting for it, as
    /// `check` does), then the latency summary.
    fn finish(&mut self) {
        if !self.unrecorded.is_empty() {
            match self.ws.lock() {
                Ok(lock) => {
                    drop(lock);
                    if let Err(e) = self.flush() {
                        self.screen
                            .warn(&format!("{e}; the last verdicts were not recorded"));
                    }
                }
                Err(e) => self
                    .screen
                    .warn(&format!("{e}; the last verdicts were not recorded")),
            }
        }
        self.print_latency_summary();
    }

    /// Records the verdicts waiting for the lock, if it is free now.
    fn flush(&mut self) -> Result<(), String> {
        if self.unrecorded.is_empty() {
            return Ok(());
        }
        let Some(_lock) = self.ws.try_lock()? else {
            if !self.lock_warned {
                self.lock_warned = true;
                self.screen.warn(
                    "another workbook command is using this workspace: verdicts are recorded once it is done",
                );
            }
            return Ok(());
        };
        let mut progress = load_progress(self.ws)?;
        for (report, asked) in self.unrecorded.drain(..) {
            if asked {
                progress.record(&report);
            } else {
                progress.record_unasked(&report);
            }
        }
        self.lock_warned = false;
        let saved = progress.save(&self.ws.progress_path());
        self.ws.keep_history(&self.endpoint, &self.memory);
        saved
    }

    fn watch_files(
        &mut self,
        tx: &mpsc::UnboundedSender<Instant>,
    ) -> Option<notify::RecommendedWatcher> {
        match watch_folder(&self.ws.exercise_dir(&self.ex.slug), tx.clone()) {
            Ok(w) => Some(w),
            Err(e) => {
                self.screen.warn(&format!(
                    "{e}; file changes will not trigger a check (press r, or wait for a Docker event)"
                ));
                None
            }
        }
    }

    /// Records a verdict, shows it, and says whether the watch goes on.
    fn verdict(&mut self, report: Report, reason: Reason) -> Result<After, String> {
        let before = self.last.take();
        let changed = before.as_ref().is_none_or(|b| !same_verdict(b, &report));
        let polled = matches!(
            reason,
            Reason::Again(Trigger {
                kind: TriggerKind::Poll,
                ..
            })
        );
        // A poll that found nothing new changes nothing.
        let recorded = if changed || !polled {
            let asked = matches!(
                reason,
                Reason::First
                    | Reason::Again(Trigger {
                        kind: TriggerKind::Key,
                        ..
                    })
            );
            self.record(&report, asked)
        } else {
            Ok(())
        };
        let newly = newly_passed(before.as_ref(), &report);
        let completed = report.passed() && before.as_ref().is_none_or(|b| !b.passed());

        if self.screen.tty {
            self.screen.clear();
        }
        match reason {
            Reason::First => {
                if !self.screen.tty {
                    outln(&format!(
                        "watching {} · {}",
                        style(&self.ex.slug).bold(),
                        self.ex.title()
                    ));
                    for l in step_lines(&report, false) {
                        outln(&l);
                    }
                    outln(&summary(&report));
                }
            }
            Reason::Again(t) => {
                if !self.screen.tty && (changed || t.kind != TriggerKind::Poll) {
                    outln(&format!(
                        "re-check {} ({}): {}",
                        self.regrades + 1,
                        t.kind.as_str(),
                        summary(&report)
                    ));
                }
            }
        }
        for (n, title) in &newly {
            outln(&format!(
                "{} step {n} passed: {title}",
                style("✓").green().bold()
            ));
        }
        if !self.screen.tty && changed && matches!(reason, Reason::Again(_)) {
            for l in step_lines(&report, false) {
                outln(&l);
            }
        }
        if completed {
            let then = if self.opts.exit_on_pass {
                String::new()
            } else if self.keys {
                " Press n for the next exercise, q to quit.".to_string()
            } else {
                " `workbook next` moves on.".to_string()
            };
            outln(&format!(
                "{} {} · {}: all {} steps pass.{then}",
                style("✓").green().bold(),
                self.ex.slug,
                self.ex.title(),
                report.steps.len()
            ));
        }
        let regrades = self.regrades + u32::from(matches!(reason, Reason::Again(_)));
        let after = if self.opts.exit_on_pass && report.passed() {
            After::Exit(0)
        } else if self.opts.max_regrades.is_some_and(|max| regrades >= max) {
            After::Exit(report.exit_code())
        } else {
            After::Continue
        };
        self.last = Some(report);
        self.ending = matches!(after, After::Exit(_));
        self.refresh_checklist();
        // Shown, even when it could not be kept (a full disk): the watch goes on.
        if let Err(e) = recorded {
            self.screen
                .warn(&format!("{e}; this verdict was not recorded"));
        }

        if let Reason::Again(t) = reason {
            let ms = t.at.elapsed().as_secs_f64() * 1000.0;
            self.latencies.push(t.kind, ms);
            self.append_timing(t.kind, ms);
            self.regrades = regrades;
        }
        Ok(after)
    }

    /// Draws the checklist of the last verdict (a terminal only).
    fn refresh_checklist(&mut self) {
        if !self.screen.tty {
            return;
        }
        let Some(report) = &self.last else { return };
        let mut lines = vec![format!(
            "{} · {}",
            style(&self.ex.slug).bold(),
            self.ex.title()
        )];
        // Only what fits can be redrawn in place: on a short screen, explain the first step
        // left only, and cut the rest.
        let (height, width) = self.screen.term.size();
        let room = usize::from(height).saturating_sub(4).max(3);
        lines.extend(fit_steps(report, usize::from(width), room));
        let how = if self.polling {
            format!("checking every {} s", POLL_EVERY.as_secs())
        } else {
            "watching for changes".to_string()
        };
        let status = match report.status {
            Status::Pass => style(summary(report)).green(),
            Status::Fail => style(summary(report)).red(),
            Status::Error => style(summary(report)).yellow(),
        };
        if self.ending {
            lines.push(format!("{status}"));
            self.screen.draw(lines);
            return;
        }
        lines.push(format!("{status} · {how}"));
        if self.keys {
            let keys = if report.passed() {
                "n next exercise · l list · r re-check · q quit"
            } else {
                "h hint · l list · r re-check · q quit"
            };
            lines.push(format!("{}", style(keys).dim()));
        }
        self.screen.draw(lines);
    }

    fn append_timing(&mut self, kind: TriggerKind, ms: f64) {
        let Some(path) = &self.timings else { return };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(format!("{}\n", timing_line(kind, ms)).as_bytes()));
        if let Err(e) = written {
            if !self.timings_warned {
                self.timings_warned = true;
                let text = format!("cannot write timings to {}: {e}", path.display());
                self.screen.warn(&text);
            }
        }
    }

    /// With `WORKBOOK_WATCH_TIMINGS` set: the latency percentiles, on stderr.
    fn print_latency_summary(&self) {
        if self.timings.is_none() || self.latencies.is_empty() {
            return;
        }
        let p = |q| self.latencies.percentile(None, q).unwrap_or(0.0);
        eprintln!(
            "watch: {} re-checks, trigger to verdict p50 {:.1} ms, p95 {:.1} ms",
            self.latencies.len(),
            p(50.0),
            p(95.0)
        );
    }

    /// `h`: the hint of the first step that does not pass, counted as `workbook hint` does.
    fn hint(&mut self) -> Result<(), String> {
        let ex = self.ex;
        let step = self
            .last
            .as_ref()
            .and_then(|r| r.steps.iter().find(|s| s.status != Status::Pass))
            .and_then(|s| ex.step(&s.id));
        let Some(step) = step else {
            self.screen
                .say("Every step passes: no hint needed. Press n for the next exercise.");
            return Ok(());
        };
        let text = render(
            &format!("### Hint for {} · {}\n\n{}", ex.slug, step.title, step.hint),
            &Style::for_stdout(),
        );
        self.screen.say(text.trim_end());
        let _lock = self.ws.lock()?;
        let mut progress = load_progress(self.ws)?;
        progress.exercise_mut(&ex.slug).hints_used += 1;
        progress.save(&self.ws.progress_path())
    }

    /// `l`: every exercise with its status.
    fn list(&mut self) -> Result<(), String> {
        let progress = load_progress(self.ws)?;
        let exercises = self.cat.exercises()?;
        let width = exercises.iter().map(|e| e.slug.len()).max().unwrap_or(0);
        let mut lines = Vec::new();
        for e in exercises {
            let p = progress.exercise(&e.slug);
            let passed = e
                .steps()
                .iter()
                .filter(|s| {
                    p.and_then(|p| p.steps.get(&s.id))
                        .is_some_and(|s| s.first_passed.is_some())
                })
                .count();
            let status = match p.map(|p| p.status).unwrap_or_default() {
                ExerciseStatus::Done => style("done   ").green(),
                ExerciseStatus::Pending if passed > 0 => style("started").yellow(),
                ExerciseStatus::Pending => style("pending").dim(),
            };
            let here = if e.slug == self.ex.slug {
                style("→").cyan().bold()
            } else {
                style(" ")
            };
            lines.push(format!(
                "{here} {:width$}  {status}  {passed}/{}  {}",
                e.slug,
                e.steps().len(),
                e.title()
            ));
        }
        self.screen.say(&lines.join("\n"));
        Ok(())
    }

    /// `n`: the next exercise not done (set up and made current), `None` after the last one.
    async fn move_on(&mut self) -> Result<Option<&'a Exercise>, String> {
        let lock = self.ws.lock()?;
        let mut progress = load_progress(self.ws)?;
        let Some(next) = self
            .cat
            .exercises()?
            .iter()
            .find(|e| !progress.is_done(&e.slug))
        else {
            self.screen.clear();
            self.screen.checklist.clear();
            outln("That was the last exercise: you have done the whole workbook. Well done!");
            return Ok(None);
        };
        progress.current = Some(next.slug.clone());
        progress.save(&self.ws.progress_path())?;
        drop(lock);
        self.screen.clear();
        self.screen.checklist.clear();
        ensure_setup(self.engine, self.cat, self.ws, next).await?;
        let first = &next.steps()[0];
        outln(&format!(
            "{}",
            style(format!("Next up: {} · {}", next.slug, next.title())).bold()
        ));
        out(&render(
            &format!("## Your task: {}\n\n{}", first.title, first.task),
            &Style::for_stdout(),
        ));
        outln(&format!(
            "{}",
            style(format!(
                "Work in {}; `workbook lesson` shows the whole lesson.",
                self.ws.exercise_dir(&next.slug).display()
            ))
            .dim()
        ));
        Ok(Some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn trig(kind: TriggerKind, at: Instant) -> Trigger {
        Trigger { kind, at }
    }

    #[test]
    fn latency_runs_from_the_daemons_stamp() {
        let arrived = Instant::now();
        let now = std::time::SystemTime::now();
        let nanos = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64
        };
        let stamped = now - Duration::from_millis(30);
        let at = emitted_at(arrived, Some(nanos(stamped)), now);
        assert_eq!(arrived - at, Duration::from_millis(30));
        // No stamp, a future stamp, a stale one: the arrival.
        assert_eq!(emitted_at(arrived, None, now), arrived);
        let future = now + Duration::from_secs(5);
        assert_eq!(emitted_at(arrived, Some(nanos(future)), now), arrived);
        let stale = now - Duration::from_secs(5);
        assert_eq!(emitted_at(arrived, Some(nanos(stale)), now), arrived);
        assert_eq!(emitted_at(arrived, Some(-1), now), arrived);
    }

    #[test]
    fn triggers_during_a_grading_make_one_follow_up_from_the_earliest() {
        let base = Instant::now();
        let mut s = Scheduler::default();
        let first = s.request(trig(TriggerKind::Event, at(base, 0)));
        assert_eq!(first, Some(trig(TriggerKind::Event, at(base, 0))));
        assert!(s.is_running());
        // A burst of events and a key while it runs: nothing starts now.
        assert_eq!(s.request(trig(TriggerKind::Event, at(base, 10))), None);
        assert_eq!(s.request(trig(TriggerKind::Key, at(base, 20))), None);
        assert_eq!(s.request(trig(TriggerKind::Event, at(base, 30))), None);
        // One follow-up, measured from the first trigger it serves.
        assert_eq!(s.finished(), Some(trig(TriggerKind::Event, at(base, 10))));
        assert!(s.is_running());
        // Nothing came in during the follow-up: idle afterwards.
        assert_eq!(s.finished(), None);
        assert!(!s.is_running());
    }

    #[test]
    fn the_first_grading_also_holds_triggers_back() {
        let base = Instant::now();
        let mut s = Scheduler::default();
        s.started();
        assert_eq!(s.request(trig(TriggerKind::Poll, at(base, 5))), None);
        assert_eq!(s.finished(), Some(trig(TriggerKind::Poll, at(base, 5))));
        s.clear();
        assert_eq!(s.finished(), None);
    }

    #[test]
    fn a_burst_of_file_changes_is_one_regrade_after_the_quiet_period() {
        let base = Instant::now();
        let mut s = Scheduler::default();
        assert_eq!(s.file_deadline(), None);
        for ms in [0, 50, 120, 190] {
            s.file_changed(at(base, ms));
        }
        assert_eq!(s.file_deadline(), Some(at(base, 390)));
        assert_eq!(s.files_due(at(base, 389)), None);
        let t = s.files_due(at(base, 390)).expect("due");
        assert_eq!(t, trig(TriggerKind::File, at(base, 0)));
        assert_eq!(s.file_deadline(), None);
        assert_eq!(s.files_due(at(base, 1000)), None);
    }

    #[test]
    fn endless_file_changes_still_regrade_within_the_maximum_wait() {
        let base = Instant::now();
        let mut s = Scheduler::default();
        for ms in (0..1500).step_by(100) {
            s.file_changed(at(base, ms));
            if let Some(t) = s.files_due(at(base, ms)) {
                assert_eq!(t.at, at(base, 0));
                assert_eq!(ms, 1000, "the burst is cut at MAX_DEBOUNCE");
                return;
            }
        }
        panic!("never due");
    }

    #[test]
    fn events_that_may_be_the_learner_acting_on_a_named_volume_settle_first() {
        let base = Instant::now();
        let mut s = Scheduler::default();
        s.settle(at(base, 0));
        assert!(s.is_settling());
        s.settle(at(base, 400));
        // Quiet for SETTLE after the last one.
        assert_eq!(s.deadline(), Some(at(base, 400) + SETTLE));
        assert_eq!(s.files_due(at(base, 800)), None);
        let t = s.files_due(at(base, 400) + SETTLE).expect("due");
        assert_eq!(t, trig(TriggerKind::Event, at(base, 0)));
        assert!(!s.is_settling());
        // Never later than MAX_SETTLE after the first.
        let mut s = Scheduler::default();
        for ms in (0..5000).step_by(200) {
            s.settle(at(base, ms));
        }
        assert_eq!(s.settle_deadline(), Some(at(base, 0) + MAX_SETTLE));

        use EventMessageTypeEnum::{CONTAINER, VOLUME};
        let named: HashSet<String> = ["fast-data".to_string()].into();
        let none = HashSet::new();
        let gone = event(CONTAINER, "destroy", "c1", &[("name", "trainer")]);
        assert!(unsettling(&gone, &named));
        assert!(
            !unsettling(&gone, &none),
            "plain volumes are read through binds: no wait"
        );
        assert!(!unsettling(&event(CONTAINER, "start", "c1", &[]), &named));
        assert!(unsettling(
            &event(VOLUME, "unmount", "fast-data", &[("container", "c1")]),
            &named
        ));
        assert!(!unsettling(
            &event(VOLUME, "unmount", "other", &[("container", "c1")]),
            &named
        ));
        // Podman names the volume in an attribute.
        assert!(unsettling(
            &event(VOLUME, "remove", "", &[("name", "fast-data")]),
            &named
        ));
    }

    #[test]
    fn file_changes_during_a_grading_wait_for_it() {
        let base = Instant::now();
        let mut s = Scheduler::default();
        s.started();
        s.file_changed(at(base, 0));
        assert_eq!(s.files_due(at(base, 300)), None, "coalesced, not started");
        assert_eq!(s.finished(), Some(trig(TriggerKind::File, at(base, 0))));
    }

    fn event(
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attrs: &[(&str, &str)],
    ) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some(id.to_string()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_workbooks_own_probes_never_trigger_but_any_learner_container_does() {
        use EventMessageTypeEnum::{CONTAINER, VOLUME};
        let mut f = EventFilter::default();
        let probe = [
            (labels::MANAGED, "true"),
            (labels::ROLE, labels::ROLE_PROBE),
            ("name", "eager_turing"),
        ];
        assert!(!f.relevant(&event(CONTAINER, "create", "p1", &probe)));
        assert!(!f.relevant(&event(
            VOLUME,
            "mount",
            "ml-data",
            &[("container", "p1"), ("read/write", "false")]
        )));
        assert!(!f.relevant(&event(VOLUME, "unmount", "ml-data", &[("container", "p1")])));
        assert!(!f.relevant(&event(CONTAINER, "destroy", "p1", &probe)));
        // A learner's container, typo'd name included, and its mounts.
        let typo = [("name", "scratc"), ("image", "workbook/tools")];
        assert!(f.relevant(&event(CONTAINER, "create", "c1", &typo)));
        assert!(f.relevant(&event(VOLUME, "mount", "ml-data", &[("container", "c1")])));
        assert!(f.relevant(&event(CONTAINER, "die", "c1", &typo)));
        assert!(f.relevant(&event(VOLUME, "create", "ml-data", &[("driver", "local")])));
        // The daemon logs `create` again each time a container names an existing volume (a
        // probe does at every grading): nothing changed.
        assert!(!f.relevant(&event(VOLUME, "create", "ml-data", &[("driver", "local")])));
        assert!(f.relevant(&event(VOLUME, "destroy", "ml-data", &[("driver", "local")])));
        assert!(f.relevant(&event(VOLUME, "create", "ml-data", &[("driver", "local")])));
        let mut known = EventFilter::with_volumes(["models".to_string()]);
        assert!(!known.relevant(&event(VOLUME, "create", "models", &[("driver", "local")])));
        assert!(known.relevant(&event(VOLUME, "create", "logs", &[("driver", "local")])));
        // A setup container belongs to the exercise; a lab-image label makes no helper.
        let setup = [
            (labels::MANAGED, "true"),
            (labels::ROLE, labels::ROLE_SETUP),
        ];
        assert!(f.relevant(&event(CONTAINER, "destroy", "s1", &setup)));
        let lab = [
            (labels::LAB_IMAGE, "true"),
            (labels::ROLE, labels::ROLE_PROBE),
        ];
        assert!(f.relevant(&event(CONTAINER, "start", "c2", &lab)));
        // Execs (grading runs some) and other kinds of events do not count.
        assert!(!f.relevant(&event(CONTAINER, "exec_create: cat /x", "c1", &typo)));
        assert!(!f.relevant(&event(CONTAINER, "exec_die", "c1", &typo)));
        assert!(!f.relevant(&event(EventMessageTypeEnum::NETWORK, "connect", "n", &[])));
        assert!(!f.relevant(&EventMessage::default()));
    }

    #[test]
    fn opening_or_reading_a_file_is_not_a_change() {
        use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, ModifyKind};
        use notify::EventKind;
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Remove(
            notify::event::RemoveKind::Any
        )));
    }

    #[test]
    fn latency_percentiles_and_timing_lines() {
        let mut l = Latencies::default();
        assert_eq!(l.percentile(None, 50.0), None);
        for ms in 1..=20 {
            l.push(TriggerKind::Event, ms as f64);
        }
        l.push(TriggerKind::File, 500.0);
        assert_eq!(l.percentile(Some(TriggerKind::Event), 50.0), Some(10.0));
        assert_eq!(l.percentile(Some(TriggerKind::Event), 95.0), Some(19.0));
        assert_eq!(l.percentile(Some(TriggerKind::File), 50.0), Some(500.0));
        assert_eq!(l.percentile(None, 100.0), Some(500.0));
        for _ in 0..KEPT_LATENCIES {
            l.push(TriggerKind::Key, 1.0);
        }
        assert_eq!(l.len(), KEPT_LATENCIES);
        assert_eq!(l.percentile(Some(TriggerKind::Event), 50.0), None);
        assert_eq!(
            timing_line(TriggerKind::Event, 123.44),
            r#"{"trigger":"event","ms":123.4}"#
        );
        let v: serde_json::Value =
            serde_json::from_str(&timing_line(TriggerKind::Poll, 2.0)).unwrap();
        assert_eq!(v["trigger"], "poll");
    }

    #[test]
    fn wrapped_lines_count_their_rows() {
        let lines = vec!["".to_string(), "abcd".to_string(), "abcdefghij".to_string()];
        assert_eq!(rows(&lines, 4), 1 + 1 + 3);
        assert_eq!(rows(&[format!("{}", style("✓ ok").green())], 80), 1);
    }

    #[test]
    fn a_checklist_taller_than_the_screen_keeps_every_step() {
        use crate::grading::grade::StepReport;
        let step = |id: &str, status| StepReport {
            id: id.into(),
            title: format!("title {id}"),
            status,
            message: "one\ntwo\nthree\nfour".into(),
        };
        let report = Report {
            version: 1,
            exercise: "x".into(),
            status: Status::Fail,
            steps: vec![
                step("a", Status::Pass),
                step("b", Status::Fail),
                step("c", Status::Fail),
            ],
        };
        assert_eq!(fit_steps(&report, 80, 20).len(), 3 + 8);
        // Only the first unfinished step explained.
        assert_eq!(fit_steps(&report, 80, 8).len(), 3 + 4);
        // Its message cut to fit, every step still listed.
        let cut = fit_steps(&report, 80, 6);
        assert!(rows(&cut, 80) <= 6, "{cut:?}");
        assert!(cut.iter().any(|l| l.contains("title c")), "{cut:?}");
        assert!(cut.iter().any(|l| l.contains('…')), "{cut:?}");
    }

    #[test]
    fn announcements_are_for_steps_that_pass_now_and_did_not_before() {
        use crate::grading::grade::StepReport;
        let step = |id: &str, status| StepReport {
            id: id.into(),
            title: format!("title {id}"),
            status,
            message: String::new(),
        };
        let report = |a, b| Report {
            version: 1,
            exercise: "x".into(),
            status: Status::Fail,
            steps: vec![step("a", a), step("b", b)],
        };
        let before = report(Status::Pass, Status::Fail);
        let now = report(Status::Pass, Status::Pass);
        assert_eq!(newly_passed(Some(&before), &now), vec![(2, "title b")]);
        assert_eq!(newly_passed(None, &now), vec![]);
        assert!(!same_verdict(&before, &now));
        assert!(same_verdict(&now, &now.clone()));
    }
}
