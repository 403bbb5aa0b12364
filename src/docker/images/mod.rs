//! The lab images, built locally through the Engine API's build endpoint from in-memory
//! contexts, so the workbook works with no registry:
//! - `workbook/tools`: busybox (sh, tar, chown, ...) for helper and probe containers;
//! - `workbook/ml-training`: a toy trainer that checkpoints every epoch and resumes;
//! - `workbook/ml-api`: serves a models folder over HTTP, fine on a read-only mount;
//! - `workbook/postgres` (only for the exercises that declare it, `images = [...]`): a real
//!   PostgreSQL, pulled or assembled from the host's ([`postgres`]).
//!
//! The base is a pulled `busybox` when a registry answers, otherwise a static busybox binary
//! from the host (Debian: `apt-get install busybox-static`). Images carry a digest of their
//! recipe, so `setup` rebuilds only what changed.

use crate::util::error::Result;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, RemoveImageOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::docker::engine::{failed, is_not_found};
use crate::docker::labels;

pub mod postgres;
mod rootfs;

pub use rootfs::host_busybox;
use rootfs::{file_header, rootfs};

pub const TOOLS_IMAGE: &str = "workbook/tools:latest";
pub const TRAINING_IMAGE: &str = "workbook/ml-training:latest";
pub const API_IMAGE: &str = "workbook/ml-api:latest";
pub const POSTGRES_IMAGE: &str = "workbook/postgres:latest";
/// The lab images every exercise may use, in build order.
pub const ALL: [&str; 3] = [TOOLS_IMAGE, TRAINING_IMAGE, API_IMAGE];
/// Lab images built for the exercises that declare them (`images = ["workbook/postgres"]`),
/// by `workbook setup` and before such an exercise is graded.
pub const EXTRA: [&str; 1] = [POSTGRES_IMAGE];

/// The lab image `name` (`workbook/postgres` or with its `:latest`), if it is one.
pub fn lab_image(name: &str) -> Option<&'static str> {
    ALL.iter()
        .chain(EXTRA.iter())
        .copied()
        .find(|t| *t == name || t.strip_suffix(":latest") == Some(name))
}

/// The image pulled when a registry answers.
pub const PULL_BASE: &str = "busybox:1.36";
const PULL_TIMEOUT: Duration = Duration::from_secs(30);
/// Bumped whenever a recipe changes in a way the digest would not see.
const RECIPE_EPOCH: &str = "2";

const TRAIN_SCRIPT: &str = include_str!("../../../images/ml-train.sh");
const SERVE_SCRIPT: &str = include_str!("../../../images/ml-serve.sh");
const VERSION_SCRIPT: &str = include_str!("../../../images/model-version.sh");

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nlearner:x:1000:1000:learner:/home/learner:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nlearner:x:1000:\nnogroup:x:65534:\n";

/// Where the base came from, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Pulled(String),
    HostBusybox(PathBuf),
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Base::Pulled(img) => write!(f, "pulled {img} from the registry"),
            Base::HostBusybox(p) => write!(
                f,
                "no registry answered: assembled from the static busybox at {}",
                p.display()
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// Never try a registry.
    pub offline: bool,
    /// Rebuild even when up to date.
    pub force: bool,
    /// Show progress on stderr.
    pub quiet: bool,
    /// Images of [`EXTRA`] to build too (when missing or stale, or with `force`).
    pub extra: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    UpToDate,
    Built {
        seconds: f64,
        base: Option<String>,
    },
    /// Neither way of making it works here: why, and what to do.
    Unavailable(String),
}

/// What `setup` did, image by image.
#[derive(Debug, Clone)]
pub struct SetupReport {
    pub base: Option<Base>,
    pub images: Vec<(String, Outcome)>,
}

struct Recipe {
    tag: &'static str,
    dockerfile: String,
    files: Vec<(String, Vec<u8>, u32)>,
    digest: String,
}

/// Lab images that are missing or out of date (cheap: one inspect per image).
pub async fn stale(docker: &Docker) -> Result<Vec<&'static str>> {
    stale_of(docker, &ALL).await
}

/// Those of `tags` that are missing or out of date.
pub async fn stale_of(docker: &Docker, tags: &[&'static str]) -> Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for &tag in tags {
        let want = recipe_digest(tag);
        if current_digest(docker, tag).await?.as_deref() != Some(want.as_str()) {
            out.push(tag);
        }
    }
    Ok(out)
}

async fn current_digest(docker: &Docker, tag: &str) -> Result<Option<String>> {
    match docker.inspect_image(tag).await {
        Ok(img) => Ok(img
            .config
            .and_then(|c| c.labels)
            .and_then(|l| l.get(labels::RECIPE).cloned())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(failed(&format!("inspecting image {tag}"), e)),
    }
}

/// Builds what is missing or stale (everything with `force`).
pub async fn setup(docker: &Docker, opts: &SetupOptions) -> Result<SetupReport> {
    let mut report = SetupReport {
        base: None,
        images: Vec::new(),
    };
    let stale = if opts.force {
        ALL.to_vec()
    } else {
        stale(docker).await?
    };
    for tag in ALL {
        if !stale.contains(&tag) {
            report.images.push((tag.to_string(), Outcome::UpToDate));
            say(opts, &format!("✓ {tag} is up to date"));
        }
    }
    let extra_stale = if opts.force {
        opts.extra.clone()
    } else {
        stale_of(docker, &opts.extra).await?
    };
    for &tag in &opts.extra {
        if !(extra_stale.contains(&tag) || opts.force || stale.contains(&TOOLS_IMAGE)) {
            report.images.push((tag.to_string(), Outcome::UpToDate));
            say(opts, &format!("✓ {tag} is up to date"));
        }
    }
    if stale.is_empty() && extra_stale.is_empty() {
        return Ok(report);
    }
    build_core(docker, opts, &stale, &mut report).await?;
    // An extra image stands on workbook/tools: rebuilt with it.
    let extras: Vec<&'static str> = if stale.contains(&TOOLS_IMAGE) {
        opts.extra.clone()
    } else {
        extra_stale
    };
    for tag in extras {
        report.images.retain(|(t, _)| t != tag);
        match extra_recipe(docker, tag, opts).await {
            Ok((recipe, how)) => {
                say(opts, &format!("{tag}: {how}"));
                let seconds = build_timed(docker, &recipe, opts).await?;
                report.images.push((
                    tag.to_string(),
                    Outcome::Built {
                        seconds,
                        base: Some(how),
                    },
                ));
            }
            Err(why) => {
                say(opts, &format!("✗ {tag} not built: {why}"));
                report
                    .images
                    .push((tag.to_string(), Outcome::Unavailable(why.to_string())));
            }
        }
    }
    Ok(report)
}

async fn build_core(
    docker: &Docker,
    opts: &SetupOptions,
    stale: &[&'static str],
    report: &mut SetupReport,
) -> Result<()> {
    if stale.is_empty() {
        return Ok(());
    }
    // A stale base means its dependants are rebuilt on top of it.
    let to_build: Vec<&str> = if stale.contains(&TOOLS_IMAGE) {
        ALL.to_vec()
    } else {
        stale.to_vec()
    };
    report
        .images
        .retain(|(t, _)| !to_build.contains(&t.as_str()));
    for tag in to_build {
        let recipe = if tag == TOOLS_IMAGE {
            let base = choose_base(docker, opts).await?;
            say(opts, &format!("base image: {base}"));
            let r = tools_recipe(&base)?;
            report.base = Some(base);
            r
        } else {
            recipe_for(tag)
        };
        let seconds = build_timed(docker, &recipe, opts).await?;
        report.images.push((
            tag.to_string(),
            Outcome::Built {
                seconds,
                base: report.base.as_ref().map(|b| b.to_string()),
            },
        ));
    }
    Ok(())
}

/// The recipe of an [`EXTRA`] image, and how it is made, for people.
async fn extra_recipe(
    docker: &Docker,
    tag: &'static str,
    opts: &SetupOptions,
) -> Result<(Recipe, String)> {
    debug_assert_eq!(tag, POSTGRES_IMAGE);
    let digest = recipe_digest(tag);
    if !opts.offline && try_pull(docker, opts, postgres::PULL).await {
        return Ok((
            Recipe {
                tag,
                dockerfile: postgres::dockerfile(postgres::PULL, None),
                files: Vec::new(),
                digest,
            },
            format!("pulled the official {} image", postgres::PULL),
        ));
    }
    let pg = postgres::host_postgres()?;
    let arch = docker.version().await.ok().and_then(|v| v.arch);
    postgres::same_arch(arch.as_deref())?;
    let pb = spinner(opts, &format!("collecting {pg} and its libraries..."));
    let layer = postgres::layer(&pg);
    pb.finish_and_clear();
    let layer = layer?;
    let how = format!(
        "no registry answered: assembled from {pg} ({} files, {})",
        layer.files,
        crate::ui::bytes::human(layer.tar.len() as u64)
    );
    let dockerfile = postgres::dockerfile(TOOLS_IMAGE, Some((&pg, &layer)));
    Ok((
        Recipe {
            tag,
            dockerfile,
            files: vec![
                ("postgres.tar".to_string(), layer.tar, 0o644),
                (
                    "passwd".to_string(),
                    postgres::PASSWD.as_bytes().to_vec(),
                    0o644,
                ),
                (
                    "group".to_string(),
                    postgres::GROUP.as_bytes().to_vec(),
                    0o644,
                ),
                (
                    "docker-entrypoint.sh".to_string(),
                    postgres::ENTRYPOINT.as_bytes().to_vec(),
                    0o755,
                ),
            ],
            digest,
        },
        how,
    ))
}

fn say(opts: &SetupOptions, line: &str) {
    if !opts.quiet {
        eprintln!("{line}");
    }
}

async fn choose_base(docker: &Docker, opts: &SetupOptions) -> Result<Base> {
    if !opts.offline && try_pull(docker, opts, PULL_BASE).await {
        return Ok(Base::Pulled(PULL_BASE.to_string()));
    }
    host_busybox().map(Base::HostBusybox)
}

/// Pulls `image` behind a spinner; says why not when no registry gives it.
async fn try_pull(docker: &Docker, opts: &SetupOptions, image: &str) -> bool {
    let pb = spinner(opts, &format!("trying to pull {image}..."));
    let pulled = pull(docker, image, PULL_TIMEOUT).await;
    pb.finish_and_clear();
    match pulled {
        Ok(()) => true,
        Err(e) => {
            say(
                opts,
                &format!("no registry for {image}: {}", first_line(&e.to_string())),
            );
            false
        }
    }
}

/// Builds `recipe`, says so, and returns the seconds it took.
async fn build_timed(docker: &Docker, recipe: &Recipe, opts: &SetupOptions) -> Result<f64> {
    let started = Instant::now();
    build(docker, recipe, opts).await?;
    let seconds = started.elapsed().as_secs_f64();
    say(opts, &format!("✓ built {} in {seconds:.1} s", recipe.tag));
    Ok(seconds)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Pulls `image` from its registry, giving up after `within` ("pulling {image} took over N s").
pub async fn pull(docker: &Docker, image: &str, within: Duration) -> Result<()> {
    let pull = async {
        let opts = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut stream = docker.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| failed(&format!("pulling {image}"), e))?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(err);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(within, pull).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(format!("pulling {image} took over {} s", within.as_secs()).into()),
    }
}

const ENV_PATH: &str = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";

fn dockerfile(tag: &str) -> String {
    match tag {
        TOOLS_IMAGE => format!("ADD rootfs.tar /\n{ENV_PATH}CMD [\"sh\"]\n"),
        TRAINING_IMAGE => format!(
            "FROM {TOOLS_IMAGE}\nCOPY ml-train.sh /usr/local/bin/ml-train\nWORKDIR /workspace\nCMD [\"/usr/local/bin/ml-train\"]\n"
        ),
        // The digest's view: the real file also names the host's folders ([`postgres::dockerfile`]).
        POSTGRES_IMAGE => postgres::dockerfile(TOOLS_IMAGE, None),
        _ => format!(
            "FROM {TOOLS_IMAGE}\nCOPY ml-serve.sh /usr/local/bin/ml-serve\nCOPY model-version.sh /usr/local/bin/model-version\nWORKDIR /app\nEXPOSE 8080\nCMD [\"/usr/local/bin/ml-serve\"]\n"
        ),
    }
}

/// A stable digest (FNV-1a, 64 bit) of an image's recipe; the base does not change it.
fn recipe_digest(tag: &str) -> String {
    let mut text = format!(
        "{RECIPE_EPOCH}\n{tag}\n{}\n{PASSWD}{GROUP}",
        dockerfile(tag)
    );
    match tag {
        TOOLS_IMAGE => {}
        TRAINING_IMAGE => text.push_str(TRAIN_SCRIPT),
        POSTGRES_IMAGE => {
            text.push_str(postgres::ENTRYPOINT);
            text.push_str(postgres::LOCALE);
            text.push_str(postgres::PASSWD);
            text.push_str(postgres::GROUP);
            text.push_str(postgres::PULL);
        }
        _ => {
            text.push_str(SERVE_SCRIPT);
            text.push_str(VERSION_SCRIPT);
        }
    }
    if tag != TOOLS_IMAGE {
        text.push_str(&recipe_digest(TOOLS_IMAGE));
    }
    let mut h: u64 = 0xcbf29ce484222325;
    for byte in text.bytes() {
        h ^= byte as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

fn tools_recipe(base: &Base) -> Result<Recipe> {
    let (from, busybox) = match base {
        Base::Pulled(img) => (img.clone(), None),
        Base::HostBusybox(p) => ("scratch".to_string(), Some(p.as_path())),
    };
    Ok(Recipe {
        tag: TOOLS_IMAGE,
        dockerfile: format!("FROM {from}\n{}", dockerfile(TOOLS_IMAGE)),
        files: vec![("rootfs.tar".to_string(), rootfs(busybox)?, 0o644)],
        digest: recipe_digest(TOOLS_IMAGE),
    })
}

fn recipe_for(tag: &'static str) -> Recipe {
    let files = match tag {
        TRAINING_IMAGE => vec![(
            "ml-train.sh".to_string(),
            TRAIN_SCRIPT.as_bytes().to_vec(),
            0o755,
        )],
        _ => vec![
            (
                "ml-serve.sh".to_string(),
                SERVE_SCRIPT.as_bytes().to_vec(),
                0o755,
            ),
            (
                "model-version.sh".to_string(),
                VERSION_SCRIPT.as_bytes().to_vec(),
                0o755,
            ),
        ],
    };
    Recipe {
        tag,
        dockerfile: dockerfile(tag),
        files,
        digest: recipe_digest(tag),
    }
}

fn context(recipe: &Recipe) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let err = |e: std::io::Error| crate::util::error::Error::io("assembling the build context", e);
    let mut h = file_header(recipe.dockerfile.len() as u64, 0o644);
    b.append_data(&mut h, "Dockerfile", recipe.dockerfile.as_bytes())
        .map_err(err)?;
    for (name, bytes, mode) in &recipe.files {
        let mut h = file_header(bytes.len() as u64, *mode);
        b.append_data(&mut h, name, &bytes[..]).map_err(err)?;
    }
    b.into_inner().map_err(err)
}

fn spinner(opts: &SetupOptions, msg: &str) -> indicatif::ProgressBar {
    let pb = if opts.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(100));
    pb.set_message(msg.to_string());
    pb
}

async fn build(docker: &Docker, recipe: &Recipe, opts: &SetupOptions) -> Result<()> {
    let previous = docker
        .inspect_image(recipe.tag)
        .await
        .ok()
        .and_then(|i| i.id);
    let labels = HashMap::from([
        (labels::LAB_IMAGE.to_string(), "true".to_string()),
        (labels::RECIPE.to_string(), recipe.digest.clone()),
    ]);
    let options = BuildImageOptionsBuilder::default()
        .t(recipe.tag)
        .rm(true)
        .forcerm(true)
        .networkmode("none")
        .labels(&labels)
        .build();
    let body = bollard::body_full(bytes::Bytes::from(context(recipe)?));
    let pb = spinner(opts, &format!("building {}", recipe.tag));
    let mut stream = docker.build_image(options, None, Some(body));
    let mut log = Vec::new();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(i) => i,
            Err(e) => {
                pb.finish_and_clear();
                return Err(failed(&format!("building {}", recipe.tag), e));
            }
        };
        if let Some(line) = info
            .stream
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            pb.set_message(format!("building {}: {line}", recipe.tag));
            log.push(line.to_string());
        }
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            pb.finish_and_clear();
            return Err(format!(
                "building {} failed: {err}\nbuild output:\n{}",
                recipe.tag,
                log.join("\n")
            )
            .into());
        }
    }
    pb.finish_and_clear();
    // The old image lost its tag: remove it when nothing else uses it (errors are harmless).
    if let Some(old) = previous {
        if docker
            .inspect_image(recipe.tag)
            .await
            .ok()
            .and_then(|i| i.id)
            .as_deref()
            != Some(old.as_str())
        {
            let _ = docker
                .remove_image(&old, None::<RemoveImageOptions>, None)
                .await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_and_distinct() {
        assert_eq!(recipe_digest(TOOLS_IMAGE), recipe_digest(TOOLS_IMAGE));
        assert_ne!(recipe_digest(TOOLS_IMAGE), recipe_digest(TRAINING_IMAGE));
        assert_ne!(recipe_digest(TRAINING_IMAGE), recipe_digest(API_IMAGE));
    }
}
