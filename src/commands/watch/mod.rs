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

use crate::util::error::Result;
mod events;
mod files;
mod keys;
mod latency;
mod schedule;
mod screen;
mod session;

use std::time::Duration;

use console::Key;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::curriculum::catalog::Catalog;
use crate::docker::engine::{chain, Engine};
use crate::docker::helpers;
use crate::grading::grade::Report;
use crate::learner::state;
use crate::learner::workspace::Workspace;

pub use events::{unsettling, EventFilter};
pub use files::is_change;
pub use latency::{emitted_at, timing_line, Latencies};
pub use schedule::{Scheduler, Trigger, TriggerKind};
pub use screen::{fit_steps, rows};

use events::subscribe;
use keys::KeyReader;
use session::{ensure_setup, After, Grading, Reason, Session};

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

/// Container actions that can change a verdict. Podman removes with `remove` (Docker
/// `destroy`), and its `event=` filter knows an exit as `died` although the event it sends
/// says `die` (tests/fixtures/podman-4.3.1/): both engines ignore a name they do not use.
pub const CONTAINER_ACTIONS: &[&str] = &[
    "create", "destroy", "remove", "start", "stop", "die", "died", "rename",
];
/// Volume actions that can change a verdict (Podman: `remove` for `destroy`).
pub const VOLUME_ACTIONS: &[&str] = &["create", "destroy", "remove", "mount", "unmount"];

/// Options of `workbook watch`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchOptions {
    /// End with 0 as soon as every step passes.
    pub exit_on_pass: bool,
    /// End after this many re-grades (the first grading is not one), with the last verdict's
    /// exit code.
    pub max_regrades: Option<u32>,
}

/// Watches the current exercise until `q`, Ctrl-C, or what `opts` asks for. Returns the exit
/// code: 0 when ended by `q` or `--exit-on-pass`; after `--max-regrades N`, the last verdict's
/// (0 pass, 1 fail, 2 error).
pub async fn run(
    cat: &Catalog,
    ws: &Workspace,
    engine: &Engine,
    opts: WatchOptions,
) -> Result<i32> {
    let result = watch(cat, ws, engine, opts).await;
    // However the watch ended (a grading may have been cut short), no probe stays behind.
    helpers::remove_live(&engine.docker).await;
    result
}

async fn watch(cat: &Catalog, ws: &Workspace, engine: &Engine, opts: WatchOptions) -> Result<i32> {
    let progress = state::load(ws)?;
    let exercises = cat.exercises()?;
    let ex = progress
        .current(exercises)
        .or_else(|| exercises.last())
        .ok_or_else(|| "this workbook has no exercises".to_string())?;
    ensure_setup(engine, cat, ws, ex).await?;

    let (key_tx, mut key_rx) = mpsc::unbounded_channel::<Key>();
    let key_reader = KeyReader::start(key_tx);
    let (file_tx, mut file_rx) = mpsc::unbounded_channel::<Instant>();

    let mut s = Session::new(cat, ws, engine, opts, ex, key_reader.is_some());

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
                return Err(signal.to_string().into());
            }
            report = async {
                match grading.as_mut() {
                    Some(g) => g.await,
                    None => std::future::pending().await,
                }
            }, if grading.is_some() => {
                grading = None;
                let after = s.verdict(report, reason)?;
                s.send_to_classroom().await;
                match after {
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

#[cfg(test)]
mod tests {
    use super::screen::{newly_passed, same_verdict};
    use super::*;
    use crate::checks::Status;
    use crate::docker::labels;
    use bollard::models::{EventActor, EventMessage, EventMessageTypeEnum};
    use console::style;
    use std::collections::HashSet;

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

    /// Podman 4.3.1's recorded events (tests/fixtures/podman-4.3.1/): a volume created, a
    /// container run with it and removed, the volume removed.
    fn podman_events() -> Vec<EventMessage> {
        let path = format!(
            "{}/tests/fixtures/podman-4.3.1/events-volume-create-run-remove.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn podmans_volume_removal_is_seen_though_its_actor_has_no_id() {
        let events = podman_events();
        let action = |e: &EventMessage| e.action.clone().unwrap_or_default();
        let removal = events
            .iter()
            .find(|e| e.typ == Some(EventMessageTypeEnum::VOLUME) && action(e) == "remove")
            .expect("the fixture removes a volume");
        let creation = events
            .iter()
            .find(|e| e.typ == Some(EventMessageTypeEnum::VOLUME) && action(e) == "create")
            .unwrap();
        let mut f = EventFilter::with_volumes(["wbpodman-ev".to_string()]);
        // Known to exist: its `create` changes nothing...
        assert!(!f.relevant(creation));
        // ...its removal does, and then a `create` brings it back.
        assert!(f.relevant(removal));
        assert!(f.relevant(creation));
        // The container's removal and exit are actions watch subscribes to and acts on.
        let container_actions: Vec<String> = events
            .iter()
            .filter(|e| e.typ == Some(EventMessageTypeEnum::CONTAINER))
            .map(action)
            .collect();
        for a in ["remove", "die"] {
            assert!(container_actions.iter().any(|c| c == a), "{a} recorded");
            assert!(CONTAINER_ACTIONS.contains(&a));
        }
        let named: HashSet<String> = ["wbpodman-ev".to_string()].into();
        assert!(unsettling(removal, &named));
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
