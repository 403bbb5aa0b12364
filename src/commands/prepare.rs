//! What an exercise needs before it is graded: its setup resources, created once, and for a
//! pack the learner's approval of the commands its exec checks run.

use crate::util::error::Result;
use std::io::IsTerminal;
use std::path::Path;

use crate::commands::context::confirm;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::docker::engine::Engine;
use crate::lab::setup as lab_setup;
use crate::learner::progress::Progress;

/// How a pack's setup may be created (built-in exercises never ask).
#[derive(Debug, Clone, Copy)]
pub enum PackSetup {
    /// Shown, then created on a yes (`yes` gives it): `check`, `next`, `reset`, `solution --run`.
    Ask { yes: bool },
    /// Never from here: `watch` sends the learner to `check`, which shows it and asks.
    Refuse,
}

/// Creates the exercise's setup resources the first time the learner works on it, and marks
/// them done in `progress` (the caller saves it). True when something was set up.
pub async fn ensure_setup(
    engine: &Engine,
    cat: &Catalog,
    ex: &Exercise,
    progress: &mut Progress,
    pack_setup: PackSetup,
) -> Result<bool> {
    let setup = &ex.data.setup;
    if setup.is_empty() || progress.exercise(&ex.slug).is_some_and(|e| e.setup_done) {
        return Ok(false);
    }
    if let Some(pack) = cat.pack_dir() {
        match pack_setup {
            PackSetup::Ask { yes } => confirm_pack_setup(engine, cat, ex, pack, yes).await?,
            PackSetup::Refuse => {
                return Err(format!(
                    "exercise {} of the pack {} has a setup to confirm first: run `workbook --pack {} check {}` \
                     (it shows what it creates and asks), then watch again",
                    ex.slug,
                    pack.display(),
                    pack.display(),
                    ex.slug
                ).into());
            }
        }
    }
    for line in lab_setup::apply(&engine.docker, cat, ex).await? {
        eprintln!("set up {line} for {}", ex.slug);
    }
    progress.exercise_mut(&ex.slug).setup_done = true;
    Ok(true)
}

/// Shows what a pack's setup creates and asks (`yes` answers); an error when a volume it
/// would write is not the workbook's, or the answer is no.
async fn confirm_pack_setup(
    engine: &Engine,
    cat: &Catalog,
    ex: &Exercise,
    pack: &Path,
    yes: bool,
) -> Result<()> {
    let setup = &ex.data.setup;
    eprintln!(
        "The pack {} sets up exercise {} with:",
        pack.display(),
        ex.slug
    );
    let states = lab_setup::volume_states(&engine.docker, ex).await?;
    let mut not_ours = None;
    for (v, state) in setup.volumes.iter().zip(&states) {
        match state {
            lab_setup::VolumeState::NotOurs => {
                not_ours.get_or_insert(v.name.as_str());
                eprintln!(
                    "  - volume {} ALREADY EXISTS and is not the workbook's: it will not be touched; setup will stop",
                    v.name
                );
            }
            lab_setup::VolumeState::Ours => eprintln!(
                "  - volume {} (made by the workbook for {} already: {} files written again)",
                v.name,
                ex.slug,
                v.files.len()
            ),
            lab_setup::VolumeState::Absent => {
                eprintln!("  - volume {} ({} files)", v.name, v.files.len())
            }
        }
    }
    if let Some(name) = not_ours {
        for c in &setup.containers {
            eprintln!("  - container {} (not created: setup stops)", c.name);
        }
        return Err(lab_setup::not_ours_message(cat, ex, name).into());
    }
    for c in &setup.containers {
        eprintln!(
            "  - container {} from {} (never started), mounting {}",
            c.name,
            c.image,
            c.volumes.join(", ")
        );
    }
    if !confirm("Create these?", yes)? {
        return Err(format!(
            "the pack's setup for {} was not run; `workbook --pack {} reset {} --yes` runs it without asking",
            ex.slug,
            pack.display(),
            ex.slug
        ).into());
    }
    Ok(())
}

/// A pack's exec checks run commands in the learner's containers. Before the first grading
/// that would run them they are shown and need a yes (`yes` gives it); the approval is kept per
/// exercise in the progress state, by a digest of the commands, so a pack that changes them
/// asks again. `again` is the command line to approve with (`check 01-x`). Built-in exercises
/// never ask.
pub fn ensure_exec_approval(
    cat: &Catalog,
    exercises: &[&Exercise],
    progress: &mut Progress,
    yes: bool,
    again: &str,
) -> Result<()> {
    let Some(pack) = cat.pack_dir() else {
        return Ok(());
    };
    let pending: Vec<(&Exercise, String)> = exercises
        .iter()
        .filter_map(|ex| {
            let digest = ex.exec_digest()?;
            let approved = progress
                .exercise(&ex.slug)
                .and_then(|p| p.exec_approved.as_deref());
            (approved != Some(digest.as_str())).then_some((*ex, digest))
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    for (ex, _) in &pending {
        let changed = progress
            .exercise(&ex.slug)
            .is_some_and(|p| p.exec_approved.is_some());
        eprintln!(
            "Grading exercise {} of the pack {} runs {}these commands in your containers:",
            ex.slug,
            pack.display(),
            if changed {
                "(changed since you approved them) "
            } else {
                ""
            }
        );
        for c in ex.exec_commands() {
            let writes = crate::curriculum::exercise::looks_like_write(&c.command)
                .map(|w| format!("   <- looks like it writes ({w})"))
                .unwrap_or_default();
            eprintln!("  - {c}{writes}");
        }
    }
    let refused = |why: &str| {
        format!(
            "{why}, so nothing was graded: approve the pack's commands with `workbook --pack {} {again} --yes`, \
             or run `workbook --pack {} {again}` on a terminal and answer y",
            pack.display(),
            pack.display()
        )
    };
    if !yes && !std::io::stdin().is_terminal() {
        return Err(refused("not asking on a non-interactive input").into());
    }
    if !confirm("Run them whenever the exercise is graded?", yes)? {
        return Err(refused("the commands were not approved").into());
    }
    for (ex, digest) in pending {
        progress.exercise_mut(&ex.slug).exec_approved = Some(digest);
    }
    Ok(())
}

/// For `watch`, which never asks: an error unless the pack's exec commands of `ex` are
/// approved already (by `check`). Built-in exercises need no approval.
pub fn require_exec_approval(cat: &Catalog, ex: &Exercise, progress: &Progress) -> Result<()> {
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
            ).into());
        }
    }
    Ok(())
}
