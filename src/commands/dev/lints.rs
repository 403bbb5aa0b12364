//! The lints: slugs, each exercise against its lesson, solution and files, and the markers
//! of its lesson.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path};

use toml::{Spanned, Value};

use super::spans::{line_at, line_of_key, locate_strict_error, string, Input, Loose, Source};
use super::Problem;
use crate::curriculum::exercise::{Exercise, ExerciseFile, FORMAT_VERSION};
use crate::curriculum::lesson::{END_MARKER, STEP_MARKER};

pub(super) fn exercise_number(slug: &str) -> Option<u32> {
    slug.split('-').next()?.parse().ok()
}

pub(super) fn slug_problem(slug: &str) -> Option<String> {
    let ok = slug.split_once('-').is_some_and(|(n, rest)| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
            && !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    (!ok).then(|| {
        format!(
            "folder name `{slug}` is not `NN-slug` (a number, a dash, then lowercase letters, digits and dashes, \
             e.g. `02-bind-mounts`): learners pick exercises by that number"
        )
    })
}

/// The problems of one file, found in its text.
pub(super) struct Lint<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) problems: Vec<Problem>,
}

impl Lint<'_> {
    pub(super) fn push(&mut self, line: Option<usize>, warning: bool, message: String) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            line,
            warning,
            message,
        });
    }

    pub(super) fn at(&mut self, offset: Option<usize>, message: String) {
        let line = offset.map(|o| line_at(self.text, o));
        self.push(line, false, message);
    }

    pub(super) fn warn_at_line(&mut self, line: usize, message: String) {
        self.push(Some(line), true, message);
    }

    pub(super) fn at_line(&mut self, line: usize, message: String) {
        self.push(Some(line), false, message);
    }
}

pub(super) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A path that stays inside its folder: relative, with no `..`.
pub(super) fn inside(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `./data/` -> `data`.
pub(super) fn normalize(path: &str) -> String {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub(super) fn lint_exercise(source: &Source, input: &Input) -> Vec<Problem> {
    let text = input.text.as_str();
    let mut lint = Lint {
        file: &input.toml_file,
        text,
        problems: Vec::new(),
    };

    // The loader's own reading: unknown keys, missing keys, wrong types, bad check kinds.
    let (strict, strict_error) = match toml::from_str::<ExerciseFile>(text) {
        Ok(data) => (Some(data), None),
        Err(e) => (None, Some((e.span(), one_line(e.message())))),
    };
    let loose: Loose = match toml::from_str(text) {
        Ok(l) => l,
        Err(e) => {
            match strict_error {
                Some((span, message)) => lint.at(span.map(|s| s.start), message),
                None => lint.at(e.span().map(|s| s.start), one_line(e.message())),
            }
            return lint.problems;
        }
    };
    if let Some((span, message)) = &strict_error {
        let (line, message) = locate_strict_error(text, &loose, span.clone(), message);
        lint.problems.push(Problem {
            file: input.toml_file.clone(),
            line,
            warning: false,
            message,
        });
    }

    if let Some(f) = &loose.format {
        if let Some(n) = f.get_ref().as_integer() {
            if n != i64::from(FORMAT_VERSION) {
                lint.at(
                    Some(f.span().start),
                    format!(
                        "format {n} is not supported: this workbook reads format {FORMAT_VERSION}"
                    ),
                );
            }
        }
    }
    if let Some((title, at)) = string(&loose.title) {
        if title.trim().is_empty() {
            lint.at(Some(at), "the exercise's title is empty".to_string());
        }
    }
    let steps_missing = strict_error
        .as_ref()
        .is_some_and(|(_, m)| m.contains("`steps`"));
    if loose.steps.is_empty() && !steps_missing {
        lint.at(
            None,
            "the exercise has no [[steps]]: it needs at least one".to_string(),
        );
    }

    // Steps: ids, texts, checks.
    let mut step_ids: Vec<(String, usize)> = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (i, step) in loose.steps.iter().enumerate() {
        let s = step.get_ref();
        let id = string(&s.id);
        let name = match id {
            Some((id, _)) => format!("step `{id}`"),
            None => format!("step {}", i + 1),
        };
        if let Some((id, at)) = id {
            let line = line_at(text, at);
            if !valid_id(id) {
                lint.at_line(
                    line,
                    format!(
                        "step id `{id}` must be non-empty and use only letters, digits and '-'"
                    ),
                );
            }
            if let Some(first) = first_line.get(id) {
                lint.at_line(
                    line,
                    format!(
                        "step id `{id}` is used twice (first at line {first}): progress is stored by step id, \
                         so each must be unique"
                    ),
                );
            } else {
                first_line.insert(id.to_string(), line);
                step_ids.push((id.to_string(), line));
            }
        }
        for (key, value) in [("title", &s.title), ("task", &s.task), ("hint", &s.hint)] {
            if let Some((v, at)) = string(value) {
                if v.trim().is_empty() {
                    lint.at(Some(at), format!("{name} has an empty {key}"));
                }
            }
        }
        if s.checks.is_empty() {
            let at = string(&s.id).map(|(_, at)| at).unwrap_or(step.span().start);
            lint.at(
                Some(at),
                format!("{name} has no checks: add at least one [[steps.checks]]"),
            );
        }
        // Each check as the loader sees it (only when the whole file loads, so that the
        // loader's error above is not said twice).
        if let Some(data) = &strict {
            if let Some(typed) = data.steps.get(i) {
                for (j, check) in typed.checks.iter().enumerate() {
                    if let Err(e) = check.validate() {
                        let at = s.checks.get(j).map(|c| c.span().start);
                        lint.at(at, format!("{name}: {e}"));
                    }
                }
            }
        }
    }

    // Mistakes and variants.
    let known: Vec<&str> = step_ids.iter().map(|(id, _)| id.as_str()).collect();
    let mut with_mistake: HashSet<String> = HashSet::new();
    for (what, items) in [("mistake", &loose.mistakes), ("variant", &loose.variants)] {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for item in items.iter() {
            let it = item.get_ref();
            let id = string(&it.id);
            let name = match id {
                Some((id, _)) => format!("{what} `{id}`"),
                None => format!("a {what}"),
            };
            if let Some((id, at)) = id {
                let line = line_at(text, at);
                if let Some(first) = seen.get(id) {
                    lint.at_line(
                        line,
                        format!("{what} id `{id}` is used twice (first at line {first})"),
                    );
                } else {
                    seen.insert(id.to_string(), line);
                }
            }
            if let Some((run, at)) = string(&it.run) {
                if run.trim().is_empty() {
                    lint.at(Some(at), format!("{name} has an empty run script"));
                }
            }
            if what != "mistake" {
                continue;
            }
            if let Some((expect, at)) = string(&it.expect) {
                if expect.trim().is_empty() {
                    lint.at(
                        Some(at),
                        format!("{name} has an empty expect: it would match any message"),
                    );
                }
            }
            if let Some((step, at)) = string(&it.step) {
                if known.contains(&step) {
                    with_mistake.insert(step.to_string());
                } else if !known.is_empty() {
                    let hint = crate::util::suggest::closest(step, known.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_else(|| format!(" (the steps are {})", known.join(", ")));
                    lint.at(
                        Some(at),
                        format!("{name} names step `{step}`, which does not exist{hint}"),
                    );
                }
            }
        }
    }
    for (id, line) in &step_ids {
        if !with_mistake.contains(id) {
            lint.at_line(
                *line,
                format!(
                    "step `{id}` has no mistake: add a [[mistakes]] with step = \"{id}\", a realistic \
                     wrong state that must fail this step"
                ),
            );
        }
    }

    // Files the checks read on the host.
    let starter = source.starter(input);
    let declared: Vec<String> = loose
        .resources
        .as_ref()
        .and_then(|r| r.get_ref().get("files"))
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter_map(Value::as_str)
                .map(normalize)
                .collect()
        })
        .unwrap_or_default();
    let is_declared = |p: &str| {
        declared
            .iter()
            .any(|d| p == d || p.starts_with(&format!("{d}/")))
    };
    for step in &loose.steps {
        let s = step.get_ref();
        let name = step_name(&s.id);
        for check in &s.checks {
            for (key, path, folder) in host_paths(check.get_ref()) {
                if !inside(&path) {
                    continue; // the loader refuses these, or they are not the exercise's
                }
                let p = normalize(&path);
                let parent = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                let ok = if folder {
                    starter.has_dir(&p) || starter.has_file(&p) || is_declared(&p)
                } else {
                    starter.has_file(&p)
                        || starter.has_dir(&p)
                        || is_declared(&p)
                        || (!parent.is_empty() && starter.has_dir(parent))
                };
                if !ok {
                    let line = line_of_key(text, check.span(), key);
                    let message = if folder {
                        format!(
                            "{name}: `{key}` names the folder `{path}`, which is not among the exercise's \
                             starter files ({}); add it (with a file in it) or fix the path",
                            input.folder.join(&p).display()
                        )
                    } else {
                        format!(
                            "{name}: `{key}` names the host file `{path}`, which is not a starter file, not in a \
                             starter folder, and not declared in [resources] files (so `workbook reset` would \
                             not remove it)"
                        )
                    };
                    lint.at_line(line, message);
                }
            }
        }
    }

    // Exec checks: only in the exercise's own containers, and commands that only read.
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut own = names(
        loose
            .resources
            .as_ref()
            .and_then(|r| r.get_ref().get("containers")),
    );
    if let Some(list) = loose
        .setup
        .as_ref()
        .and_then(|s| s.get_ref().get("containers"))
        .and_then(Value::as_array)
    {
        own.extend(
            list.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    for step in &loose.steps {
        let s = step.get_ref();
        let name = step_name(&s.id);
        for check in &s.checks {
            let c = check.get_ref();
            if c.get("kind").and_then(Value::as_str) != Some("exec") {
                continue;
            }
            if let Some(container) = c.get("container").and_then(Value::as_str) {
                if !own.iter().any(|o| o == container) {
                    lint.at_line(
                        line_of_key(text, check.span(), "container"),
                        format!(
                            "{name}: `container = \"{container}\"` is not a container of this exercise: an exec \
                             check runs only in a container the exercise declares ([resources].containers) or \
                             sets up ([[setup.containers]]), or in a compose `service` of the exercise folder"
                        ),
                    );
                }
            }
            let argv = names(c.get("command"));
            if let Some(why) = crate::curriculum::exercise::looks_like_write(&argv) {
                lint.warn_at_line(
                    line_of_key(text, check.span(), "command"),
                    format!(
                        "{name}: `command` looks like it writes ({why}): an exec check runs at every grading \
                         (check, next, each watch re-grade), so it should only read"
                    ),
                );
            }
        }
    }

    // The lesson and its step markers.
    if let Some((file, at)) = string(&loose.lesson) {
        if let Err(e) = crate::curriculum::exercise::check_lesson_name(file) {
            lint.at(Some(at), e.to_string());
        } else {
            let (path, lesson) = source.lesson(file);
            match lesson {
                Err(why) => lint.at(Some(at), format!("lesson file {} {why}", path.display())),
                Ok(md) => {
                    let (in_toml, in_lesson) = lint_markers(&md, &path, &step_ids);
                    for (line, message) in in_toml {
                        lint.at_line(line, message);
                    }
                    lint.problems.extend(in_lesson);
                }
            }
        }
    }

    // The reference solution.
    let (solution, exists) = source.solution(&input.slug);
    if !exists {
        lint.at(
            None,
            format!(
                "no reference solution: {} does not exist (every exercise needs one; the tests run it)",
                solution.display()
            ),
        );
    }

    // Whatever else the loader refuses (setup containers, resource paths...).
    if lint.problems.iter().all(|p| p.warning) {
        if let Err(e) = Exercise::parse(&input.slug, text) {
            let e = e.to_string();
            let prefix = format!("exercises/{}/exercise.toml: ", input.slug);
            let message = one_line(e.strip_prefix(&prefix).unwrap_or(&e));
            let line = message
                .split('`')
                .nth(1)
                .and_then(|token| text.find(&format!("\"{token}\"")))
                .map(|at| line_at(text, at));
            lint.problems.push(Problem {
                file: input.toml_file.clone(),
                line,
                warning: false,
                message,
            });
        }
    }
    lint.problems
}

/// Host paths a check reads: (key, path, whether it names a folder the exercise ships).
pub(super) fn host_paths(check: &Value) -> Vec<(&'static str, String, bool)> {
    let get = |k: &str| check.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    match check.get("kind").and_then(Value::as_str).unwrap_or("") {
        "host-file" if check.get("exists").and_then(Value::as_bool) != Some(false) => {
            out.extend(get("path").map(|p| ("path", p, false)));
        }
        "backup-archive" => out.extend(get("path").map(|p| ("path", p, false))),
        "volume-matches-archive" => out.extend(get("archive").map(|p| ("archive", p, false))),
        "volume-created-after" => out.extend(get("host_file").map(|p| ("host_file", p, false))),
        "mount" if check.get("type").and_then(Value::as_str) == Some("bind") => {
            out.extend(get("source").map(|p| ("source", p, true)));
        }
        "volume" => {
            if let Some(t) = check.get("option_host_path").and_then(Value::as_table) {
                for v in t.values().filter_map(Value::as_str) {
                    out.push(("option_host_path", v.to_string(), true));
                }
            }
        }
        _ => {}
    }
    out
}

/// The markers of a lesson against the step ids: problems to report in the exercise.toml (at a
/// step's line) and problems in the lesson itself.
pub(super) fn lint_markers(
    md: &str,
    lesson: &Path,
    steps: &[(String, usize)],
) -> (Vec<(usize, String)>, Vec<Problem>) {
    let mut in_toml = Vec::new();
    let mut in_lesson = Vec::new();
    let mut problem = |line: usize, message: String| {
        in_lesson.push(Problem {
            file: lesson.to_path_buf(),
            line: Some(line),
            warning: false,
            message,
        })
    };
    let ids: Vec<&str> = steps.iter().map(|(id, _)| id.as_str()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<(String, usize)> = Vec::new();
    for (n, raw) in md.lines().enumerate() {
        let line = n + 1;
        let t = raw.trim();
        if let Some(rest) = t.strip_prefix(STEP_MARKER) {
            if !rest.ends_with("-->") {
                problem(
                    line,
                    "a step marker must end with `-->` on its line: `<!-- workbook:step ID -->`"
                        .to_string(),
                );
            }
            let id = rest.trim_end_matches("-->").trim();
            if let Some(first) = seen.get(id) {
                problem(
                    line,
                    format!(
                        "second marker for step `{id}` (the first is at line {first}): only the first part is shown"
                    ),
                );
                continue;
            }
            seen.insert(id.to_string(), line);
            if ids.contains(&id) {
                order.push((id.to_string(), line));
            } else {
                let hint = match crate::util::suggest::closest(id, ids.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if ids.is_empty() => "it has no steps".to_string(),
                    None => format!("the steps are {}", ids.join(", ")),
                };
                problem(
                    line,
                    format!("marker for step `{id}`, which the exercise does not have ({hint})"),
                );
            }
        } else if t != END_MARKER && t.contains("<!--") && t.contains("workbook:") {
            problem(
                line,
                format!(
                    "`{t}` is not a marker the workbook reads: write `<!-- workbook:step ID -->` or \
                     `<!-- workbook:end -->` alone on a line"
                ),
            );
        }
    }
    let mut missing = false;
    for (id, line) in steps {
        if !seen.contains_key(id) {
            missing = true;
            in_toml.push((
                *line,
                format!(
                    "step `{id}` has no part in {}: add `<!-- workbook:step {id} -->` before its text",
                    lesson.display()
                ),
            ));
        }
    }
    if !missing {
        let expected = steps.iter().map(|(id, _)| id);
        if let Some(((id, line), want)) = order
            .iter()
            .zip(expected)
            .find(|((got, _), want)| got != *want)
        {
            in_lesson.push(Problem {
                file: lesson.to_path_buf(),
                line: Some(*line),
                warning: false,
                message: format!(
                    "the part of step `{id}` comes where the part of `{want}` should: keep the parts in \
                     the order of the steps (`workbook lesson` shows them in that order)"
                ),
            });
        }
    }
    (in_toml, in_lesson)
}

/// How a lint names a step: "step `ID`", or "a step" when it has no id.
fn step_name(id: &Option<Spanned<Value>>) -> String {
    match string(id) {
        Some((id, _)) => format!("step `{id}`"),
        None => "a step".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::dev::spans::sibling;
    use std::path::Path;

    #[test]
    fn slugs_and_paths() {
        assert!(slug_problem("02-bind-mounts").is_none());
        assert!(slug_problem("bind-mounts").is_some());
        assert!(slug_problem("02_Bind").is_some());
        assert_eq!(normalize("./data/"), "data");
        assert!(inside("data/x.txt"));
        assert!(!inside("../x"));
        assert!(!inside("/etc/passwd"));
        assert_eq!(
            sibling(Path::new("exercises"), "lessons"),
            Path::new("lessons")
        );
        assert_eq!(
            sibling(Path::new("/r/exercises/"), "lessons"),
            Path::new("/r/lessons")
        );
    }

    #[test]
    fn markers_missing_unknown_duplicate_and_out_of_order() {
        let steps = vec![("a".to_string(), 10), ("b".to_string(), 20)];
        let lesson = Path::new("lessons/x.md");
        let (toml, md) = lint_markers(
            "intro\n<!-- workbook:step a -->\n<!-- workbook:step zz -->\n<!-- workbook:step a -->\n",
            lesson,
            &steps,
        );
        assert_eq!(toml.len(), 1);
        assert_eq!(toml[0].0, 20);
        assert!(toml[0].1.contains("step `b` has no part"), "{:?}", toml);
        let lines: Vec<_> = md.iter().map(|p| p.line.unwrap()).collect();
        assert_eq!(lines, vec![3, 4], "{md:?}");
        let (toml, md) = lint_markers(
            "<!-- workbook:step b -->\n<!-- workbook:step a -->\n<!--workbook:end-->\n",
            lesson,
            &steps,
        );
        assert!(toml.is_empty());
        assert_eq!(md.len(), 2, "{md:?}");
        assert!(md[0].message.contains("not a marker"), "{md:?}");
        assert!(md[1].message.contains("order"), "{md:?}");
    }
}
