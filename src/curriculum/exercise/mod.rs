//! The exercise data format (`exercises/NN-slug/exercise.toml`), version 1.
//!
//! An exercise is data: Markdown for the lesson, TOML for the steps and their checks, a shell
//! script for the solution. Unknown keys are refused so that a typo in an exercise is an error
//! at load time, not a check that silently never runs. See `exercises/FORMAT.md`.

use crate::util::error::Result;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::checks::capability::Capability;
use crate::checks::Check;
use crate::ui::safe_text;

/// The format version this build understands.
pub const FORMAT_VERSION: u32 = 1;

pub mod bounds;

mod exec;
#[cfg(test)]
mod testkit;
mod validate;

use bounds::{check_bounds, check_data_bounds};

pub use exec::{looks_like_write, ExecCommand};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseFile {
    pub format: u32,
    pub title: String,
    /// File name of the lesson under `lessons/`.
    pub lesson: String,
    #[serde(default)]
    pub summary: String,
    /// Lab images beyond the three every exercise has (`["workbook/postgres"]`): built by
    /// `workbook setup`, and before the exercise is shown or verified.
    #[serde(default)]
    pub images: Vec<String>,
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
    /// What the step needs of the engine beyond what every engine does
    /// ([`crate::checks::capability`]); a check of this machine's files adds
    /// [`Capability::HostFiles`] by itself ([`Step::needs_of_engine`]).
    #[serde(default)]
    pub requires: Vec<Capability>,
}

impl Step {
    /// What the step needs of the engine: what its data declares, and
    /// [`Capability::HostFiles`] when a check compares with this machine's files.
    pub fn needs_of_engine(&self) -> Vec<Capability> {
        let mut needs = self.requires.clone();
        if self.checks.iter().any(Check::host_files) && !needs.contains(&Capability::HostFiles) {
            needs.push(Capability::HostFiles);
        }
        needs
    }
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
    pub fn parse(slug: &str, text: &str) -> Result<Exercise> {
        check_slug(slug)?;
        let at = format!("exercises/{slug}/exercise.toml");
        if text.len() as u64 > bounds::EXERCISE_FILE {
            return Err(format!(
                "{at}: the file is {} bytes: an exercise.toml is at most {} bytes",
                text.len(),
                bounds::EXERCISE_FILE
            )
            .into());
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

    pub fn title(&self) -> &str {
        &self.data.title
    }

    /// The extra lab images it declares (checked when it loads).
    pub fn lab_images(&self) -> Vec<&'static str> {
        self.data
            .images
            .iter()
            .filter_map(|i| crate::docker::images::lab_image(i))
            .collect()
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

/// Docker's charset for volume and container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_docker_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// An exercise's folder name: `[0-9a-z][0-9a-z-]*` (learners pick exercises by its number,
/// `NN-slug`), so it can never be the workspace's own state (`.workbook`), its `README.md`, or
/// a hidden file.
pub fn check_slug(slug: &str) -> Result<()> {
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
    ).into())
}

/// A lesson is a plain file name under `lessons/`: no folder, no way out of it.
pub fn check_lesson_name(lesson: &str) -> Result<()> {
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
    ).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curriculum::exercise::testkit::*;

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
                err.to_string()
                    .contains("must be a plain file name under lessons/"),
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
                err.to_string()
                    .contains("an exercise folder is named `NN-slug`"),
                "{bad}: {err}"
            );
            assert!(crate::ui::safe_text::is_inert(&err.to_string()), "{err:?}");
        }
        for good in ["01-named-volumes", "7-x", "a"] {
            Exercise::parse(good, MINIMAL).unwrap();
        }
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
        assert!(
            err.to_string()
                .contains("title = \"a\\x1b]0;x\\x07\\u{9b}\""),
            "{err}"
        );
        assert!(crate::ui::safe_text::is_inert(&err.to_string()), "{err:?}");
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
        assert!(err.to_string().contains("unknown field `titel`"), "{err}");
        let err =
            Exercise::parse("00-t", &MINIMAL.replace("format = 1", "format = 2")).unwrap_err();
        assert!(
            err.to_string().contains("format 2 is not supported"),
            "{err}"
        );
        let err = Exercise::parse(
            "00-t",
            &MINIMAL.replace("name = \"v\"", "name = \"v\"\nsize = 3"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `size`"), "{err}");
    }
}
