//! The lessons as an mdBook, from the same data as the terminal: the preprocessor behind the
//! `mdbook-workbook` binary (`book.toml` runs it).
//!
//! mdBook runs `mdbook-workbook supports RENDERER` (exit 0: yes), then sends `[context, book]`
//! as JSON on stdin and reads the book back on stdout. The JSON is handled as a
//! [`serde_json::Value`], so both shapes work: mdBook 0.5 lists the book's chapters under `items`,
//! 0.4 under `sections`; a chapter's children are under `sub_items` (or `items`), at any depth.
//! For each chapter:
//!
//! - a lesson (the `lesson` file of an exercise) gets each step's task box from the exercise
//!   data right after that step's part, that is, before the next `<!-- workbook:step ID -->`
//!   marker, before `<!-- workbook:end -->`, or at the end; the page is put together with
//!   [`Lesson::parse`], exactly as `workbook lesson` puts it together in the terminal;
//! - a line `{{#workbook-steps SLUG}}` becomes the numbered task boxes of every step of that
//!   exercise (the terminal drops such lines: see [`crate::curriculum::lesson`]);
//! - relative links (`[x](other.md)`, `other.md#anchor`) must name a file of the book's folder.
//!
//! Any problem fails the build with `error: lessons/FILE: ...` lines on stderr.

use crate::util::error::Result;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag};
use serde_json::{Map, Value};

use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::{Exercise, Step};
use crate::curriculum::lesson::{Lesson, STEPS_DIRECTIVE};
use crate::ui::output::out;

/// The environment variable naming a community pack to build the book from (`WORKBOOK_PACK=DIR`).
pub const PACK_ENV: &str = "WORKBOOK_PACK";

const USAGE: &str = "usage: mdbook-workbook [supports RENDERER]\n\
    The mdBook preprocessor of the workbook: `mdbook build` runs it (see book.toml), with the \
    book as JSON on stdin.\n\
    WORKBOOK_PACK=DIR takes the exercises from a community pack.\n";

/// The `mdbook-workbook` binary: `supports RENDERER`, or the preprocessing of stdin to stdout.
/// Returns the exit code: 0 done, 1 the book has problems (printed on stderr), 2 bad usage.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // Every renderer: what the preprocessor writes is plain Markdown.
        Some("supports") => return 0,
        None => {}
        Some("-h" | "--help") => {
            out(USAGE);
            return 0;
        }
        Some(_) => {
            eprint!("{USAGE}");
            return 2;
        }
    }
    let catalog = match std::env::var_os(PACK_ENV) {
        Some(dir) => Catalog::pack(Path::new(&dir)),
        None => Catalog::embedded(),
    };
    let catalog = match catalog {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("error: cannot read the book from mdBook on stdin: {e}");
        return 1;
    }
    match preprocess(&input, &catalog) {
        Ok(book) => {
            out(&book);
            0
        }
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            1
        }
    }
}

/// Preprocesses mdBook's `[context, book]` JSON: the book JSON to hand back, or every problem
/// found (each `lessons/FILE: what`).
pub fn preprocess(input: &str, catalog: &Catalog) -> Result<String, Vec<String>> {
    let value: Value = serde_json::from_str(input).map_err(|e| {
        vec![format!(
            "mdBook sent input that is not JSON ({e}); run this preprocessor through `mdbook build`"
        )]
    })?;
    let Value::Array(mut parts) = value else {
        return Err(vec![
            "mdBook's input should be the JSON array [context, book]".to_string(),
        ]);
    };
    if parts.len() != 2 {
        return Err(vec![format!(
            "mdBook's input should be the JSON array [context, book], not {} elements",
            parts.len()
        )]);
    }
    let mut book = parts.pop().unwrap_or_default();
    let context = parts.pop().unwrap_or_default();
    if let Some(v) = context.get("mdbook_version").and_then(Value::as_str) {
        if !(v.starts_with("0.4.") || v.starts_with("0.5.")) {
            eprintln!("warning: mdbook-workbook was written for mdBook 0.4 and 0.5; this is {v}");
        }
    }
    let root = PathBuf::from(context.get("root").and_then(Value::as_str).unwrap_or("."));
    let src = context
        .pointer("/config/book/src")
        .and_then(Value::as_str)
        .unwrap_or("src");
    let book_dir = BookDir {
        path: root.join(src),
        label: src
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string(),
    };

    let mut errors = Vec::new();
    let items = book_items(&mut book).map_err(|e| vec![e.to_string()])?;
    walk(items, &mut |chapter| {
        if let Err(mut e) = process_chapter(chapter, catalog, &book_dir) {
            errors.append(&mut e);
        }
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::to_string(&book).map_err(|e| vec![format!("cannot write the book as JSON: {e}")])
}

/// The book's folder of Markdown (`src` in book.toml), on disk and as named in messages.
struct BookDir {
    path: PathBuf,
    label: String,
}

impl BookDir {
    fn name(&self, file: &str) -> String {
        if self.label.is_empty() || self.label == "." {
            file.to_string()
        } else {
            format!("{}/{file}", self.label)
        }
    }
}

/// The top-level items of a book: `items` (mdBook 0.5) or `sections` (0.4).
fn book_items(book: &mut Value) -> Result<&mut Vec<Value>> {
    let Some(obj) = book.as_object_mut() else {
        return Err("mdBook's book should be a JSON object".into());
    };
    let key = if obj.contains_key("items") {
        "items"
    } else {
        "sections"
    };
    match obj.get_mut(key) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(
            "mdBook's book has neither `items` (mdBook 0.5) nor `sections` (0.4): \
             this mdBook version is not supported"
                .to_string()
                .into(),
        ),
    }
}

/// Calls `f` on every chapter (`{"Chapter": {...}}`), parents before their children, at any depth;
/// separators and part titles are left alone.
fn walk(items: &mut [Value], f: &mut dyn FnMut(&mut Map<String, Value>)) {
    for item in items {
        let Some(Value::Object(chapter)) = item.get_mut("Chapter") else {
            continue;
        };
        f(chapter);
        for key in ["sub_items", "items"] {
            if let Some(Value::Array(children)) = chapter.get_mut(key) {
                walk(children, f);
            }
        }
    }
}

fn process_chapter(
    chapter: &mut Map<String, Value>,
    catalog: &Catalog,
    dir: &BookDir,
) -> Result<(), Vec<String>> {
    // A draft chapter (no file yet) has no path and no content worth reading.
    let Some(file) = chapter
        .get("path")
        .and_then(Value::as_str)
        .map(|p| p.replace('\\', "/"))
    else {
        return Ok(());
    };
    let Some(content) = chapter.get("content").and_then(Value::as_str) else {
        return Ok(());
    };
    let new = render_chapter(&file, content, catalog, &dir.path).map_err(|e| {
        e.into_iter()
            .map(|e| format!("{}: {e}", dir.name(&file)))
            .collect::<Vec<_>>()
    })?;
    chapter.insert("content".to_string(), Value::String(new));
    Ok(())
}

/// One chapter's Markdown, as the book shows it. `file` is its path inside the book's folder
/// `src_dir`. The errors say what is wrong, without the file name.
pub fn render_chapter(
    file: &str,
    content: &str,
    catalog: &Catalog,
    src_dir: &Path,
) -> Result<String, Vec<String>> {
    let exercises = catalog.exercises().map_err(|e| vec![e.to_string()])?;
    let own = exercises.iter().find(|e| e.data.lesson == file);
    let (expanded, mut errors) = expand_directives(content, catalog, own);
    let page = match own {
        Some(ex) => match insert_steps(&expanded, ex, &check_command(catalog, ex)) {
            Ok(page) => page,
            Err(e) => {
                errors.push(e.to_string());
                expanded
            }
        },
        None => expanded,
    };
    for (dest, why) in broken_links(&page, file, src_dir) {
        errors.push(format!("broken link `{dest}`: {why}"));
    }
    if errors.is_empty() {
        Ok(page)
    } else {
        Err(errors)
    }
}

/// The command that checks an exercise: `workbook check SLUG`, with `--pack DIR` for a pack.
pub fn check_command(catalog: &Catalog, ex: &Exercise) -> String {
    match catalog.pack_dir() {
        Some(dir) => format!("workbook --pack {} check {}", dir.display(), ex.slug),
        None => format!("workbook check {}", ex.slug),
    }
}

/// The task box of a step: its title, task, a folded hint, and `check`, the command that checks
/// it. `number` is `(n, of)` where the box stands among all steps of the exercise.
pub fn step_block(check: &str, step: &Step, number: Option<(usize, usize)>) -> String {
    let title = step.title.trim();
    let head = match number {
        Some((n, of)) => format!("**Your task {n} of {of} — {title}**"),
        None => format!("**Your task — {title}**"),
    };
    let body = format!(
        "{head}\n\n{}\n\n<details><summary>Hint</summary>\n\n{}\n\n</details>\n\nCheck it: `{check}`",
        step.task.trim(),
        step.hint.trim()
    );
    // A block quote: a box without a heading, so the page's table of contents stays the lesson's.
    let mut quoted = String::from("\n");
    for line in body.lines() {
        if line.trim().is_empty() {
            quoted.push_str(">\n");
        } else {
            quoted.push_str("> ");
            quoted.push_str(line);
            quoted.push('\n');
        }
    }
    quoted.push('\n');
    quoted
}

/// The numbered task boxes of every step of an exercise.
pub fn all_steps(ex: &Exercise, check: &str) -> String {
    let of = ex.steps().len();
    ex.steps()
        .iter()
        .enumerate()
        .map(|(i, s)| step_block(check, s, Some((i + 1, of))))
        .collect()
}

/// The slug of a `{{#workbook-steps SLUG}}` line, `None` when the line is no directive, and an
/// error when it starts like one but is malformed.
fn directive(line: &str) -> Option<Result<&str>> {
    let trimmed = line.trim();
    let rest = trimmed.strip_prefix(STEPS_DIRECTIVE)?;
    let Some(inner) = rest.strip_suffix("}}") else {
        return Some(Err(format!(
            "`{trimmed}` is not a directive the book understands: write `{STEPS_DIRECTIVE} SLUG}}}}` alone on its line"
        ).into()));
    };
    let slug = inner.trim();
    if slug.is_empty() || slug.contains(char::is_whitespace) || !rest.starts_with(' ') {
        return Some(Err(format!(
            "`{trimmed}` is not a directive the book understands: write `{STEPS_DIRECTIVE} SLUG}}}}` with one exercise slug"
        ).into()));
    }
    Some(Ok(slug))
}

/// Expands `{{#workbook-steps SLUG}}` lines; the errors name unknown exercises.
fn expand_directives(
    content: &str,
    catalog: &Catalog,
    own: Option<&Exercise>,
) -> (String, Vec<String>) {
    let mut out = String::with_capacity(content.len());
    let mut errors = Vec::new();
    for line in content.split_inclusive('\n') {
        let Some(found) = directive(line) else {
            out.push_str(line);
            continue;
        };
        let slug = match found {
            Ok(slug) => slug,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let directive = line.trim();
        match catalog.find_exact(slug) {
            Some(ex) if own.is_some_and(|o| o.slug == ex.slug) => errors.push(format!(
                "{directive} names this lesson's own exercise, whose tasks the book already shows \
                 after each step: remove the line so that nothing is shown twice"
            )),
            Some(ex) => out.push_str(&all_steps(ex, &check_command(catalog, ex))),
            None => {
                let known: Vec<&str> = catalog.slugs().iter().map(String::as_str).collect();
                errors.push(format!(
                    "{directive} names no exercise; the exercises are: {}",
                    known.join(", ")
                ));
            }
        }
    }
    (out, errors)
}

/// A lesson page: the introduction, then for each step of the exercise (in the exercise's
/// order, as `workbook lesson` shows them) its part of the lesson followed by its task box, then
/// the closing part. Errors when a marker names a step the exercise does not have.
fn insert_steps(markdown: &str, ex: &Exercise, check: &str) -> Result<String> {
    let lesson = Lesson::parse(markdown);
    let ids: Vec<&str> = ex.steps().iter().map(|s| s.id.as_str()).collect();
    let unknown: Vec<&str> = lesson
        .steps
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| !ids.contains(id))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the marker <!-- workbook:step {} --> names no step of exercise {}; its steps are: {}",
            unknown.join(" / "),
            ex.slug,
            ids.join(", ")
        )
        .into());
    }
    let mut page = lesson.intro.clone();
    for step in ex.steps() {
        page.push_str(lesson.step(&step.id));
        page.push_str(&step_block(check, step, None));
    }
    page.push_str(&lesson.outro);
    Ok(page)
}

/// The relative links of a page (from `file` inside `src_dir`) whose target is not a file of the
/// book: `(link, why)`. Web links, mail links, site-absolute paths and in-page anchors are not
/// checked; for `other.md#anchor` the file is.
pub fn broken_links(markdown: &str, file: &str, src_dir: &Path) -> Vec<(String, String)> {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_FOOTNOTES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    let mut broken = Vec::new();
    for event in Parser::new_ext(markdown, opts) {
        let dest = match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => dest_url,
            _ => continue,
        };
        if let Some(why) = check_link(&dest, file, src_dir) {
            broken.push((dest.to_string(), why));
        }
    }
    broken
}

/// Why a link is broken, `None` when it is fine or not checked.
fn check_link(dest: &str, file: &str, src_dir: &Path) -> Option<String> {
    let dest = dest.trim();
    if dest.is_empty() || dest.starts_with('#') || dest.starts_with('/') {
        return None;
    }
    // A scheme (`https:`, `mailto:`) comes before any `/`, `?` or `#`.
    let first_special = dest.find(['/', '?', '#']).unwrap_or(dest.len());
    if dest[..first_special].contains(':') {
        return None;
    }
    let path = dest.split(['#', '?']).next().unwrap_or("");
    if path.is_empty() {
        return None;
    }
    let base = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut parts: Vec<String> = Vec::new();
    for c in base.join(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Some(format!(
                        "{path} is outside the book's folder, which holds every page of the book"
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    let rel = parts.join("/");
    let target = src_dir.join(&rel);
    if target.is_file() {
        return None;
    }
    // The rendered page of a chapter: `other.html` is `other.md`, `index.html` is `README.md`.
    if let Some(stem) = rel.strip_suffix(".html") {
        let readme = stem
            .strip_suffix("index")
            .filter(|dir| dir.is_empty() || dir.ends_with('/'))
            .map(|dir| src_dir.join(format!("{dir}README.md")));
        if src_dir.join(format!("{stem}.md")).is_file() || readme.is_some_and(|r| r.is_file()) {
            return None;
        }
    }
    if target.is_dir()
        && ["README.md", "index.md"]
            .iter()
            .any(|i| target.join(i).is_file())
    {
        return None;
    }
    let folder = src_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| src_dir.display().to_string());
    Some(format!("{folder}/{rel} does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(slug: &str, lesson: &str, steps: &[&str]) -> Exercise {
        let mut toml = format!("format = 1\ntitle = \"T\"\nlesson = \"{lesson}\"\n");
        for id in steps {
            toml.push_str(&format!(
                "[[steps]]\nid = \"{id}\"\ntitle = \"Title {id}\"\ntask = \"Task of {id}.\"\n\
                 hint = \"Hint of {id}:\\n\\n```sh\\ndocker volume create {id}\\n```\"\n\
                 [[steps.checks]]\nkind = \"volume\"\nname = \"v\"\n"
            ));
        }
        Exercise::parse(slug, &toml).unwrap()
    }

    /// A pack on disk: two exercises with lessons `01-a.md` and `02-b.md`.
    fn pack() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        for (slug, steps) in [("01-a", &["one", "two"][..]), ("02-b", &["solo"][..])] {
            let ex = dir.path().join("exercises").join(slug);
            std::fs::create_dir_all(&ex).unwrap();
            let mut toml = format!("format = 1\ntitle = \"T\"\nlesson = \"{slug}.md\"\n");
            for id in steps {
                toml.push_str(&format!(
                    "[[steps]]\nid = \"{id}\"\ntitle = \"Title {id}\"\ntask = \"Task of {id}.\"\nhint = \"Hint of {id}.\"\n\
                     [[steps.checks]]\nkind = \"volume\"\nname = \"v\"\n"
                ));
            }
            std::fs::write(ex.join("exercise.toml"), toml).unwrap();
        }
        let lessons = dir.path().join("lessons");
        std::fs::create_dir_all(lessons.join("sub")).unwrap();
        std::fs::write(lessons.join("01-a.md"), "# A\n").unwrap();
        std::fs::write(lessons.join("02-b.md"), "# B\n").unwrap();
        std::fs::write(lessons.join("sub/deep.md"), "# Deep\n").unwrap();
        let cat = Catalog::pack(dir.path()).unwrap();
        (dir, cat)
    }

    fn chapter(
        name: &str,
        path: &str,
        content: &str,
        children_key: &str,
        children: Vec<Value>,
    ) -> Value {
        let mut ch = serde_json::json!({
            "name": name, "content": content, "number": [1], "path": path,
            "source_path": path, "parent_names": []
        });
        ch[children_key] = Value::Array(children);
        serde_json::json!({ "Chapter": ch })
    }

    fn input(root: &Path, book: Value) -> String {
        serde_json::json!([
            {"root": root, "config": {"book": {"src": "lessons"}}, "renderer": "html", "mdbook_version": "0.5.4"},
            book
        ])
        .to_string()
    }

    #[test]
    fn walks_mdbook_05_items_at_any_depth() {
        let (dir, cat) = pack();
        let book = serde_json::json!({ "items": [
            chapter("A", "01-a.md", "# A\n", "sub_items", vec![
                chapter("Deep", "sub/deep.md", "# Deep\n{{#workbook-steps 02-b}}\n", "sub_items", vec![]),
            ]),
            "Separator",
            { "PartTitle": "More" },
            chapter("B", "02-b.md", "# B\n", "sub_items", vec![]),
        ]});
        let out: Value =
            serde_json::from_str(&preprocess(&input(dir.path(), book), &cat).unwrap()).unwrap();
        let items = out["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[1], "Separator");
        let a = items[0]["Chapter"]["content"].as_str().unwrap();
        assert!(
            a.contains("**Your task — Title one**") && a.contains("Title two"),
            "{a}"
        );
        let deep = items[0]["Chapter"]["sub_items"][0]["Chapter"]["content"]
            .as_str()
            .unwrap();
        assert!(deep.contains("**Your task 1 of 1 — Title solo**"), "{deep}");
        assert!(!deep.contains("workbook-steps"));
        let b = items[3]["Chapter"]["content"].as_str().unwrap();
        // A pack's exercise is checked with `--pack`.
        let check = format!(
            "Check it: `workbook --pack {} check 02-b`",
            dir.path().display()
        );
        assert!(b.contains(&check), "{b}");
    }

    #[test]
    fn walks_mdbook_04_sections_and_keeps_unknown_fields() {
        let (dir, cat) = pack();
        let book = serde_json::json!({ "sections": [
            chapter("A", "01-a.md", "# A\n", "sub_items", vec![
                chapter("B", "02-b.md", "# B\n", "sub_items", vec![]),
            ]),
        ], "__non_exhaustive": null });
        let out: Value =
            serde_json::from_str(&preprocess(&input(dir.path(), book), &cat).unwrap()).unwrap();
        assert!(out.as_object().unwrap().contains_key("__non_exhaustive"));
        let b = out["sections"][0]["Chapter"]["sub_items"][0]["Chapter"]["content"]
            .as_str()
            .unwrap();
        assert!(b.contains("Title solo"), "{b}");
        // Children under `items` (a chapter of 0.5) are walked too.
        let book = serde_json::json!({ "items": [
            chapter("Deep", "sub/deep.md", "x\n", "items", vec![
                chapter("B", "02-b.md", "# B\n", "items", vec![]),
            ]),
        ]});
        let out: Value =
            serde_json::from_str(&preprocess(&input(dir.path(), book), &cat).unwrap()).unwrap();
        let b = out["items"][0]["Chapter"]["items"][0]["Chapter"]["content"]
            .as_str()
            .unwrap();
        assert!(b.contains("Title solo"), "{b}");
    }

    #[test]
    fn refuses_what_is_not_a_book() {
        let (dir, cat) = pack();
        assert!(preprocess("nope", &cat).is_err());
        assert!(preprocess("[1, 2, 3]", &cat).is_err());
        let e = preprocess(
            &input(dir.path(), serde_json::json!({"chapters": []})),
            &cat,
        )
        .unwrap_err();
        assert!(e[0].contains("neither `items`"), "{e:?}");
        // A draft chapter (no path) is left alone.
        let book = serde_json::json!({ "items": [{"Chapter": {"name": "Draft", "content": "", "path": null, "sub_items": []}}]});
        assert!(preprocess(&input(dir.path(), book), &cat).is_ok());
    }

    #[test]
    fn inserts_each_task_before_the_next_marker_the_end_marker_or_the_end() {
        let ex = exercise("07-x", "07-x.md", &["a", "b", "c"]);
        let md = "# X\nintro\n<!-- workbook:step a -->\n## A\nalpha\n<!-- workbook:step b -->\nbeta\n<!-- workbook:end -->\n## Recap\nrecap\n";
        let page = insert_steps(md, &ex, "workbook check 07-x").unwrap();
        let at = |s: &str| {
            page.find(s)
                .unwrap_or_else(|| panic!("{s} missing in {page}"))
        };
        assert!(at("intro") < at("## A"));
        assert!(at("alpha") < at("Your task — Title a") && at("Your task — Title a") < at("beta"));
        assert!(at("beta") < at("Your task — Title b"));
        // Step c has no part in the lesson: its box still comes, in the exercise's order.
        assert!(at("Your task — Title b") < at("Your task — Title c"));
        assert!(at("Your task — Title c") < at("## Recap"));
        assert!(!page.contains("workbook:step") && !page.contains("workbook:end"));
        // No end marker: the last box closes the page.
        let page = insert_steps(
            "intro\n<!-- workbook:step a -->\nalpha\n<!-- workbook:step b -->\nbeta\n",
            &ex,
            "workbook check 07-x",
        )
        .unwrap();
        assert!(page.trim_end().ends_with("`workbook check 07-x`"), "{page}");
        let e =
            insert_steps("<!-- workbook:step zz -->\n", &ex, "workbook check 07-x").unwrap_err();
        assert!(
            e.to_string().contains("zz") && e.to_string().contains("a, b, c"),
            "{e}"
        );
    }

    #[test]
    fn a_task_box_has_the_task_a_folded_hint_and_the_check() {
        let ex = exercise("07-x", "07-x.md", &["a"]);
        let b = step_block("workbook check 07-x", &ex.steps()[0], None);
        assert!(b.starts_with("\n> **Your task — Title a**\n>\n> Task of a.\n>\n> <details><summary>Hint</summary>\n>\n> Hint of a:\n"), "{b}");
        assert!(b.contains("> ```sh\n> docker volume create a\n> ```\n>\n> </details>\n>\n> Check it: `workbook check 07-x`\n"), "{b}");
        assert!(!b.contains('#'), "no heading: {b}");
        assert!(
            step_block("workbook check 07-x", &ex.steps()[0], Some((2, 3)))
                .contains("**Your task 2 of 3 — Title a**")
        );
    }

    #[test]
    fn expands_directives_and_names_unknown_exercises() {
        let (dir, cat) = pack();
        let src = dir.path().join("lessons");
        let page = render_chapter(
            "intro.md",
            "# I\n\n  {{#workbook-steps 01-a}}  \nafter\n",
            &cat,
            &src,
        )
        .unwrap();
        let one = page.find("**Your task 1 of 2 — Title one**").unwrap();
        let two = page.find("**Your task 2 of 2 — Title two**").unwrap();
        assert!(one < two && two < page.find("after").unwrap(), "{page}");
        assert!(!page.contains("workbook-steps"));

        let e =
            render_chapter("intro.md", "{{#workbook-steps 99-nope}}\n", &cat, &src).unwrap_err();
        assert_eq!(
            e,
            vec!["{{#workbook-steps 99-nope}} names no exercise; the exercises are: 01-a, 02-b"]
        );
        let e = render_chapter(
            "intro.md",
            "{{#workbook-steps}}\n{{#workbook-steps 01-a\n",
            &cat,
            &src,
        )
        .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        // A lesson naming its own exercise would show every task twice.
        let e = render_chapter("01-a.md", "{{#workbook-steps 01-a}}\n", &cat, &src).unwrap_err();
        assert!(e[0].contains("shown twice"), "{e:?}");
        // Another exercise's steps in a lesson are fine.
        assert!(render_chapter("01-a.md", "{{#workbook-steps 02-b}}\n", &cat, &src).is_ok());
    }

    #[test]
    fn the_whole_error_names_the_file() {
        let (dir, cat) = pack();
        let book = serde_json::json!({ "items": [
            chapter("Deep", "sub/deep.md", "{{#workbook-steps nope}}\n[x](gone.md)\n", "sub_items", vec![]),
        ]});
        let e = preprocess(&input(dir.path(), book), &cat).unwrap_err();
        assert_eq!(
            e,
            vec![
                "lessons/sub/deep.md: {{#workbook-steps nope}} names no exercise; the exercises are: 01-a, 02-b",
                "lessons/sub/deep.md: broken link `gone.md`: lessons/sub/gone.md does not exist",
            ]
        );
    }

    #[test]
    fn checks_relative_links() {
        let (dir, _) = pack();
        let src = dir.path().join("lessons");
        let md = "[ok](01-a.md) [anchor](02-b.md#part) [deep](sub/deep.md) [html](01-a.html) \
                  [web](https://example.com/x.md) [mail](mailto:a@b.c) [here](#top) [abs](/x.md) \
                  ![img](missing.png) [gone](03-c.md#x) [out](../README.md) `[code](nope.md)`\n\n\
                  ```\n[fenced](nope.md)\n```\n\n[ref]\n\n[ref]: gone-too.md\n";
        let broken = broken_links(md, "01-a.md", &src);
        let dests: Vec<&str> = broken.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            dests,
            vec!["missing.png", "03-c.md#x", "../README.md", "gone-too.md"]
        );
        assert!(
            broken[1].1.contains("lessons/03-c.md does not exist"),
            "{broken:?}"
        );
        assert!(broken[2].1.contains("outside"), "{broken:?}");
        // Relative to the page's own folder.
        assert!(broken_links("[up](../01-a.md) [same](deep.md)", "sub/deep.md", &src).is_empty());
        assert_eq!(broken_links("[x](01-a.md)", "sub/deep.md", &src).len(), 1);
    }

    #[test]
    fn the_real_lessons_build() {
        let cat = Catalog::embedded().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
        for ex in cat.exercises().unwrap() {
            let md = cat.lesson(&ex.data.lesson).unwrap();
            let page = render_chapter(&ex.data.lesson, &md, &cat, &src)
                .unwrap_or_else(|e| panic!("{}: {e:?}", ex.data.lesson));
            for step in ex.steps() {
                assert!(page.contains(&format!("**Your task — {}**", step.title.trim())));
            }
            assert!(!page.contains("workbook:step"), "{}", ex.data.lesson);
        }
    }
}
