//! `workbook verify`: proves, on this daemon, that every exercise's graders do their job —
//! what Instruqt's `track test` and Rustlings' `dev check` do for authors, and more:
//! 1. unsolved, every step fails (no grader passes before the learner did anything);
//! 2. the reference solution passes every step, and so does every recorded variant;
//! 3. each recorded mistake makes its step fail with the expected message.
//!
//! It works in a temporary workspace, resets the exercise before each run, cleans up after
//! each exercise, and compares the daemon's containers, volumes and networks before and after.

use crate::util::error::Result;
use std::collections::BTreeSet;
use std::time::Instant;

use bollard::query_parameters::ListNetworksOptions;
use bollard::Docker;
use serde::Serialize;

use crate::checks::Status;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::docker::engine::{all_containers, all_volumes, failed};
use crate::docker::labels;
use crate::grading::grade::{self, Report};
use crate::lab::reset;
use crate::lab::scripts;
use crate::lab::setup as lab_setup;
use crate::learner::workspace::Workspace;

/// The verdict on one exercise.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseVerdict {
    pub exercise: String,
    pub fails_unsolved: bool,
    pub solution_passes: bool,
    pub variants_passed: usize,
    pub variants_total: usize,
    pub mistakes_caught: usize,
    pub mistakes_total: usize,
    /// Recorded mistakes of steps this engine cannot do (not a problem: nothing to catch).
    pub mistakes_unavailable: usize,
    /// Steps this engine cannot do (the solution's grading said so), with why.
    pub unavailable: Vec<UnavailableStep>,
    /// The engine verified on: "Docker Engine 20.10.24", "Podman 4.3.1".
    pub engine: String,
    pub seconds: f64,
    /// What went wrong, one sentence each.
    pub problems: Vec<String>,
}

/// A step this engine cannot do, as the grading after the solution reported it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnavailableStep {
    pub step: String,
    pub why: String,
}

/// The steps of `report` that are not available on this engine.
fn unavailable_steps(report: &Report) -> Vec<UnavailableStep> {
    report
        .steps
        .iter()
        .filter(|s| s.status == Status::Unavailable)
        .map(|s| UnavailableStep {
            step: s.id.clone(),
            why: s.message.clone(),
        })
        .collect()
}

impl ExerciseVerdict {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub version: u32,
    pub ok: bool,
    pub exercises: Vec<ExerciseVerdict>,
    /// Containers, volumes and networks that exist after verify and did not before.
    pub left_behind: Vec<String>,
}

/// A helper (probe, seeder, bench run or volume) of another workbook process on this daemon: a
/// run beside this one comes and goes on its own and is not what verify left behind. Verify's
/// own helpers are counted.
fn another_runs_helper(labels: Option<&std::collections::HashMap<String, String>>) -> bool {
    labels::is_helper(labels)
        && labels
            .and_then(|l| l.get(labels::SESSION))
            .is_some_and(|s| s != labels::session())
}

/// The daemon's containers, volumes and networks, by id or name (another run's helpers aside).
async fn inventory(docker: &Docker) -> Result<BTreeSet<String>> {
    let (containers, volumes) = tokio::join!(all_containers(docker), all_volumes(docker));
    let (containers, volumes) = (containers?, volumes?);
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|e| failed("listing networks", e))?;
    let mut all = BTreeSet::new();
    for c in containers {
        if another_runs_helper(c.labels.as_ref()) {
            continue;
        }
        let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default();
        all.insert(format!("container {}", name.trim_start_matches('/')));
    }
    for v in volumes
        .into_iter()
        .filter(|v| !another_runs_helper(Some(&v.labels)))
    {
        all.insert(format!("volume {}", v.name));
    }
    for n in networks {
        all.insert(format!("network {}", n.name.unwrap_or_default()));
    }
    Ok(all)
}

/// Verifies `exercises` of `cat`; `each` is told every verdict as it is reached.
pub async fn verify(
    docker: &Docker,
    cat: &Catalog,
    exercises: &[&Exercise],
    mut each: impl FnMut(&ExerciseVerdict),
    phase: &dyn Fn(&str),
) -> Result<VerifyReport> {
    let before = inventory(docker).await?;
    let tmp = tempfile::Builder::new()
        .prefix("workbook-verify-")
        .tempdir()
        .map_err(|e| crate::util::error::Error::io("cannot make a temporary workspace", e))?;
    let (ws, _) = Workspace::init(&tmp.path().join("ws"), cat)?;
    let engine = engine_name(docker).await;
    let mut verdicts = Vec::new();
    for ex in exercises {
        let v = verify_one(docker, cat, &ws, ex, &engine, phase).await?;
        each(&v);
        verdicts.push(v);
    }
    // A solution's last `docker run --rm` may still be on its way out: not left behind.
    crate::lab::reset::wait_for_self_removal(docker, None).await;
    let after = inventory(docker).await?;
    let left_behind: Vec<String> = after.difference(&before).cloned().collect();
    Ok(VerifyReport {
        version: 1,
        ok: left_behind.is_empty() && verdicts.iter().all(ExerciseVerdict::ok),
        exercises: verdicts,
        left_behind,
    })
}

/// Back to the exercise's start: remove what it (and its mistakes and variants) may create,
/// then create its setup again.
async fn reset_to_start(
    docker: &Docker,
    cat: &Catalog,
    ws: &Workspace,
    ex: &Exercise,
    setup: bool,
) -> Result<()> {
    let items = reset::plan(docker, ws, cat, ex, &ex.all_resources()).await?;
    let problems = reset::execute(docker, &items).await;
    if !problems.is_empty() {
        return Err(format!("resetting {}: {}", ex.slug, problems.join("; ")).into());
    }
    if setup {
        lab_setup::apply(docker, cat, ex).await?;
    }
    Ok(())
}

/// The last lines of a script's output, for messages.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

fn failing(report: &Report) -> Vec<String> {
    report
        .steps
        .iter()
        .filter(|s| s.status != Status::Pass)
        .map(|s| {
            format!(
                "{} ({}: {})",
                s.id,
                s.status,
                s.message.lines().next().unwrap_or("")
            )
        })
        .collect()
}

async fn verify_one(
    docker: &Docker,
    cat: &Catalog,
    ws: &Workspace,
    ex: &Exercise,
    engine: &str,
    phase: &dyn Fn(&str),
) -> Result<ExerciseVerdict> {
    let slug = &ex.slug;
    phase(&format!("{slug}: unsolved, every step must fail"));
    let started = Instant::now();
    let dir = ws.exercise_dir(&ex.slug);
    let mut v = ExerciseVerdict {
        exercise: ex.slug.clone(),
        fails_unsolved: false,
        solution_passes: false,
        variants_passed: 0,
        variants_total: ex.data.variants.len(),
        mistakes_caught: 0,
        mistakes_total: ex.data.mistakes.len(),
        mistakes_unavailable: 0,
        unavailable: Vec::new(),
        engine: engine.to_string(),
        seconds: 0.0,
        problems: Vec::new(),
    };

    reset_to_start(docker, cat, ws, ex, true).await?;
    let report = grade::grade(docker, ex, &dir).await;
    let passing: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Pass)
        .map(|s| s.id.as_str())
        .collect();
    let errors: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Error)
        .map(|s| s.message.clone())
        .collect();
    if !errors.is_empty() {
        v.problems.push(format!(
            "unsolved: the grader could not read the daemon: {}",
            errors.join("; ")
        ));
    } else if !passing.is_empty() {
        v.problems.push(format!(
            "unsolved: step(s) {} pass before anything was done",
            passing.join(", ")
        ));
    } else {
        v.fails_unsolved = true;
    }

    phase(&format!("{slug}: the solution"));
    match cat.solution(&ex.slug) {
        None => v
            .problems
            .push("there is no solutions/SLUG/solve.sh".replace("SLUG", &ex.slug)),
        Some(script) => {
            let (code, output) = scripts::run_captured(&script, &dir).await?;
            if code != 0 {
                v.problems.push(format!(
                    "the solution stopped with exit code {code}: {}",
                    tail(&output)
                ));
            } else {
                let report = grade::grade(docker, ex, &dir).await;
                v.unavailable = unavailable_steps(&report);
                if report.passed() {
                    v.solution_passes = true;
                } else {
                    v.problems.push(format!(
                        "after the solution, step(s) do not pass: {}",
                        failing(&report).join("; ")
                    ));
                }
            }
        }
    }

    let variants = ex.data.variants.len();
    for (i, variant) in ex.data.variants.iter().enumerate() {
        phase(&format!(
            "{slug}: variant {}/{variants} {}",
            i + 1,
            variant.id
        ));
        reset_to_start(docker, cat, ws, ex, true).await?;
        let (code, output) = scripts::run_captured(&variant.run, &dir).await?;
        if code != 0 {
            v.problems.push(format!(
                "variant {} stopped with exit code {code}: {}",
                variant.id,
                tail(&output)
            ));
            continue;
        }
        let report = grade::grade(docker, ex, &dir).await;
        if report.passed() {
            v.variants_passed += 1;
        } else {
            v.problems.push(format!(
                "variant {}: step(s) do not pass: {}",
                variant.id,
                failing(&report).join("; ")
            ));
        }
    }

    let mistakes = ex.data.mistakes.len();
    for (i, m) in ex.data.mistakes.iter().enumerate() {
        phase(&format!("{slug}: mistake {}/{mistakes} {}", i + 1, m.id));
        reset_to_start(docker, cat, ws, ex, true).await?;
        let (code, output) = scripts::run_captured(&m.run, &dir).await?;
        if code != 0 {
            v.problems.push(format!(
                "mistake {}: its script stopped with exit code {code}: {}",
                m.id,
                tail(&output)
            ));
            continue;
        }
        let report = grade::grade(docker, ex, &dir).await;
        match report.step(&m.step) {
            None => v.problems.push(format!(
                "mistake {} names step {}, which does not exist",
                m.id, m.step
            )),
            Some(step) if step.status == Status::Pass => v.problems.push(format!(
                "mistake {}: step {} PASSES, the grader misses this mistake",
                m.id, m.step
            )),
            Some(step) if step.status == Status::Unavailable => v.mistakes_unavailable += 1,
            Some(step) if step.status == Status::Error => v.problems.push(format!(
                "mistake {}: step {} is an error, not a fail: {}",
                m.id, m.step, step.message
            )),
            Some(step) if !step.message.contains(&m.expect) => v.problems.push(format!(
                "mistake {}: step {} fails, but its message lacks {:?}: {}",
                m.id,
                m.step,
                m.expect,
                step.message.replace('\n', " / ")
            )),
            Some(_) => v.mistakes_caught += 1,
        }
    }

    phase(&format!("{slug}: cleaning up"));
    reset_to_start(docker, cat, ws, ex, false).await?;
    v.seconds = started.elapsed().as_secs_f64();
    Ok(v)
}

/// The engine's name as grading reads it ("Podman 4.3.1"), or "an unknown engine".
async fn engine_name(docker: &Docker) -> String {
    match docker.version().await {
        Ok(v) => crate::checks::snapshot::EngineFacts::from_version(&v).name,
        Err(_) => "an unknown engine".to_string(),
    }
}

/// What verify will remove before and after each exercise, for the question asked first.
pub fn declared(exercises: &[&Exercise]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for ex in exercises {
        let r = ex.all_resources();
        out.extend(r.volumes.iter().map(|v| format!("volume {v}")));
        out.extend(r.containers.iter().map(|c| format!("container {c}")));
        if r.compose {
            out.insert(format!(
                "the compose project of {} (in a temporary folder)",
                ex.slug
            ));
        }
    }
    out.into_iter().collect()
}

/// The table verify prints.
pub fn table_header() -> String {
    format!(
        "{:<22} {:<10} {:<10} {:<9} {:<9} {:>7}",
        "exercise", "unsolved", "solution", "variants", "mistakes", "seconds"
    )
}

pub fn table_row(v: &ExerciseVerdict) -> String {
    let yes_no = |ok: bool, yes: &str, no: &str| {
        if ok {
            format!("✓ {yes}")
        } else {
            format!("✗ {no}")
        }
    };
    let variants = if v.variants_total == 0 {
        "-".to_string()
    } else {
        format!("{}/{}", v.variants_passed, v.variants_total)
    };
    let mistakes = match v.mistakes_unavailable {
        0 => format!("{}/{}", v.mistakes_caught, v.mistakes_total),
        n => format!("{}/{} ({n} n/a)", v.mistakes_caught, v.mistakes_total - n),
    };
    let mut row = format!(
        "{:<22} {:<10} {:<10} {:<9} {:<9} {:>7.1}",
        v.exercise,
        yes_no(v.fails_unsolved, "fails", "passes"),
        yes_no(v.solution_passes, "passes", "fails"),
        variants,
        mistakes,
        v.seconds
    );
    for u in &v.unavailable {
        row.push_str(&format!(
            "\n  – step {} not available on {}",
            u.step, v.engine
        ));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_runs_helpers_are_not_left_behind_but_this_runs_are() {
        let mut other = labels::helper(labels::ROLE_BENCH);
        other.insert(labels::SESSION.to_string(), "1-2".to_string());
        assert!(another_runs_helper(Some(&other)));
        // This run's own helper, a setup container, a learner's container: all counted.
        assert!(!another_runs_helper(Some(&labels::helper(
            labels::ROLE_PROBE
        ))));
        assert!(!another_runs_helper(Some(&labels::helper(
            labels::ROLE_SETUP
        ))));
        assert!(!another_runs_helper(None));
        let mut forged = std::collections::HashMap::new();
        forged.insert(labels::SESSION.to_string(), "1-2".to_string());
        assert!(
            !another_runs_helper(Some(&forged)),
            "a session label alone is not a helper"
        );
    }
}
