//! What an exercise may hold, checked when it loads (see `exercises/FORMAT.md`): a pack can
//! make the workbook allocate, write or show only so much. Each refusal names the bound.

use super::{ExerciseFile, Resources};
use crate::ui::safe_text;
use crate::util::error::Result;

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

/// Tables whose keys are the author's (labels, driver options): their values are values.
pub(super) const FREE_TABLES: [&str; 5] = [
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
        | "of_compose_volume" | "kind" => (NAME, "a name"),
        _ => (VALUE, "a value"),
    }
}

/// Every list and string of the exercise outside its checks within its bound. Where a value
/// is (`steps[2].title`) is only spelt out for a refusal.
pub(super) fn check_data_bounds(d: &ExerciseFile) -> Result<()> {
    fn count<T>(what: impl Fn() -> String, items: &[T], max: usize) -> Result<()> {
        if items.len() > max {
            return Err(format!("`{}` has {} entries: at most {max}", what(), items.len()).into());
        }
        Ok(())
    }
    fn chars(what: impl Fn() -> String, s: &str, max: usize, called: &str) -> Result<()> {
        // A string of `max` bytes or fewer has `max` characters or fewer: no count needed.
        if s.len() <= max {
            return Ok(());
        }
        let n = s.chars().count();
        if n > max {
            return Err(format!(
                "`{}` is {n} characters long: {called} is at most {max} characters",
                what()
            )
            .into());
        }
        Ok(())
    }
    let at = |s: &str| s.to_string();
    let name = |what: &dyn Fn() -> String, s: &str| chars(what, s, NAME, "a name");
    let names = |what: &dyn Fn() -> String, list: &[String]| {
        count(what, list, LIST)?;
        list.iter().try_for_each(|n| name(what, n))
    };
    names(&|| at("images"), &d.images)?;
    let resources = |what: &dyn Fn() -> String, r: &Resources| {
        names(&|| format!("{}.volumes", what()), &r.volumes)?;
        names(&|| format!("{}.containers", what()), &r.containers)?;
        names(
            &|| format!("{}.compose_volumes", what()),
            &r.compose_volumes,
        )?;
        let files = || format!("{}.files", what());
        count(files, &r.files, LIST)?;
        r.files
            .iter()
            .try_for_each(|f| chars(files, f, VALUE, "a path"))
    };
    chars(|| at("title"), &d.title, TITLE, "a title")?;
    name(&|| at("lesson"), &d.lesson)?;
    chars(|| at("summary"), &d.summary, TEXT, "a text")?;
    resources(&|| at("resources"), &d.resources)?;
    count(|| at("setup.volumes"), &d.setup.volumes, SETUP_VOLUMES)?;
    for (i, v) in d.setup.volumes.iter().enumerate() {
        let here = |field: &str| format!("setup.volumes[{i}].{field}");
        name(&|| here("name"), &v.name)?;
        if v.labels.len() > LIST {
            return Err(format!(
                "`{}` has {} entries: at most {}",
                here("labels"),
                v.labels.len(),
                LIST
            )
            .into());
        }
        for (k, val) in &v.labels {
            name(&|| here("labels"), k)?;
            chars(|| here(&format!("labels.{k}")), val, VALUE, "a value")?;
        }
        count(|| here("files"), &v.files, SEED_FILES)?;
        for (j, f) in v.files.iter().enumerate() {
            let here = |field: &str| format!("setup.volumes[{i}].files[{j}].{field}");
            chars(|| here("path"), &f.path, VALUE, "a path")?;
            if let Some(c) = &f.content {
                if c.len() > CONTENT {
                    return Err(format!(
                        "`{}` is {} bytes long: a seed file's content is at most {} bytes (1 MiB)",
                        here("content"),
                        c.len(),
                        CONTENT
                    )
                    .into());
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
        SETUP_CONTAINERS,
    )?;
    for (i, c) in d.setup.containers.iter().enumerate() {
        let here = |field: &str| format!("setup.containers[{i}].{field}");
        name(&|| here("name"), &c.name)?;
        name(&|| here("image"), &c.image)?;
        names(&|| here("volumes"), &c.volumes)?;
        count(|| here("command"), &c.command, LIST)?;
        for a in &c.command {
            chars(|| here("command"), a, VALUE, "an argument")?;
        }
    }
    count(|| at("steps"), &d.steps, STEPS)?;
    for (i, st) in d.steps.iter().enumerate() {
        let here = |field: &str| format!("steps[{i}].{field}");
        name(&|| here("id"), &st.id)?;
        chars(|| here("title"), &st.title, TITLE, "a title")?;
        chars(|| here("task"), &st.task, TEXT, "a text")?;
        chars(|| here("hint"), &st.hint, TEXT, "a text")?;
        count(|| here("checks"), &st.checks, CHECKS)?;
    }
    count(|| at("variants"), &d.variants, VARIANTS)?;
    for (i, v) in d.variants.iter().enumerate() {
        let here = |field: &str| format!("variants[{i}].{field}");
        name(&|| here("id"), &v.id)?;
        chars(|| here("run"), &v.run, TEXT, "a script")?;
        resources(&|| here("resources"), &v.resources)?;
    }
    count(|| at("mistakes"), &d.mistakes, MISTAKES)?;
    for (i, m) in d.mistakes.iter().enumerate() {
        let here = |field: &str| format!("mistakes[{i}].{field}");
        name(&|| here("id"), &m.id)?;
        name(&|| here("step"), &m.step)?;
        chars(|| here("run"), &m.run, TEXT, "a script")?;
        chars(|| here("expect"), &m.expect, VALUE, "a value")?;
        resources(&|| here("resources"), &m.resources)?;
    }
    Ok(())
}

/// Every list and string of a check's value within its bound; `key` is the nearest table key.
/// A refusal names where the value is (`labels.tier`), spelt out only then.
pub(super) fn check_bounds(value: &toml::Value, key: &str) -> Result<()> {
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
                if items.len() > LIST {
                    return Err((
                        Vec::new(),
                        format!("has {} entries: at most {}", items.len(), LIST),
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
                if t.len() > LIST {
                    return Err((
                        Vec::new(),
                        format!("has {} keys: at most {}", t.len(), LIST),
                    ));
                }
                let free = FREE_TABLES.contains(&key);
                for (k, v) in t {
                    if k.len() > NAME && k.chars().count() > NAME {
                        return Err((
                            Vec::new(),
                            format!(
                                "has a key {} characters long: a key is at most {}",
                                k.chars().count(),
                                NAME
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
    over(value, key)
        .map_err(|(path, why)| {
            let path: String = path.iter().rev().map(String::as_str).collect();
            let path = path.strip_prefix('.').unwrap_or(&path);
            if path.is_empty() {
                format!("the check {why}")
            } else {
                format!("`{}` {why}", safe_text::line(path))
            }
        })
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use crate::curriculum::exercise::testkit::*;
    use crate::curriculum::exercise::{bounds, Exercise};

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
            let err = Exercise::parse("00-t", &text).unwrap_err().to_string();
            assert!(err.starts_with("exercises/00-t/exercise.toml: ") || err.starts_with("exercises/00-t/exercise.toml:"), "{err}");
            assert!(err.to_string().contains(wanted), "wanted {wanted:?} in\n{err}");
        }
        // A check refused for a size keeps its position in the file.
        let err = Exercise::parse(
            "00-t",
            &with_check(&format!(
                "  kind = \"volume\"\n  name = \"{}\"\n",
                long(300)
            )),
        )
        .unwrap_err()
        .to_string();
        assert!(err.to_string().contains("line 10"), "{err}");
        // The bounds leave room: every built-in exercise is far inside them.
        assert!(crate::curriculum::catalog::exercises().unwrap().len() >= 11);
    }
}
