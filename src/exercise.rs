//! The exercise data format (`exercises/NN-slug/exercise.toml`), version 1.
//!
//! An exercise is data: Markdown for the lesson, TOML for the steps and their checks, a shell
//! script for the solution. Unknown keys are refused so that a typo in an exercise is an error
//! at load time, not a check that silently never runs. See `exercises/FORMAT.md`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::checks::Check;
use crate::safe_text;

/// The format version this build understands.
pub const FORMAT_VERSION: u32 = 1;

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
    pub checks: Vec<Check>,
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
        let at = format!("exercises/{slug}/exercise.toml");
        let data: ExerciseFile =
            toml::from_str(text).map_err(|e| safe_text::owned(format!("{at}: {e}")))?;
        let mut ex = Exercise {
            slug: slug.to_string(),
            data,
        };
        ex.validate()?;
        let d = &mut ex.data;
        d.title = safe_text::line(&d.title).into_owned();
        d.summary = safe_text::line(&d.summary).into_owned();
        for step in &mut d.steps {
            step.title = safe_text::line(&step.title).into_owned();
        }
        for m in &mut d.mistakes {
            m.id = safe_text::line(&m.id).into_owned();
        }
        for v in &mut d.variants {
            v.id = safe_text::line(&v.id).into_owned();
        }
        Ok(ex)
    }

    fn validate(&self) -> Result<(), String> {
        let at = format!("exercises/{}/exercise.toml", self.slug);
        let d = &self.data;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(crate::safe_text::is_inert(&err), "{err:?}");
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
