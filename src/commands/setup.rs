//! `workbook setup`: builds the lab images, or saves them to a file / loads them from one.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::commands::context::{connect, CmdResult};
use crate::docker::images::{self, SetupOptions};
use crate::ui::output::outln;

/// The options of `workbook setup`.
#[derive(Debug, Clone, Default)]
pub struct SetupArgs {
    pub offline: bool,
    pub force: bool,
    pub save: Option<PathBuf>,
    pub load: Option<PathBuf>,
}

impl SetupArgs {
    pub async fn run(self) -> CmdResult {
        match (self.save, self.load) {
            (Some(file), _) => save(self.offline, self.force, &file).await,
            (None, Some(file)) => load(&file).await,
            (None, None) => build(self.offline, self.force).await,
        }
    }
}

async fn build(offline: bool, force: bool) -> CmdResult {
    let engine = connect().await?;
    let report = images::setup(
        &engine.docker,
        &SetupOptions {
            offline,
            force,
            quiet: false,
            extra: images::EXTRA.to_vec(),
        },
    )
    .await?;
    if let Some(base) = &report.base {
        outln(&format!("Base image: {base}."));
    }
    let mut ready: Vec<&str> = images::ALL.to_vec();
    let mut missing = Vec::new();
    for (tag, outcome) in &report.images {
        match outcome {
            images::Outcome::Unavailable(why) => missing.push(format!("{tag}: {why}")),
            // How an extra image was made (pulled, or from the host's programs) is news.
            images::Outcome::Built {
                base: Some(how), ..
            } if !images::ALL.contains(&tag.as_str()) => outln(&format!("{tag}: {how}.")),
            _ => {}
        }
    }
    ready.extend(
        images::EXTRA
            .iter()
            .filter(|t| !missing.iter().any(|m| m.starts_with(**t))),
    );
    outln(&format!("Lab images ready: {}.", ready.join(", ")));
    if missing.is_empty() {
        return Ok(0);
    }
    for m in &missing {
        outln(&format!("Not built: {m}"));
    }
    outln("Every exercise that does not declare it works without it.");
    Ok(1)
}

/// `setup --save FILE`: builds what is missing (as `setup` does), then writes the bundle.
async fn save(offline: bool, force: bool, file: &Path) -> CmdResult {
    let engine = connect().await?;
    let opts = SetupOptions {
        offline,
        force,
        quiet: !std::io::stderr().is_terminal(),
        extra: images::EXTRA.to_vec(),
    };
    let report = crate::docker::bundle::save_with(&engine.docker, file, &opts).await?;
    outln(&report.summary());
    Ok(0)
}

/// `setup --load FILE`: loads a bundle and verifies the lab images; needs no network.
async fn load(file: &Path) -> CmdResult {
    let engine = connect().await?;
    let report = crate::docker::bundle::load(&engine.docker, file).await?;
    outln(&report.summary());
    Ok(0)
}
