//! The exercise data format (`exercises/NN-slug/exercise.toml`), version 1.
//!
//! An exercise is data: Markdown for the lesson, TOML for the steps and their checks, a shell
//! script for the solution. Unknown keys are refused so that a typo in an exercise is an error
//! at load time, not a check that silently never runs. See `exercises/FORMAT.md`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::checks::{Check, Target};
use crate::ui::safe_text;

/// The format version this build understands.
pub const FORMAT_VERSION: u32 = 1;

/// What an exercise may hold, checked when it loads (see `exercises/FORMAT.md`): a pack can
/// make the workbook allocate, write or show only so much. Each refusal names the bound.
pub mod bounds {
    /// `exercise.toml`, in bytes.
    pub const EXERCISE_FILE: u64 = 4 * 1024 * 1024;
    /// A lesson, in bytes.
    pub const LESSON_FILE: u64 = 1024 * 1024;
    /// A reference solution, in bytes.
    pub const SOLUTION_FILE: u64 = 256 * 1024;
    /// Exercises in a pack.
    pub const EXERCISES: usize = 200;
    /// Starter files (and folders) of one exercise, and their total size in bytes.
    pub const STARTER_ENTRIES: usize = 1000;
    pub const STARTER_BYTES: u64 = 64 * 1024 * 1024;
    /// `[[steps]]`, checks per step, `[[variants]]`, `[[mistakes]]`.
    pub const STEPS: usize = 100;
    pub const CHECKS: usize = 50;
    pub const VARIANTS: usize = 100;
    pub const MISTAKES: usize = 100;
    /// `[[setup.volumes]]`, `[[setup.containers]]`, seed files per volume.
    pub const SETUP_VOLUMES: usize = 32;
    pub const SETUP_CONTAINERS: usize = 32;
    pub const SEED_FILES: usize = 1000;
    /// `random_bytes` of one seed file, the `content` of one, and every seed file of a setup
    /// together, in bytes (they are built in memory before they are copied in).
    pub const RANDOM_BYTES: u64 = 16 * 1024 * 1024;
    pub const CONTENT: usize = 1024 * 1024;
    pub const SETUP_BYTES: u64 = 64 * 1024 * 1024;
    /// Any other list (a command's arguments, `[resources]` names, labels...).
    pub const LIST: usize = 256;
    /// A name (of a volume, container, service, step, image, lesson...) or a key, in characters.
    pub const NAME: usize = 255;
    /// A title.
    pub const TITLE: usize = 200;
    /// Markdown (`task`, `hint`) and scripts (`run`), in characters.
    pub const TEXT: usize = 64 * 1024;
    /// Any other string (paths, arguments, expected contents...), in characters.
    pub const VALUE: usize = 4096;
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseFile {
    pub format: u32,
    pub title: String,
    /// File name of the lesson under `lessons/`.
    pub lesson: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub setup: Setup,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub mistakes: Vec<Mistake>,
}

/// What the learner is asked to create; `reset` may remove exactly these.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default)]
    pub containers: Vec<String>,
    /// Host files, relative to the exercise folder.
    #[serde(default)]
    pub files: Vec<String>,
    /// The compose project whose working directory is the exercise folder: its containers and networks.
    #[serde(default)]
    pub compose: bool,
    /// Volumes of that compose project, by their key in compose.yaml (`checkpoints`).
    #[serde(default)]
    pub compose_volumes: Vec<String>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }

    /// Both lists together, without repeats.
    pub fn union(&self, other: &Resources) -> Resources {
        fn merge(a: &[String], b: &[String]) -> Vec<String> {
            let mut out = a.to_vec();
            out.extend(b.iter().filter(|x| !a.contains(x)).cloned());
            out
        }
        Resources {
            volumes: merge(&self.volumes, &other.volumes),
            containers: merge(&self.containers, &other.containers),
            files: merge(&self.files, &other.files),
            compose: self.compose || other.compose,
            compose_volumes: merge(&self.compose_volumes, &other.compose_volumes),
        }
    }
}

/// Resources the workbook creates when the learner enters the exercise (labelled as its own).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    #[serde(default)]
    pub volumes: Vec<SetupVolume>,
    /// Containers created (never started) after the volumes, e.g. one that keeps a volume in use.
    #[serde(default)]
    pub containers: Vec<SetupContainer>,
}

impl Setup {
    pub fn is_empty(&self) -> bool {
        self.volumes.is_empty() && self.containers.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupContainer {
    pub name: String,
    /// A lab image (`workbook/tools`).
    pub image: String,
    /// `VOLUME:/path[:ro]` mounts of setup volumes.
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default)]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupVolume {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<SeedFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// Path inside the volume.
    pub path: String,
    /// Text content, or...
    #[serde(default)]
    pub content: Option<String>,
    /// ...a number of deterministic pseudo-random bytes (a "binary" file).
    #[serde(default)]
    pub random_bytes: Option<u64>,
    /// Octal mode, e.g. "0644".
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub uid: Option<u64>,
    #[serde(default)]
    pub gid: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable id: progress is stored by it, so never rename a published one.
    pub id: String,
    pub title: String,
    /// Markdown.
    pub task: String,
    /// Markdown.
    pub hint: String,
    #[serde(deserialize_with = "bounded_checks")]
    pub checks: Vec<Check>,
}

/// Checks, each read as a TOML value first and refused when a value or list in it is over its
/// bound; an error keeps the position of the check it is about.
fn bounded_checks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Check>, D::Error> {
    struct Bounded(Check);
    impl<'de> Deserialize<'de> for Bounded {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bounded, D::Error> {
            use serde::de::Error;
            let value = toml::Value::deserialize(d)?;
            check_bounds(&value, "").map_err(D::Error::custom)?;
            value
                .try_into::<Check>()
                .map(Bounded)
                .map_err(|e| D::Error::custom(e.message()))
        }
    }
    let checks = Vec::<Bounded>::deserialize(d)?;
    Ok(checks.into_iter().map(|b| b.0).collect())
}

/// Another correct solution: it must pass every step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub id: String,
    pub run: String,
    #[serde(default)]
    pub resources: Resources,
}

/// A realistic wrong state: after `run`, step `step` must fail with a message containing `expect`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mistake {
    pub id: String,
    pub step: String,
    pub run: String,
    pub expect: String,
    /// What `run` creates beyond the exercise's own resources, so cleanup can remove it.
    #[serde(default)]
    pub resources: Resources,
}

/// A loaded exercise: its slug (the folder name) and its data.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub slug: String,
    pub data: ExerciseFile,
}

impl Exercise {
    /// Parses and validates `exercise.toml`. `slug` names the exercise in errors.
    ///
    /// What is shown as one line (the title, the summary, step titles) is neutralised for the
    /// terminal here ([`safe_text::line`]); Markdown is neutralised by the renderer, scripts
    /// where they are shown. Every message names the file, and never echoes raw text.
    pub fn parse(slug: &str, text: &str) -> Result<Exercise, String> {
        check_slug(slug)?;
        let at = format!("exercises/{slug}/exercise.toml");
        if text.len() as u64 > bounds::EXERCISE_FILE {
            return Err(format!(
                "{at}: the file is {} bytes: an exercise.toml is at most {} bytes",
                text.len(),
                bounds::EXERCISE_FILE
            ));
        }
        let data: ExerciseFile =
            toml::from_str(text).map_err(|e| safe_text::owned(format!("{at}: {e}")))?;
        // Sizes first: nothing below walks a list or a string longer than its bound (each
        // check's own values were bounded as it was read: [`bounded_checks`]).
        check_data_bounds(&data).map_err(|e| format!("{at}: {e}"))?;
        let mut ex = Exercise {
            slug: slug.to_string(),
            data,
        };
        ex.validate()?;
        // Copied only when something had to be escaped (the built-in text never).
        let inert = |s: &mut String| {
            if let std::borrow::Cow::Owned(clean) = safe_text::line(s) {
                *s = clean;
            }
        };
        let d = &mut ex.data;
        inert(&mut d.title);
        inert(&mut d.summary);
        d.steps.iter_mut().for_each(|st| inert(&mut st.title));
        d.mistakes.iter_mut().for_each(|m| inert(&mut m.id));
        d.variants.iter_mut().for_each(|v| inert(&mut v.id));
        Ok(ex)
    }

    fn validate(&self) -> Result<(), String> {
        let at = format!("exercises/{}/exercise.toml", self.slug);
        let d = &self.data;
        check_lesson_name(&d.lesson).map_err(|e| format!("{at}: {e}"))?;
        self.validate_names(&at)?;
        self.validate_setup_sizes(&at)?;
        self.validate_exec_targets(&at)?;
        if d.format != FORMAT_VERSION {
            return Err(format!(
                "{at}: format {} is not supported by this workbook (it reads format {FORMAT_VERSION}); \
                 update workbook or the exercise",
                d.format
            ));
        }
        if d.steps.is_empty() {
            return Err(format!("{at}: an exercise needs at least one [[steps]]"));
        }
        let mut ids = HashSet::new();
        for step in &d.steps {
            if step.id.is_empty()
                || !step
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!(
                    "{at}: step id `{}` must be non-empty and use only letters, digits and '-'",
                    step.id
                ));
            }
            if !ids.insert(step.id.as_str()) {
                return Err(format!("{at}: step id `{}` is used twice", step.id));
            }
            if step.checks.is_empty() {
                return Err(format!("{at}: step `{}` has no checks", step.id));
            }
            for check in &step.checks {
                check
                    .validate()
                    .map_err(|e| format!("{at}: step `{}`: {e}", step.id))?;
            }
        }
        for m in &d.mistakes {
            if !ids.contains(m.step.as_str()) {
                return Err(format!(
                    "{at}: mistake `{}` names step `{}`, which does not exist",
                    m.id, m.step
                ));
            }
        }
        for c in &d.setup.containers {
            if !c.image.starts_with("workbook/") {
                return Err(format!(
                    "{at}: setup container `{}` uses image `{}`: setups use the lab images (workbook/...) only",
                    c.name, c.image
                ));
            }
            for v in &c.volumes {
                let source = v.split(':').next().unwrap_or("");
                if source.starts_with('/')
                    || source.starts_with('.')
                    || source.contains("docker.sock")
                {
                    return Err(format!(
                        "{at}: setup container `{}` mounts `{}`: setups may mount named volumes only, never host paths",
                        c.name,
                        safe_text::line(v)
                    ));
                }
                // Only the exercise's own setup volumes: Docker would create any other name
                // unlabelled, or mount a volume the workbook did not make.
                let mut parts = v.split(':');
                let (dest, mode) = (parts.nth(1).unwrap_or(""), parts.next());
                let own = d.setup.volumes.iter().any(|sv| sv.name == source);
                if !own
                    || !dest.starts_with('/')
                    || !safe_text::is_inert(v)
                    || v.contains('\n')
                    || !matches!(mode, None | Some("ro" | "rw"))
                    || parts.next().is_some()
                {
                    return Err(format!(
                        "{at}: setup container `{}` mounts `{}`: a setup container mounts the exercise's own \
                         [[setup.volumes]] only, as `VOLUME:/path` or `VOLUME:/path:ro`",
                        c.name,
                        safe_text::line(v)
                    ));
                }
            }
        }
        for path in &d.resources.files {
            if path.starts_with('/') || path.split('/').any(|p| p == "..") {
                return Err(format!(
                    "{at}: resource file `{}` must be relative to the exercise folder",
                    safe_text::line(path)
                ));
            }
        }
        Ok(())
    }

    /// Names the workbook passes to the daemon, or lists before removing: Docker's own
    /// charset, so no name can carry a control character into a confirmation.
    fn validate_names(&self, at: &str) -> Result<(), String> {
        let d = &self.data;
        let mut named: Vec<(String, &str)> = Vec::new();
        let mut resources = vec![("[resources]".to_string(), &d.resources)];
        resources.extend(
            d.mistakes
                .iter()
                .map(|m| (format!("mistake `{}` resources", m.id), &m.resources)),
        );
        resources.extend(
            d.variants
                .iter()
                .map(|v| (format!("variant `{}` resources", v.id), &v.resources)),
        );
        for (what, r) in resources {
            for (key, list) in [
                ("volumes", &r.volumes),
                ("containers", &r.containers),
                ("compose_volumes", &r.compose_volumes),
            ] {
                named.extend(list.iter().map(|n| (format!("{what} {key}"), n.as_str())));
            }
            for f in &r.files {
                if !safe_text::is_inert(f) {
                    return Err(format!(
                        "{at}: {what} files: `{}` holds control characters",
                        safe_text::line(f)
                    ));
                }
            }
        }
        for v in &d.setup.volumes {
            named.push(("[[setup.volumes]] name".into(), v.name.as_str()));
        }
        for c in &d.setup.containers {
            named.push(("[[setup.containers]] name".into(), c.name.as_str()));
        }
        for (what, name) in named {
            if !is_docker_name(name) {
                return Err(format!(
                    "{at}: {what}: `{}` is not a Docker name (a letter or digit, then letters, digits, `_`, `.` or `-`)",
                    safe_text::line(name)
                ));
            }
        }
        for c in &d.setup.containers {
            let image_ok = c
                .image
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "/._:-".contains(ch));
            if !image_ok {
                return Err(format!(
                    "{at}: setup container `{}` uses image `{}`: setups use the lab images (workbook/...) only",
                    c.name,
                    safe_text::line(&c.image)
                ));
            }
        }
        Ok(())
    }

    /// Seed files: sizes within their bounds, modes that are octal, owners that exist.
    fn validate_setup_sizes(&self, at: &str) -> Result<(), String> {
        let mut total: u64 = 0;
        for (i, v) in self.data.setup.volumes.iter().enumerate() {
            for (j, f) in v.files.iter().enumerate() {
                let here = format!(
                    "{at}: setup.volumes[{i}].files[{j}] (`{}`)",
                    safe_text::line(&f.path)
                );
                if let Some(n) = f.random_bytes {
                    if n > bounds::RANDOM_BYTES {
                        return Err(format!(
                            "{here}: `random_bytes = {n}` is more than a seed file may hold (at most {} bytes, {} MiB)",
                            bounds::RANDOM_BYTES,
                            bounds::RANDOM_BYTES >> 20
                        ));
                    }
                }
                let size = match (&f.content, f.random_bytes) {
                    (Some(c), _) => c.len() as u64,
                    (None, Some(n)) => n,
                    (None, None) => 0,
                };
                total = total.saturating_add(size);
                if let Some(m) = &f.mode {
                    if !u32::from_str_radix(m, 8).is_ok_and(|m| m <= 0o7777) {
                        return Err(format!(
                            "{here}: mode `{}` is not an octal mode (\"0644\")",
                            safe_text::line(m)
                        ));
                    }
                }
                for (key, id) in [("uid", f.uid), ("gid", f.gid)] {
                    if id.is_some_and(|id| id > u64::from(u32::MAX)) {
                        return Err(format!("{here}: `{key}` is more than {}", u32::MAX));
                    }
                }
                let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
                if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
                    return Err(format!(
                        "{here}: the path must name a file inside the volume (no `.` or `..`)"
                    ));
                }
            }
        }
        if total > bounds::SETUP_BYTES {
            return Err(format!(
                "{at}: the setup's seed files hold {total} bytes together: a setup seeds at most {} bytes ({} MiB)",
                bounds::SETUP_BYTES,
                bounds::SETUP_BYTES >> 20
            ));
        }
        Ok(())
    }

    /// An exec check runs in a container of the exercise only: a compose `service` of the
    /// exercise folder (graders find services by the project's working directory, so never
    /// another folder's), or a `container` the exercise declares or sets up.
    fn validate_exec_targets(&self, at: &str) -> Result<(), String> {
        let own = self.own_containers();
        for step in &self.data.steps {
            for check in &step.checks {
                if let Check::Exec(e) = check {
                    if let Some(c) = &e.container {
                        if !own.contains(&c.as_str()) {
                            return Err(format!(
                                "{at}: step `{}`: `container = \"{}\"` of an exec check is not a container of this \
                                 exercise: an exec check runs only in a container the exercise declares \
                                 ([resources].containers) or sets up ([[setup.containers]]), or in a compose \
                                 `service` of the exercise folder",
                                step.id,
                                safe_text::line(c)
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The containers the exercise declares or sets up: the only ones an exec check may name.
    pub fn own_containers(&self) -> Vec<&str> {
        let d = &self.data;
        d.resources
            .containers
            .iter()
            .map(String::as_str)
            .chain(d.setup.containers.iter().map(|c| c.name.as_str()))
            .collect()
    }

    /// The commands the exercise's exec checks run in containers, in order, without repeats.
    pub fn exec_commands(&self) -> Vec<ExecCommand> {
        let mut out: Vec<ExecCommand> = Vec::new();
        for step in &self.data.steps {
            for check in &step.checks {
                if let Check::Exec(e) = check {
                    if let Ok(target) = Target::from_keys(&e.container, &e.service) {
                        let c = ExecCommand {
                            target,
                            command: e.command.clone(),
                        };
                        if !out.contains(&c) {
                            out.push(c);
                        }
                    }
                }
            }
        }
        out
    }

    /// A digest of [`Exercise::exec_commands`] (targets and arguments), by which an approval
    /// of them is remembered; `None` when the exercise runs no command.
    pub fn exec_digest(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        let commands = self.exec_commands();
        if commands.is_empty() {
            return None;
        }
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        for c in &commands {
            match &c.target {
                Target::Container(n) => (put("container"), put(n)),
                Target::Service(n) => (put("service"), put(n)),
            };
            put(&c.command.len().to_string());
            for arg in &c.command {
                put(arg);
            }
        }
        let digest = h.finalize();
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn title(&self) -> &str {
        &self.data.title
    }

    pub fn steps(&self) -> &[Step] {
        &self.data.steps
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.data.steps.iter().find(|s| s.id == id)
    }

    /// Everything the exercise, its variants and its mistakes may create (for test and verify cleanup).
    pub fn all_resources(&self) -> Resources {
        let mut all = self.data.resources.clone();
        for m in &self.data.mistakes {
            all = all.union(&m.resources);
        }
        for v in &self.data.variants {
            all = all.union(&v.resources);
        }
        all
    }
}

/// A command an exec check runs, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    pub target: Target,
    pub command: Vec<String>,
}

impl std::fmt::Display for ExecCommand {
    /// `in container api: sh -c 'cat /x'`: the arguments quoted as a shell would need them,
    /// neutralised for the terminal (a newline shows as `\n`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self.command.iter().map(|a| shell_quote(a)).collect();
        write!(
            f,
            "in {}: {}",
            safe_text::line(&self.target.to_string()),
            safe_text::line(&words.join(" "))
        )
    }
}

/// Programs that change files.
const WRITERS: [&str; 16] = [
    "rm", "rmdir", "unlink", "shred", "mv", "cp", "dd", "tee", "chmod", "chown", "chgrp",
    "truncate", "touch", "mkdir", "ln", "install",
];

/// Why `command` looks like it writes (`rm`, `>`...), for `dev check` and the approval of a
/// pack's commands: a program of [`WRITERS`], `sed -i`, or a redirection to a file, given
/// directly or inside `sh -c`. A hint for people, not a sandbox: an exec check is trusted by
/// its approval, not by this.
pub fn looks_like_write(command: &[String]) -> Option<String> {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let shells = ["sh", "bash", "ash", "dash", "zsh", "ksh"];
    let mut words: Vec<String> = Vec::new();
    let mut scripts: Vec<&str> = Vec::new();
    if let Some(program) = command.first() {
        if shells.contains(&base(program).as_str()) {
            let mut args = command[1..].iter();
            while let Some(a) = args.next() {
                if a.starts_with('-') && a.contains('c') {
                    scripts.extend(args.next().map(String::as_str));
                    break;
                }
            }
        } else {
            words.extend(command.iter().cloned());
        }
    }
    for script in &scripts {
        // Commands start after an operator; split on them and on quotes and substitutions.
        let spaced: String = script
            .chars()
            .map(|c| if ";|&()`\"'$\n{}".contains(c) { ' ' } else { c })
            .collect();
        words.extend(spaced.split_whitespace().map(str::to_string));
        if let Some(r) = redirection(script) {
            return Some(r);
        }
    }
    if scripts.is_empty() {
        if let Some(r) = redirection(&command.join(" ")) {
            return Some(r);
        }
    }
    for (i, w) in words.iter().enumerate() {
        let b = base(w);
        if WRITERS.contains(&b.as_str()) {
            return Some(format!("`{b}`"));
        }
        if b == "sed"
            && words[i + 1..]
                .iter()
                .any(|a| a.starts_with("-i") || a == "--in-place")
        {
            return Some("`sed -i`".into());
        }
    }
    None
}

/// A `>` or `>>` to a file (not `>&2`, `2>&1`, nor `>/dev/null`).
fn redirection(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'>' {
            let mut j = i + 1;
            if bytes.get(j) == Some(&b'>') {
                j += 1;
            }
            let rest = text[j..].trim_start();
            if !rest.starts_with('&') && !rest.starts_with("/dev/null") && !rest.is_empty() {
                return Some(format!("`{}`", &text[i..j]));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// `arg` as one shell word.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Docker's charset for volume and container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_docker_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// An exercise's folder name: `[0-9a-z][0-9a-z-]*` (learners pick exercises by its number,
/// `NN-slug`), so it can never be the workspace's own state (`.workbook`), its `README.md`, or
/// a hidden file.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let mut chars = slug.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && slug.len() <= 64;
    if ok {
        return Ok(());
    }
    Err(format!(
        "exercises/{}: an exercise folder is named `NN-slug`: lowercase letters, digits and `-`, \
         starting with a letter or digit, at most 64 characters (e.g. `02-bind-mounts`); a folder named \
         otherwise could collide with the workspace's own files (`.workbook/`, `README.md`)",
        safe_text::line(slug)
    ))
}

/// A lesson is a plain file name under `lessons/`: no folder, no way out of it.
pub fn check_lesson_name(lesson: &str) -> Result<(), String> {
    let plain = !lesson.is_empty()
        && !lesson.starts_with('.')
        && !lesson.contains(['/', '\\', ':'])
        && safe_text::is_inert(lesson)
        && !lesson.contains(['\n', '\t']);
    if plain {
        return Ok(());
    }
    Err(format!(
        "lesson `{}` must be a plain file name under lessons/ (no `/`, `\\`, `..`, nor a leading `.`)",
        safe_text::line(lesson)
    ))
}

/// Tables whose keys are the author's (labels, driver options): their values are values.
const FREE_TABLES: [&str; 5] = [
    "labels",
    "options",
    "option_items",
    "option_prefix",
    "option_host_path",
];

/// The bound on a string of a check under `key`, and what it is called in a refusal.
fn string_bound(key: &str) -> (usize, &'static str) {
    match key {
        "name" | "volume" | "container" | "service" | "compose_volume" | "of_volume"
        | "of_compose_volume" | "kind" => (bounds::NAME, "a name"),
        _ => (bounds::VALUE, "a value"),
    }
}

/// Every list and string of the exercise outside its checks within its bound. Where a value
/// is (`steps[2].title`) is only spelt out for a refusal.
fn check_data_bounds(d: &ExerciseFile) -> Result<(), String> {
    fn count<T>(what: impl Fn() -> String, items: &[T], max: usize) -> Result<(), String> {
        if items.len() > max {
            return Err(format!(
                "`{}` has {} entries: at most {max}",
                what(),
                items.len()
            ));
        }
        Ok(())
    }
    fn chars(what: impl Fn() -> String, s: &str, max: usize, called: &str) -> Result<(), String> {
        // A string of `max` bytes or fewer has `max` characters or fewer: no count needed.
        if s.len() <= max {
            return Ok(());
        }
        let n = s.chars().count();
        if n > max {
            return Err(format!(
                "`{}` is {n} characters long: {called} is at most {max} characters",
                what()
            ));
        }
        Ok(())
    }
    let at = |s: &str| s.to_string();
    let name = |what: &dyn Fn() -> String, s: &str| chars(what, s, bounds::NAME, "a name");
    let names = |what: &dyn Fn() -> String, list: &[String]| {
        count(what, list, bounds::LIST)?;
        list.iter().try_for_each(|n| name(what, n))
    };
    let resources = |what: &dyn Fn() -> String, r: &Resources| {
        names(&|| format!("{}.volumes", what()), &r.volumes)?;
        names(&|| format!("{}.containers", what()), &r.containers)?;
        names(
            &|| format!("{}.compose_volumes", what()),
            &r.compose_volumes,
        )?;
        let files = || format!("{}.files", what());
        count(files, &r.files, bounds::LIST)?;
        r.files
            .iter()
            .try_for_each(|f| chars(files, f, bounds::VALUE, "a path"))
    };
    chars(|| at("title"), &d.title, bounds::TITLE, "a title")?;
    name(&|| at("lesson"), &d.lesson)?;
    chars(|| at("summary"), &d.summary, bounds::TEXT, "a text")?;
    resources(&|| at("resources"), &d.resources)?;
    count(
        || at("setup.volumes"),
        &d.setup.volumes,
        bounds::SETUP_VOLUMES,
    )?;
    for (i, v) in d.setup.volumes.iter().enumerate() {
        let here = |field: &str| format!("setup.volumes[{i}].{field}");
        name(&|| here("name"), &v.name)?;
        if v.labels.len() > bounds::LIST {
            return Err(format!(
                "`{}` has {} entries: at most {}",
                here("labels"),
                v.labels.len(),
                bounds::LIST
            ));
        }
        for (k, val) in &v.labels {
            name(&|| here("labels"), k)?;
            chars(
                || here(&format!("labels.{k}")),
                val,
                bounds::VALUE,
                "a value",
            )?;
        }
        count(|| here("files"), &v.files, bounds::SEED_FILES)?;
        for (j, f) in v.files.iter().enumerate() {
            let here = |field: &str| format!("setup.volumes[{i}].files[{j}].{field}");
            chars(|| here("path"), &f.path, bounds::VALUE, "a path")?;
            if let Some(c) = &f.content {
                if c.len() > bounds::CONTENT {
                    return Err(format!(
                        "`{}` is {} bytes long: a seed file's content is at most {} bytes (1 MiB)",
                        here("content"),
                        c.len(),
                        bounds::CONTENT
                    ));
                }
            }
            if let Some(m) = &f.mode {
                chars(|| here("mode"), m, 8, "a mode")?;
            }
        }
    }
    count(
        || at("setup.containers"),
        &d.setup.containers,
        bounds::SETUP_CONTAINERS,
    )?;
    for (i, c) in d.setup.containers.iter().enumerate() {
        let here = |field: &str| format!("setup.containers[{i}].{field}");
        name(&|| here("name"), &c.name)?;
        name(&|| here("image"), &c.image)?;
        names(&|| here("volumes"), &c.volumes)?;
        count(|| here("command"), &c.command, bounds::LIST)?;
        for a in &c.command {
            chars(|| here("command"), a, bounds::VALUE, "an argument")?;
        }
    }
    count(|| at("steps"), &d.steps, bounds::STEPS)?;
    for (i, st) in d.steps.iter().enumerate() {
        let here = |field: &str| format!("steps[{i}].{field}");
        name(&|| here("id"), &st.id)?;
        chars(|| here("title"), &st.title, bounds::TITLE, "a title")?;
        chars(|| here("task"), &st.task, bounds::TEXT, "a text")?;
        chars(|| here("hint"), &st.hint, bounds::TEXT, "a text")?;
        count(|| here("checks"), &st.checks, bounds::CHECKS)?;
    }
    count(|| at("variants"), &d.variants, bounds::VARIANTS)?;
    for (i, v) in d.variants.iter().enumerate() {
        let here = |field: &str| format!("variants[{i}].{field}");
        name(&|| here("id"), &v.id)?;
        chars(|| here("run"), &v.run, bounds::TEXT, "a script")?;
        resources(&|| here("resources"), &v.resources)?;
    }
    count(|| at("mistakes"), &d.mistakes, bounds::MISTAKES)?;
    for (i, m) in d.mistakes.iter().enumerate() {
        let here = |field: &str| format!("mistakes[{i}].{field}");
        name(&|| here("id"), &m.id)?;
        name(&|| here("step"), &m.step)?;
        chars(|| here("run"), &m.run, bounds::TEXT, "a script")?;
        chars(|| here("expect"), &m.expect, bounds::VALUE, "a value")?;
        resources(&|| here("resources"), &m.resources)?;
    }
    Ok(())
}

/// Every list and string of a check's value within its bound; `key` is the nearest table key.
/// A refusal names where the value is (`labels.tier`), spelt out only then.
fn check_bounds(value: &toml::Value, key: &str) -> Result<(), String> {
    fn over(value: &toml::Value, key: &str) -> Result<(), (Vec<String>, String)> {
        match value {
            toml::Value::String(s) => {
                let (max, what) = string_bound(key);
                if s.len() > max && s.chars().count() > max {
                    let n = s.chars().count();
                    return Err((
                        Vec::new(),
                        format!("is {n} characters long: {what} is at most {max} characters"),
                    ));
                }
            }
            toml::Value::Array(items) => {
                if items.len() > bounds::LIST {
                    return Err((
                        Vec::new(),
                        format!("has {} entries: at most {}", items.len(), bounds::LIST),
                    ));
                }
                for (i, item) in items.iter().enumerate() {
                    over(item, key).map_err(|(mut path, why)| {
                        path.push(format!("[{i}]"));
                        (path, why)
                    })?;
                }
            }
            toml::Value::Table(t) => {
                if t.len() > bounds::LIST {
                    return Err((
                        Vec::new(),
                        format!("has {} keys: at most {}", t.len(), bounds::LIST),
                    ));
                }
                let free = FREE_TABLES.contains(&key);
                for (k, v) in t {
                    if k.len() > bounds::NAME && k.chars().count() > bounds::NAME {
                        return Err((
                            Vec::new(),
                            format!(
                                "has a key {} characters long: a key is at most {}",
                                k.chars().count(),
                                bounds::NAME
                            ),
                        ));
                    }
                    over(v, if free { "" } else { k }).map_err(|(mut path, why)| {
                        path.push(format!(".{k}"));
                        (path, why)
                    })?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    over(value, key).map_err(|(path, why)| {
        let path: String = path.iter().rev().map(String::as_str).collect();
        let path = path.strip_prefix('.').unwrap_or(&path);
        if path.is_empty() {
            format!("the check {why}")
        } else {
            format!("`{}` {why}", safe_text::line(path))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn commands_that_write_are_told_apart_from_those_that_read() {
        for (cmd, why) in [
            (&["rm", "-rf", "/data"][..], "`rm`"),
            (&["/bin/chmod", "777", "/d"], "`chmod`"),
            (
                &["sh", "-c", "rm -rf /var/lib/postgresql/data/* ; echo done"],
                "`rm`",
            ),
            (&["sh", "-c", "echo x > /data/f"], "`>`"),
            (&["sh", "-c", "echo x >>/data/f"], "`>>`"),
            (&["bash", "-ec", "cat /a | tee /b"], "`tee`"),
            (&["sh", "-c", "x=$(mv /a /b)"], "`mv`"),
            (&["sh", "-c", "dd if=/dev/zero of=/d/x"], "`dd`"),
            (&["sh", "-c", "truncate -s0 /d/x"], "`truncate`"),
            (&["sh", "-c", "sed -i s/a/b/ /etc/x"], "`sed -i`"),
            (&["chown", "1:1", "/d"], "`chown`"),
            (&["echo", ">", "/d"], "`>`"),
        ] {
            assert_eq!(
                looks_like_write(&argv(cmd)).as_deref(),
                Some(why),
                "{cmd:?}"
            );
        }
        // The built-in exercises' commands, and other readers.
        for cmd in [
            &["wget", "-qO-", "http://127.0.0.1:8080/VERSION"][..],
            &[
                "sh",
                "-c",
                "grep -m1 \"$(hostname)\" /workspace/logs/train.log",
            ],
            &["cat", "/app/models/VERSION"],
            &[
                "sh",
                "-c",
                "ls /data 2>&1 >/dev/null; cat /x 2> /dev/null; echo hi >&2",
            ],
            &["sh", "-c", "test -f /data/rm-me"],
        ] {
            assert_eq!(looks_like_write(&argv(cmd)), None, "{cmd:?}");
        }
    }

    const MINIMAL: &str = r#"
format = 1
title = "T"
lesson = "t.md"
[[steps]]
id = "a"
title = "A"
task = "do"
hint = "h"
  [[steps.checks]]
  kind = "volume"
  name = "v"
"#;

    fn with_check(check: &str) -> String {
        MINIMAL.replace("  kind = \"volume\"\n  name = \"v\"\n", check)
    }

    #[test]
    fn every_size_is_bounded_and_the_bound_is_named() {
        let seed = |file: &str| {
            format!("{MINIMAL}[[setup.volumes]]\nname = \"sv\"\n  [[setup.volumes.files]]\n  path = \"f\"\n{file}\n")
        };
        let many = |n: usize, item: &str| {
            (0..n)
                .map(|i| item.replace("ID", &i.to_string()))
                .collect::<String>()
        };
        let long = |n: usize| "x".repeat(n);
        for (text, wanted) in [
            (seed("  random_bytes = 100000000000000"), "`random_bytes = 100000000000000` is more than a seed file may hold (at most 16777216 bytes"),
            (seed(&format!("  content = \"{}\"", long(bounds::CONTENT + 1))), "content` is 1048577 bytes long: a seed file's content is at most 1048576"),
            (
                format!("{MINIMAL}{}", many(17, "[[setup.volumes]]\nname = \"vID\"\n  [[setup.volumes.files]]\n  path = \"f\"\n  random_bytes = 4000000\n")),
                "seed files hold 68000000 bytes together: a setup seeds at most 67108864",
            ),
            (format!("{MINIMAL}{}", many(33, "[[setup.volumes]]\nname = \"vID\"\n")), "`setup.volumes` has 33 entries: at most 32"),
            (MINIMAL.replace("[[steps]]", &(many(100, "[[steps]]\nid = \"sID\"\ntitle = \"S\"\ntask = \"t\"\nhint = \"h\"\n  [[steps.checks]]\n  kind = \"volume\"\n  name = \"v\"\n") + "[[steps]]")), "`steps` has 101 entries: at most 100"),
            (with_check(&("  kind = \"volume\"\n  name = \"v\"\n".to_string() + &"  [[steps.checks]]\n  kind = \"volume\"\n  name = \"v\"\n".repeat(50))), "`steps[0].checks` has 51 entries: at most 50"),
            (with_check(&format!("  kind = \"volume\"\n  name = \"{}\"\n", long(300))), "`name` is 300 characters long: a name is at most 255"),
            (with_check(&format!("  kind = \"exec\"\n  service = \"s\"\n  command = [{}]\n", many(257, "\"a\","))), "`command` has 257 entries: at most 256"),
            (with_check(&format!("  kind = \"host-file\"\n  path = \"p\"\n  contains = \"{}\"\n", long(5000))), "`contains` is 5000 characters long: a value is at most 4096"),
            (MINIMAL.replace("title = \"T\"", &format!("title = \"{}\"", long(201))), "`title` is 201 characters long: a title is at most 200"),
            (MINIMAL.replace("hint = \"h\"", &format!("hint = \"{}\"", long(bounds::TEXT + 1))), "`steps[0].hint` is 65537 characters long"),
            (format!("{MINIMAL}[resources]\nvolumes = [{}]\n", many(257, "\"vID\",")), "`resources.volumes` has 257 entries: at most 256"),
        ] {
            let err = Exercise::parse("00-t", &text).unwrap_err();
            assert!(err.starts_with("exercises/00-t/exercise.toml: ") || err.starts_with("exercises/00-t/exercise.toml:"), "{err}");
            assert!(err.contains(wanted), "wanted {wanted:?} in\n{err}");
        }
        // A check refused for a size keeps its position in the file.
        let err = Exercise::parse(
            "00-t",
            &with_check(&format!(
                "  kind = \"volume\"\n  name = \"{}\"\n",
                long(300)
            )),
        )
        .unwrap_err();
        assert!(err.contains("line 10"), "{err}");
        // The bounds leave room: every built-in exercise is far inside them.
        assert!(crate::curriculum::catalog::exercises().unwrap().len() >= 11);
    }

    #[test]
    fn lessons_are_plain_file_names_and_slugs_are_slugs() {
        for bad in [
            "../../../../etc/passwd",
            "/etc/passwd",
            "sub/x.md",
            "..\\x.md",
            "..",
            ".hidden.md",
            "",
            "c:x.md",
        ] {
            let text = MINIMAL.replace("lesson = \"t.md\"", &format!("lesson = '{bad}'"));
            let err = Exercise::parse("00-t", &text).unwrap_err();
            assert!(
                err.contains("must be a plain file name under lessons/"),
                "{bad}: {err}"
            );
        }
        for bad in [
            ".workbook",
            "README.md",
            ".x",
            "01_A",
            "Upper",
            "-01",
            "",
            "a b",
            "01-\u{1b}]0;x\u{7}",
        ] {
            let err = Exercise::parse(bad, MINIMAL).unwrap_err();
            assert!(
                err.contains("an exercise folder is named `NN-slug`"),
                "{bad}: {err}"
            );
            assert!(crate::ui::safe_text::is_inert(&err), "{err:?}");
        }
        for good in ["01-named-volumes", "7-x", "a"] {
            Exercise::parse(good, MINIMAL).unwrap();
        }
    }

    #[test]
    fn an_exec_check_runs_only_in_the_exercises_own_containers() {
        let exec = "  kind = \"exec\"\n  container = \"victim\"\n  command = [\"cat\", \"/x\"]\n";
        let err = Exercise::parse("00-t", &with_check(exec)).unwrap_err();
        assert!(
            err.starts_with(
                "exercises/00-t/exercise.toml: step `a`: `container = \"victim\"` of an exec check"
            ),
            "{err}"
        );
        let declared = format!(
            "{}[resources]\ncontainers = [\"victim\"]\n",
            with_check(exec)
        );
        let ex = Exercise::parse("00-t", &declared).unwrap();
        assert_eq!(
            ex.exec_commands()[0].to_string(),
            "in container victim: cat /x"
        );
        let setup = format!(
            "{}[[setup.volumes]]\nname = \"d\"\n[[setup.containers]]\nname = \"victim\"\nimage = \"workbook/tools\"\nvolumes = [\"d:/d\"]\n",
            with_check(exec)
        );
        Exercise::parse("00-t", &setup).unwrap();
        Exercise::parse("00-t", &with_check(&exec.replace("container", "service"))).unwrap();
        // The built-in exercises' exec checks all name compose services of their folder.
        for ex in crate::curriculum::catalog::exercises().unwrap() {
            for c in ex.exec_commands() {
                assert!(matches!(c.target, Target::Service(_)), "{}: {c}", ex.slug);
            }
        }
    }

    #[test]
    fn the_exec_digest_changes_with_any_command_or_target() {
        let exec = |target: &str, cmd: &str| {
            let text = with_check(&format!(
                "  kind = \"exec\"\n  {target}\n  command = {cmd}\n"
            ));
            Exercise::parse("00-t", &text).unwrap().exec_digest()
        };
        let base = exec("service = \"a\"", "[\"cat\", \"/x\"]");
        assert!(base.as_ref().is_some_and(|d| d.len() == 64));
        assert_eq!(base, exec("service = \"a\"", "[\"cat\", \"/x\"]"));
        for other in [
            exec("service = \"b\"", "[\"cat\", \"/x\"]"),
            exec("service = \"a\"", "[\"cat\", \"/y\"]"),
            exec("service = \"a\"", "[\"cat /x\"]"),
            exec("service = \"a\"", "[\"cat\", \"/x\", \"\"]"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            Exercise::parse("00-t", MINIMAL).unwrap().exec_digest(),
            None
        );
    }

    #[test]
    fn names_are_dockers_names() {
        let setup = |name: &str| format!("{MINIMAL}[[setup.volumes]]\nname = \"{name}\"\n");
        let err = Exercise::parse(
            "00-t",
            &setup("harmless\\u001b[2K\\r  - volume scratch (0 files)"),
        )
        .unwrap_err();
        assert!(err.contains("is not a Docker name"), "{err}");
        assert!(
            err.contains("harmless\\x1b[2K\\r  - volume scratch"),
            "{err}"
        );
        Exercise::parse("00-t", &setup("ml-data_2.x")).unwrap();
        let mount = format!("{}[[setup.containers]]\nname = \"k\"\nimage = \"workbook/tools\"\nvolumes = [\"pgdata:/d\"]\n", setup("sv"));
        let err = Exercise::parse("00-t", &mount).unwrap_err();
        assert!(
            err.contains("mounts the exercise's own [[setup.volumes]] only"),
            "{err}"
        );
        Exercise::parse("00-t", &mount.replace("pgdata:/d", "sv:/d:ro")).unwrap();
    }

    #[test]
    fn titles_and_toml_errors_are_shown_inert() {
        let text = MINIMAL
            .replace("title = \"T\"", "title = \"T\\u001b]0;owned\\u0007\\r\\n\"")
            .replace("title = \"A\"", "title = \"A\\u009b2K\\u202e\"");
        let ex = Exercise::parse("00-t", &text).unwrap();
        assert_eq!(ex.title(), "T\\x1b]0;owned\\x07\\r\\n");
        assert_eq!(ex.steps()[0].title, "A\\u{9b}2K\\u{202e}");
        // A TOML error echoes the line at fault: inert too.
        let err = Exercise::parse("00-t", "format = 1\ntitle = \"a\u{1b}]0;x\u{7}\u{9b}\"\n")
            .unwrap_err();
        assert!(err.contains("title = \"a\\x1b]0;x\\x07\\u{9b}\""), "{err}");
        assert!(crate::ui::safe_text::is_inert(&err), "{err:?}");
    }

    #[test]
    fn parses_minimal_exercise() {
        let ex = Exercise::parse("00-t", MINIMAL).unwrap();
        assert_eq!(ex.steps().len(), 1);
        assert!(ex.data.resources.is_empty());
    }

    #[test]
    fn refuses_unknown_keys_and_versions() {
        let err = Exercise::parse(
            "00-t",
            &MINIMAL.replace("title = \"T\"", "title = \"T\"\ntitel = 1"),
        )
        .unwrap_err();
        assert!(err.contains("unknown field `titel`"), "{err}");
        let err =
            Exercise::parse("00-t", &MINIMAL.replace("format = 1", "format = 2")).unwrap_err();
        assert!(err.contains("format 2 is not supported"), "{err}");
        let err = Exercise::parse(
            "00-t",
            &MINIMAL.replace("name = \"v\"", "name = \"v\"\nsize = 3"),
        )
        .unwrap_err();
        assert!(err.contains("unknown field `size`"), "{err}");
    }

    #[test]
    fn refuses_duplicate_ids_and_dangling_mistakes() {
        let twice = format!(
            "{MINIMAL}{}",
            &MINIMAL[MINIMAL.find("[[steps]]").unwrap()..]
        );
        assert!(Exercise::parse("00-t", &twice)
            .unwrap_err()
            .contains("used twice"));
        let dangling =
            format!("{MINIMAL}\n[[mistakes]]\nid=\"m\"\nstep=\"zz\"\nrun=\"true\"\nexpect=\"x\"\n");
        assert!(Exercise::parse("00-t", &dangling)
            .unwrap_err()
            .contains("does not exist"));
    }
}
