//! The lessons as an mdBook (book.toml, lessons/SUMMARY.md, the `mdbook-workbook` preprocessor):
//! the built pages show the tasks of the exercise data, in the HTML and in a real browser.
//!
//! Needs `mdbook` (0.5) and, for the browser part, `chromium` on PATH. When one is missing the
//! test fails under CI (env `CI`) and is skipped with a notice otherwise. The screenshots land in
//! `target/book-screenshots/` (a CI artifact).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::prelude::*;
use pulldown_cmark::{Event, Parser, TagEnd};
use workbook::curriculum::catalog::Catalog;
use workbook::curriculum::exercise::Exercise;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const LESSON: &str = "07-backup-restore";

pub(crate) fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The first of `names` on PATH; `None` (after a skip notice) when none is there and this is
/// not CI; a failure under CI.
pub(crate) fn require(names: &[&str], install: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    assert!(
        !under_ci(),
        "{} is not on PATH, and CI must run this test: install it with `{install}` (.ci/run does)",
        names[0]
    );
    eprintln!(
        "skipping: {} is not on PATH (install it with `{install}`)",
        names[0]
    );
    None
}

fn mdbook() -> Option<PathBuf> {
    require(&["mdbook"], "cargo install mdbook --locked --version 0.5.4")
}

pub(crate) fn chromium() -> Option<PathBuf> {
    require(
        &["chromium", "chromium-browser"],
        "apt-get install -y chromium",
    )
}

/// `mdbook build -d DEST BOOK`, with the preprocessor this test run just built (book.toml's
/// `cargo run --release` would build a second copy of it).
fn build(mdbook: &Path, book: &Path, dest: &Path) -> Output {
    let preprocessor = env!("CARGO_BIN_EXE_mdbook-workbook");
    Command::new(mdbook)
        .arg("build")
        .arg("-d")
        .arg(dest)
        .arg(book)
        .env(
            "MDBOOK_PREPROCESSOR__WORKBOOK__COMMAND",
            format!("'{preprocessor}'"),
        )
        .env_remove("WORKBOOK_PACK")
        .output()
        .expect("mdbook runs")
}

/// Runs a command with a deadline (a browser that hangs must not hang the test suite).
pub(crate) fn run_for(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut pipe_out = child.stdout.take().expect("stdout");
    let mut pipe_err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe_out.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe_err.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// What a reader sees of a page: the text without tags, entities decoded, and the typography
/// of mdBook's smart punctuation made plain (see [`plain`]).
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    plain(&text)
}

fn plain(text: &str) -> String {
    let text = text
        .replace(['’', '‘'], "'")
        .replace(['“', '”'], "\"")
        .replace('…', "...")
        .replace(['—', '–'], "-")
        .replace("---", "-")
        .replace("--", "-");
    // Without any white space: tags and line breaks put it in different places in HTML.
    text.split_whitespace().collect()
}

/// The text of each block (paragraph, code block, list item) of some Markdown, made plain.
fn blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => cur.push_str(&t),
            Event::SoftBreak | Event::HardBreak => cur.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::Item | TagEnd::Heading(_),
            ) => {
                let block = plain(&cur);
                if !block.is_empty() {
                    out.push(block);
                }
                cur.clear();
            }
            _ => {}
        }
    }
    let block = plain(&cur);
    if !block.is_empty() {
        out.push(block);
    }
    out
}

fn exercise(cat: &Catalog, slug: &str) -> Exercise {
    cat.exercises()
        .unwrap()
        .iter()
        .find(|e| e.slug == slug)
        .unwrap_or_else(|| panic!("no exercise {slug}"))
        .clone()
}

/// Every step's title, task and hint of `ex`, in order, in the visible text `text`.
fn assert_shows_steps(text: &str, ex: &Exercise, what: &str) {
    let mut from = 0;
    for step in ex.steps() {
        let title = blocks(&format!("Your task — {}", step.title)).concat();
        let at = text[from..]
            .find(&title)
            .unwrap_or_else(|| panic!("{what}: `{title}` is not shown after the previous step"));
        from += at;
        for block in blocks(&step.task).iter().chain(&blocks(&step.hint)) {
            assert!(
                text[from..].contains(block.as_str()),
                "{what}: step {} does not show `{block}`",
                step.id
            );
        }
        let check = plain(&format!("Check it: workbook check {}", ex.slug));
        assert!(text[from..].contains(&check), "{what}: no `{check}`");
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(ROOT).join("target").join("book-screenshots");
    std::fs::create_dir_all(&dir).expect("target/book-screenshots");
    dir
}

pub(crate) fn chromium_cmd(chromium: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args(["--headless", "--disable-gpu", "--no-sandbox"])
        .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

#[test]
fn the_book_shows_the_tasks_of_the_exercise_data() {
    let Some(mdbook) = mdbook() else { return };
    let dest = tempfile::tempdir().expect("tempdir");
    let built = build(&mdbook, Path::new(ROOT), dest.path());
    assert!(
        built.status.success(),
        "mdbook build failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cat = Catalog::embedded().expect("catalog");

    // Every lesson is a page, with every task of its exercise.
    assert!(
        dest.path().join("index.html").is_file(),
        "no introduction page"
    );
    for ex in cat.exercises().unwrap() {
        let page = dest.path().join(ex.data.lesson.replace(".md", ".html"));
        let html =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert_shows_steps(&visible_text(&html), ex, &ex.data.lesson);
        assert!(!html.contains("workbook:step") && !html.contains("workbook:end"));
        assert!(!html.contains("workbook-steps"));
    }

    // Lesson 07 in detail: each hint folded in its own <details>.
    let ex = exercise(&cat, LESSON);
    let page = dest.path().join(format!("{LESSON}.html"));
    let html = std::fs::read_to_string(&page).expect("lesson 07");
    // Its diagram is in the page and in the build beside it.
    assert!(
        html.contains("src=\"diagrams/backup-restore.svg\""),
        "no diagram in lesson 07"
    );
    assert!(dest.path().join("diagrams/backup-restore.svg").is_file());
    assert_eq!(
        html.matches("<details><summary>Hint</summary>").count(),
        ex.steps().len(),
        "one folded hint per step"
    );

    // In a browser.
    let Some(chromium) = chromium() else { return };
    let profile = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", page.display());
    let shots = screenshots_dir();
    let dom = run_for(
        chromium_cmd(&chromium, profile.path()).args(["--dump-dom", &url]),
        Duration::from_secs(120),
    );
    assert!(
        dom.status.success(),
        "chromium --dump-dom failed:\n{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("</html>"), "no DOM from chromium: {dom}");
    assert_shows_steps(&visible_text(&dom), &ex, "the DOM in chromium");
    assert!(!dom.contains("workbook:step"));

    // The top of the page, as a reader first sees it.
    let top = shots.join(format!("{LESSON}.png"));
    let _ = std::fs::remove_file(&top);
    let shot = run_for(
        chromium_cmd(&chromium, profile.path())
            .arg(format!("--screenshot={}", top.display()))
            .args(["--window-size=1280,2400", &url]),
        Duration::from_secs(120),
    );
    assert!(
        shot.status.success() && top.is_file(),
        "no screenshot:\n{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    // The tasks: the page scrolled to the first step's part (inside a frame, because headless
    // screenshots of a page scrolled to an anchor come out blank).
    let first = &ex.steps()[0].title;
    let before = &html[..html.find("Your task").expect("a task box")];
    let anchor = before
        .rfind("id=\"")
        .map(|i| &before[i + 4..])
        .and_then(|s| s.split('"').next())
        .expect("a heading before the first task");
    let frame = shots.join(format!("{LESSON}-tasks.html"));
    std::fs::write(
        &frame,
        format!(
            "<!doctype html><html><body style=\"margin:0\"><iframe src=\"{url}#{anchor}\" \
             style=\"border:0;width:1280px;height:2400px\"></iframe></body></html>\n"
        ),
    )
    .expect("frame page");
    let tasks = shots.join(format!("{LESSON}-tasks.png"));
    let _ = std::fs::remove_file(&tasks);
    let shot = run_for(
        chromium_cmd(&chromium, profile.path())
            .arg(format!("--screenshot={}", tasks.display()))
            .args(["--window-size=1280,2400"])
            .arg(format!("file://{}", frame.display())),
        Duration::from_secs(120),
    );
    assert!(
        shot.status.success() && tasks.is_file(),
        "no screenshot of the tasks ({first}):\n{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    // The frame points into the temporary build: it would be a broken artifact.
    let _ = std::fs::remove_file(&frame);
    eprintln!("screenshots: {} and {}", top.display(), tasks.display());
}

#[test]
fn a_directive_naming_no_exercise_fails_the_build() {
    let Some(mdbook) = mdbook() else { return };
    let dest = tempfile::tempdir().expect("tempdir");
    let book = Path::new(ROOT).join("tests/fixtures/book-bad");
    let built = build(&mdbook, &book, dest.path());
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(!built.status.success(), "the build should fail:\n{stderr}");
    let cat = Catalog::embedded().expect("catalog");
    let slugs: Vec<&str> = cat.slugs().iter().map(String::as_str).collect();
    let expected = format!(
        "error: lessons/bad.md: {{{{#workbook-steps 99-no-such-exercise}}}} names no exercise; the exercises are: {}",
        slugs.join(", ")
    );
    assert!(
        stderr.contains(&expected),
        "want `{expected}` in:\n{stderr}"
    );
    let link = "error: lessons/bad.md: broken link `missing.md#anywhere`: lessons/missing.md does not exist";
    assert!(stderr.contains(link), "want `{link}` in:\n{stderr}");
    assert!(
        !dest.path().join("bad.html").exists(),
        "nothing is rendered"
    );
}

#[test]
fn book_toml_and_summary_follow_the_exercises() {
    let toml: toml::Table = std::fs::read_to_string(Path::new(ROOT).join("book.toml"))
        .expect("book.toml")
        .parse()
        .expect("book.toml is TOML");
    assert_eq!(toml["book"]["src"].as_str(), Some("lessons"));
    assert_eq!(toml["build"]["build-dir"].as_str(), Some("target/book"));
    let command = toml["preprocessor"]["workbook"]["command"]
        .as_str()
        .expect("preprocessor.workbook.command");
    assert!(command.contains("--bin mdbook-workbook"), "{command}");

    // The lessons in the exercises' order, each under its own title.
    let summary = std::fs::read_to_string(Path::new(ROOT).join("lessons/SUMMARY.md"))
        .expect("lessons/SUMMARY.md");
    let links: Vec<(String, String)> = summary
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ["))
        .filter_map(|l| {
            let (title, rest) = l.split_once("](")?;
            Some((title.to_string(), rest.trim_end_matches(')').to_string()))
        })
        .collect();
    let cat = Catalog::embedded().expect("catalog");
    let lessons: Vec<&str> = cat
        .exercises()
        .unwrap()
        .iter()
        .map(|e| e.data.lesson.as_str())
        .collect();
    let files: Vec<&str> = links.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!(files, lessons);
    for (title, file) in &links {
        let md = cat.lesson(file).expect("lesson");
        assert_eq!(
            md.lines().next(),
            Some(format!("# {title}").as_str()),
            "{file}"
        );
    }
    assert!(summary.contains("[Introduction](README.md)"));
}

#[test]
fn the_preprocessor_speaks_mdbooks_protocol() {
    Command::cargo_bin("mdbook-workbook")
        .expect("binary")
        .args(["supports", "html"])
        .assert()
        .success();
    let input = serde_json::json!([
        {"root": ROOT, "config": {"book": {"src": "lessons"}}, "renderer": "html", "mdbook_version": "0.5.4"},
        {"items": [{"Chapter": {
            "name": "Backup", "content": "# Backup\n<!-- workbook:step backup -->\nPart.\n",
            "number": [7], "sub_items": [], "path": "07-backup-restore.md",
            "source_path": "07-backup-restore.md", "parent_names": []
        }}]}
    ]);
    let out = assert_cmd::Command::cargo_bin("mdbook-workbook")
        .expect("binary")
        .env_remove("WORKBOOK_PACK")
        .write_stdin(input.to_string())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let book: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a book as JSON");
    let content = book["items"][0]["Chapter"]["content"]
        .as_str()
        .expect("content");
    let cat = Catalog::embedded().expect("catalog");
    for step in exercise(&cat, LESSON).steps() {
        assert!(content.contains(step.title.trim()), "{content}");
    }
}

/// A reader copies a command with mdBook's copy button: a block of commands holds commands
/// only (no `$ ` prompt, no output), and output is in a block of its own (`text`).
#[test]
fn command_blocks_hold_commands_only() {
    let lessons = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(&lessons).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lang: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("```") {
                lang = match lang {
                    Some(_) => None,
                    None => Some(rest.trim().to_string()),
                };
                continue;
            }
            let Some(l) = &lang else { continue };
            let shell = ["sh", "bash", "shell", "console"].contains(&l.as_str());
            if shell && trimmed.starts_with("$ ") {
                bad.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
            // Long commands are broken with `\` continuations, not cut off at the page's edge.
            if shell && line.chars().count() > 100 {
                bad.push(format!(
                    "{}:{}: longer than 100 columns",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "prompts in command blocks:\n{}",
        bad.join("\n")
    );
}

/// Every picture a lesson shows exists next to the lessons, is an SVG with a title and a
/// description (read aloud, and what the terminal shows instead), and is referenced by some
/// lesson (the three of issue 14 at least: mount types, backup/restore, shared models).
#[test]
fn the_lessons_pictures_exist_and_describe_themselves() {
    let lessons = Path::new(ROOT).join("lessons");
    let mut referenced = Vec::new();
    for entry in std::fs::read_dir(&lessons).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("![") {
            let rest = &text[i..];
            let src = rest
                .split_once("](")
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(s, _)| s)
                .unwrap_or_else(|| panic!("{}: an unclosed image", path.display()));
            let file = lessons.join(src);
            let svg = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {src}: {e}", path.display()));
            assert!(
                svg.trim_start().starts_with("<svg")
                    && svg.contains("viewBox")
                    && svg.contains("<title")
                    && svg.contains("<desc")
                    && svg.trim_end().ends_with("</svg>"),
                "{src}: not a self-describing SVG"
            );
            referenced.push(src.to_string());
        }
    }
    for want in [
        "diagrams/mount-types.svg",
        "diagrams/backup-restore.svg",
        "diagrams/shared-models.svg",
    ] {
        assert!(
            referenced.iter().any(|r| r == want),
            "no lesson shows {want}"
        );
    }
}

/// `workbook book` builds the book with the preprocessor installed beside it (here: the one
/// this test run built), says so, and says what is missing when it cannot.
#[test]
fn workbook_book_builds_with_the_installed_preprocessor() {
    let nowhere = tempfile::tempdir().expect("tempdir");
    crate::util::workbook()
        .current_dir(nowhere.path())
        .arg("book")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no workbook book here"));
    let empty_path = tempfile::tempdir().expect("tempdir");
    crate::util::workbook()
        .current_dir(ROOT)
        .env("PATH", empty_path.path())
        .arg("book")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("mdBook is not installed"));
    let Some(mdbook) = mdbook() else { return };
    let dest = tempfile::tempdir().expect("tempdir");
    let bin = mdbook.parent().expect("mdbook's folder").to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let out = crate::util::workbook_process()
        .current_dir(Path::new(ROOT).join("lessons"))
        .env("PATH", path)
        .env("MDBOOK_BUILD__BUILD_DIR", dest.path())
        .arg("book")
        .output()
        .expect("workbook book");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("with the preprocessor"), "{stderr}");
    assert!(
        dest.path().join("07-backup-restore.html").is_file(),
        "{stderr}"
    );
}
