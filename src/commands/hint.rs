//! `workbook hint`: the hint for the first step that is not passing, counted in the progress.
//!
//! It never grades (it works with no daemon, and outside a workspace): "not passing" is the
//! last verdict recorded for each step by `check`, `next` or `watch`; a step not available on
//! the engine counts as settled ([`crate::checks::Status::settled`]).

use std::path::Path;

use crate::commands::context::{pick, CmdResult};
use crate::commands::present::md;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::{Exercise, Step};
use crate::learner::progress::{ExerciseProgress, Progress};
use crate::learner::state::State;
use crate::learner::workspace::Workspace;

pub fn run(cat: &Catalog, explicit: Option<&Path>, wanted: Option<&str>) -> CmdResult {
    let Some(ws) = Workspace::find(explicit)? else {
        // Like `lesson`: no progress to go by, so the first step's hint, and nothing counted.
        let ex = pick(cat, None, &Progress::default(), wanted)?;
        show(ex, &ex.steps()[0]);
        eprintln!(
            "(No workspace here, so no progress to go by: this is step 1's hint. In your \
             workspace, `workbook hint` gives the hint of the first step not passing yet.)"
        );
        return Ok(0);
    };
    let mut state = State::open(&ws)?;
    let ex = pick(cat, Some(&ws), &state.progress, wanted)?;
    let step = match first_unsettled(ex, state.progress.exercise(&ex.slug)) {
        Some(step) => step,
        None => {
            eprintln!(
                "Every step of {} passed when it was last graded (`workbook check {}` grades it \
                 again); here is the first step's hint.",
                ex.slug, ex.slug
            );
            &ex.steps()[0]
        }
    };
    show(ex, step);
    state.count_hint(&ex.slug);
    state.save()?;
    Ok(0)
}

/// The first step of `ex` whose last recorded verdict is not settled (a pass, or not available
/// on this engine); `None` when every one is.
pub fn first_unsettled<'e>(
    ex: &'e Exercise,
    progress: Option<&ExerciseProgress>,
) -> Option<&'e Step> {
    ex.steps().iter().find(|s| {
        !progress
            .and_then(|p| p.steps.get(&s.id))
            .is_some_and(|sp| sp.settled())
    })
}

fn show(ex: &Exercise, step: &Step) {
    md(&format!(
        "### Hint for {} · {}\n\n{}",
        ex.slug, step.title, step.hint
    ));
}

#[cfg(test)]
mod tests {
    use super::first_unsettled;
    use crate::checks::Status;
    use crate::learner::progress::{ExerciseProgress, StepProgress};

    fn step(first_passed: Option<u64>, last: Option<Status>) -> StepProgress {
        StepProgress {
            first_passed,
            failed_attempts: 0,
            last,
        }
    }

    #[test]
    fn the_hint_is_for_the_first_step_not_passing_now() {
        let cat = crate::curriculum::catalog::Catalog::embedded().unwrap();
        let ex = cat.get("11-capstone").unwrap();
        let ids: Vec<String> = ex.steps().iter().map(|s| s.id.clone()).collect();
        let mut p = ExerciseProgress::default();
        assert_eq!(first_unsettled(ex, None).unwrap().id, ids[0]);
        assert_eq!(first_unsettled(ex, Some(&p)).unwrap().id, ids[0]);
        // Steps 1 and 2 pass, 3 fails: step 3's hint.
        p.steps
            .insert(ids[0].clone(), step(Some(1), Some(Status::Pass)));
        p.steps
            .insert(ids[1].clone(), step(Some(2), Some(Status::Pass)));
        p.steps
            .insert(ids[2].clone(), step(None, Some(Status::Fail)));
        assert_eq!(first_unsettled(ex, Some(&p)).unwrap().id, ids[2]);
        // A step that passed once and fails now is not settled.
        p.steps
            .insert(ids[0].clone(), step(Some(1), Some(Status::Fail)));
        assert_eq!(first_unsettled(ex, Some(&p)).unwrap().id, ids[0]);
        // Not available on this engine counts as settled.
        p.steps
            .insert(ids[0].clone(), step(None, Some(Status::Unavailable)));
        assert_eq!(first_unsettled(ex, Some(&p)).unwrap().id, ids[2]);
        // A progress file from before `last` was kept: a first pass counts.
        p.steps.insert(ids[2].clone(), step(Some(3), None));
        let rest = first_unsettled(ex, Some(&p)).map(|s| s.id.clone());
        assert_eq!(rest, ids.get(3).cloned());
    }
}
