//! A watch session: the exercise watched, its last verdict, and what it does with each new
//! one (record it, draw it, time it) and with the keys.

use crate::util::error::Result;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use bollard::models::EventMessage;
use console::style;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::files::watch_folder;
use super::latency::{timing_line, Latencies};
use super::schedule::{Trigger, TriggerKind};
use super::screen::{
    fit_steps, newly_passed, rows, same_verdict, step_lines, summary, task_lines, Screen,
};
use super::{WatchOptions, EXEC_REUSE, POLL_EVERY, TIMINGS_ENV};
use crate::checks::Status;
use crate::commands::prepare::{self, require_exec_approval, PackSetup};
use crate::commands::present::exercise_table;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::docker::engine::Engine;
use crate::grading::gather::Memory;
use crate::grading::grade::{self, Report};
use crate::learner::state::{self, State};
use crate::learner::workspace::Workspace;
use crate::ui::output::{out, outln};
use crate::ui::render::{render, Style};

pub(super) type Grading<'a> = Pin<Box<dyn Future<Output = Report> + 'a>>;

/// Why a grading runs: the first of an exercise, or a re-grade.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reason {
    First,
    Again(Trigger),
}

pub(super) struct Session<'a> {
    cat: &'a Catalog,
    ws: &'a Workspace,
    engine: &'a Engine,
    opts: WatchOptions,
    pub(super) ex: &'a Exercise,
    pub(super) screen: Screen,
    keys: bool,
    pub(super) polling: bool,
    /// The watch ends after the verdict being drawn (no keys to offer).
    ending: bool,
    pub(super) last: Option<Report>,
    regrades: u32,
    latencies: Latencies,
    timings: Option<PathBuf>,
    timings_warned: bool,
    /// Shared by every grading of the session: the volume history (fed by the event stream
    /// too) and recent exec results.
    pub(super) memory: Arc<Memory>,
    endpoint: String,
    /// Verdicts not recorded yet: another workbook command holds the workspace lock.
    pub(super) unrecorded: Vec<(Report, bool)>,
    lock_warned: bool,
    /// Recorded verdicts the classroom has not been given yet (when the workspace joined one).
    classroom: Vec<Report>,
    /// What the classroom's delivery said last, shown once until it changes.
    classroom_said: Option<String>,
}

/// What the loop does after a verdict.
pub(super) enum After {
    Continue,
    Exit(i32),
}

/// Creates the exercise's setup resources the first time (as `check` does), under the
/// workspace lock. A pack's setup and exec commands are confirmed by `check`, never run unasked
/// from here.
pub(super) async fn ensure_setup(
    engine: &Engine,
    cat: &Catalog,
    ws: &Workspace,
    ex: &Exercise,
) -> Result<()> {
    let mut state = State::open(ws)?;
    require_exec_approval(cat, ex, &state.progress)?;
    if prepare::ensure_setup(engine, cat, ex, &mut state.progress, PackSetup::Refuse).await? {
        state.save()?;
    }
    Ok(())
}

impl<'a> Session<'a> {
    pub(super) fn new(
        cat: &'a Catalog,
        ws: &'a Workspace,
        engine: &'a Engine,
        opts: WatchOptions,
        ex: &'a Exercise,
        keys: bool,
    ) -> Session<'a> {
        Session {
            cat,
            ws,
            engine,
            opts,
            ex,
            screen: Screen::new(),
            keys,
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
            classroom: Vec::new(),
            classroom_said: None,
        }
    }

    pub(super) fn grading(&self) -> Grading<'a> {
        let engine: &'a Engine = self.engine;
        let docker = &engine.docker;
        let ex = self.ex;
        let dir = self.ws.exercise_dir(&ex.slug);
        let memory = self.memory.clone();
        Box::pin(async move { grade::grade_with(docker, ex, &dir, &memory).await })
    }

    /// Adds what a daemon event tells of volume removals to the session's history: the stream
    /// has delivered every event from `stream_from` up to this one.
    pub(super) fn observe(&self, ev: &EventMessage, stream_from: i64) {
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
    fn record(&mut self, report: &Report, asked: bool) -> Result<()> {
        self.unrecorded.push((report.clone(), asked));
        self.flush()
    }

    /// At the end of the watch: records what still waits for the lock (waiting for it, as
    /// `check` does), then the latency summary.
    pub(super) fn finish(&mut self) {
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
    pub(super) fn flush(&mut self) -> Result<()> {
        if self.unrecorded.is_empty() {
            return Ok(());
        }
        let Some(mut state) = State::try_open(self.ws)? else {
            if !self.lock_warned {
                self.lock_warned = true;
                self.screen.warn(
                    "another workbook command is using this workspace: verdicts are recorded once it is done",
                );
            }
            return Ok(());
        };
        let verdicts = std::mem::take(&mut self.unrecorded);
        self.lock_warned = false;
        let kept = state.keep(
            verdicts.iter().map(|(report, asked)| (report, *asked)),
            &self.endpoint,
            &self.memory,
        );
        if crate::classroom::client::path(self.ws).is_file() {
            self.classroom.extend(verdicts.into_iter().map(|(r, _)| r));
        }
        kept
    }

    /// Gives the classroom (when the workspace joined one) the verdicts recorded since the last
    /// time, under the workspace lock; while another command holds it, they wait. A delivery
    /// problem is shown once, until it changes.
    pub(super) async fn send_to_classroom(&mut self) {
        if self.classroom.is_empty() {
            return;
        }
        let Ok(Some(state)) = State::try_open(self.ws) else {
            return;
        };
        let reports = std::mem::take(&mut self.classroom);
        let refs: Vec<&Report> = reports.iter().collect();
        let delivery =
            crate::classroom::client::after_grading(self.ws, &state.progress, &refs).await;
        drop(state);
        let line = delivery.line();
        if line.is_some() && line != self.classroom_said {
            if let Some(l) = &line {
                self.screen.warn(&crate::ui::safe_text::line(l));
            }
        }
        self.classroom_said = line;
    }

    pub(super) fn watch_files(
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
    pub(super) fn verdict(&mut self, report: Report, reason: Reason) -> Result<After> {
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
    pub(super) fn refresh_checklist(&mut self) {
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
        let steps = fit_steps(report, usize::from(width), room);
        // The task of the step the learner is on, in what room is left.
        let left = room.saturating_sub(rows(&steps, usize::from(width)) + 1);
        let current = report.steps.iter().find(|s| !s.status.settled());
        let task = current
            .and_then(|s| self.ex.step(&s.id))
            .map(|s| task_lines(&s.title, &s.task, usize::from(width), left.min(12)))
            .unwrap_or_default();
        lines.extend(steps);
        if !task.is_empty() {
            lines.push(String::new());
            lines.extend(task);
        }
        let how = if self.polling {
            format!("checking every {} s", POLL_EVERY.as_secs())
        } else {
            "watching for changes".to_string()
        };
        let status = match report.status {
            Status::Pass | Status::Unavailable => style(summary(report)).green(),
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
    pub(super) fn print_latency_summary(&self) {
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
    pub(super) fn hint(&mut self) -> Result<()> {
        let ex = self.ex;
        let step = self
            .last
            .as_ref()
            .and_then(|r| r.steps.iter().find(|s| !s.status.settled()))
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
        let mut state = State::open(self.ws)?;
        state.count_hint(&ex.slug);
        state.save()
    }

    /// `l`: every exercise with its status.
    pub(super) fn list(&mut self) -> Result<()> {
        let progress = state::load(self.ws)?;
        let lines = exercise_table(self.cat.exercises()?, &progress, Some(&self.ex.slug));
        self.screen.say(&lines.join("\n"));
        Ok(())
    }

    /// `n`: the next exercise not done (set up and made current), `None` after the last one.
    pub(super) async fn move_on(&mut self) -> Result<Option<&'a Exercise>> {
        let mut state = State::open(self.ws)?;
        let Some(next) = self
            .cat
            .exercises()?
            .iter()
            .find(|e| !state.progress.is_done(&e.slug))
        else {
            self.screen.clear();
            self.screen.checklist.clear();
            outln("That was the last exercise: you have done the whole workbook. Well done!");
            return Ok(None);
        };
        state.progress.current = Some(next.slug.clone());
        state.save()?;
        drop(state);
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
