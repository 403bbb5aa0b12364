//! Finding your way (issue 14): which exercise a command means (a slug, a number, a word of a
//! title in any case, the exercise folder you are in), the hint of the first step not passing,
//! `--help`, shell completions, the man page, and tables as wide as the terminal. None of these
//! tests uses the real daemon: `check` is graded by the fake engine.

use std::path::Path;

use crate::util::fake_engine::FakeEngine;
use crate::util::{init_workspace, json_stdout, workbook, NO_DAEMON};

/// `workbook ARGS` in `dir`, with no daemon.
fn in_dir(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    workbook()
        .current_dir(dir)
        .env("DOCKER_HOST", NO_DAEMON)
        .env("NO_PAGER", "1")
        .args(args)
        .assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Makes `slug` the workspace's current exercise, as `next` would.
fn set_current(ws: &Path, slug: &str, steps: &[(&str, &str)]) {
    let path = ws.join(".workbook/progress.json");
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    p["current"] = slug.into();
    let mut recorded = serde_json::Map::new();
    for (id, last) in steps {
        let mut step = serde_json::json!({ "failed_attempts": 0, "last": last });
        if *last == "pass" {
            step["first_passed"] = 1_700_000_000u64.into();
        }
        recorded.insert(id.to_string(), step);
    }
    p["exercises"][slug] = serde_json::json!({ "steps": recorded });
    std::fs::write(&path, serde_json::to_string_pretty(&p).unwrap()).unwrap();
}

// ---------------------------------------------------------------- selection

#[test]
fn exercises_are_found_in_any_case_and_by_words_of_their_titles() {
    let dir = tempfile::tempdir().unwrap();
    for (wanted, heading) in [
        ("TMPFS", "Hint for 03-tmpfs"),
        ("tmpfs", "Hint for 03-tmpfs"),
        ("permission", "Hint for 09-permissions"),
        ("Disaster", "Hint for 11-capstone"),
        ("02", "Hint for 02-bind-mounts"),
        ("Bind-Mounts", "Hint for 02-bind-mounts"),
    ] {
        let a = in_dir(dir.path(), &["hint", wanted]).success();
        assert!(stdout(&a).contains(heading), "{wanted}: {}", stdout(&a));
    }
}

#[test]
fn an_ambiguous_word_lists_the_candidates_and_a_typo_gets_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let a = in_dir(dir.path(), &["lesson", "volume"]).code(2);
    let err = stderr(&a);
    assert!(err.contains("`volume` matches 3 exercises"), "{err}");
    assert!(
        err.contains("06-volume-lifecycle (Volume commands)"),
        "{err}"
    );
    assert!(err.contains("10-volume-drivers (Volume drivers)"), "{err}");
    assert!(a.get_output().stdout.is_empty());
    let a = in_dir(dir.path(), &["solution", "permisions"]).code(2);
    let err = stderr(&a);
    assert!(
        err.contains(
            "no exercise `permisions`. Did you mean `09-permissions` (Manage volume permissions)?"
        ),
        "{err}"
    );
    let a = in_dir(dir.path(), &["hint", "Capstnoe"]).code(2);
    assert!(
        stderr(&a).contains("Did you mean `11-capstone`"),
        "{}",
        stderr(&a)
    );
}

// ---------------------------------------------------------------- the folder you are in

#[test]
fn hint_and_lesson_in_an_exercise_folder_mean_that_exercise() {
    let (_dir, ws) = init_workspace();
    // The current exercise is 07 (as after `reset 07`); the learner works in 11's folder.
    set_current(&ws, "07-backup-restore", &[]);
    let sub = ws.join("11-capstone/backups");
    std::fs::create_dir_all(&sub).unwrap();
    for dir in [ws.join("11-capstone"), sub.clone()] {
        let a = in_dir(&dir, &["hint"]).success();
        assert!(
            stdout(&a).contains("Hint for 11-capstone"),
            "{}",
            stdout(&a)
        );
        let a = in_dir(&dir, &["lesson"]).success();
        assert!(stdout(&a).contains("disaster"), "{}", stdout(&a));
        assert!(!stdout(&a).contains("Hint for"));
    }
    // In 03's folder, `lesson` is 03's; at the workspace's root, the current exercise's.
    let a = in_dir(&ws.join("03-tmpfs"), &["lesson"]).success();
    assert!(stdout(&a).contains("tmpfs"), "{}", stdout(&a));
    let a = in_dir(&ws, &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 07-backup-restore"),
        "{}",
        stdout(&a)
    );
    // An exercise named on the command line wins over the folder.
    let a = in_dir(&ws.join("11-capstone"), &["hint", "01"]).success();
    assert!(
        stdout(&a).contains("Hint for 01-named-volumes"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn check_in_an_exercise_folder_grades_that_exercise() {
    let (_dir, ws) = init_workspace();
    set_current(&ws, "07-backup-restore", &[]);
    let sub = ws.join("01-named-volumes/notes");
    std::fs::create_dir_all(&sub).unwrap();
    // The fake engine answers exercise 01's requests as a daemon where it is solved; it makes
    // nothing on the real daemon.
    let fake = FakeEngine::start();
    let out = workbook()
        .current_dir(&sub)
        .env("DOCKER_HOST", fake.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .env("WORKBOOK_DOCKER_TIMEOUT", "10")
        .args(["check", "--json"])
        .output()
        .unwrap();
    let report = json_stdout(&out);
    assert_eq!(report["exercise"], "01-named-volumes", "{report}");
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(fake.live_containers().is_empty());
}

// ---------------------------------------------------------------- hint

#[test]
fn hint_gives_the_first_step_not_passing() {
    let (_dir, ws) = init_workspace();
    // 11: steps 1 and 2 pass, 3 fails: step 3's hint, not step 1's.
    set_current(
        &ws,
        "11-capstone",
        &[
            ("stack-up", "pass"),
            ("backup", "pass"),
            ("restore-drill", "fail"),
        ],
    );
    let a = in_dir(&ws, &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 11-capstone · checkpoints destroyed, re-created, restored"),
        "{}",
        stdout(&a)
    );
    // Step 1 passed once and fails now: its hint again. A step not available on this engine
    // is settled.
    set_current(
        &ws,
        "11-capstone",
        &[
            ("stack-up", "unavailable"),
            ("backup", "fail"),
            ("restore-drill", "fail"),
        ],
    );
    let a = in_dir(&ws, &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 11-capstone · backups/checkpoints.tar.gz"),
        "{}",
        stdout(&a)
    );
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap())
            .unwrap();
    assert_eq!(progress["exercises"]["11-capstone"]["hints_used"], 1);
}

#[test]
fn hint_works_outside_a_workspace_like_lesson() {
    let dir = tempfile::tempdir().unwrap();
    let a = in_dir(dir.path(), &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 01-named-volumes"),
        "{}",
        stdout(&a)
    );
    assert!(stderr(&a).contains("No workspace here"), "{}", stderr(&a));
    let a = in_dir(dir.path(), &["hint", "tmpfs"]).success();
    assert!(stdout(&a).contains("Hint for 03-tmpfs"));
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------- --help

#[test]
fn every_command_documents_its_arguments_and_shows_examples() {
    use clap::CommandFactory;
    let mut cmd = workbook::cli::Cli::command();
    cmd.build();
    let mut commands: Vec<&clap::Command> = cmd.get_subcommands().collect();
    let dev = cmd.find_subcommand("dev").unwrap();
    commands.extend(dev.get_subcommands());
    for sub in commands.into_iter().filter(|s| s.get_name() != "help") {
        let name = sub.get_name();
        for arg in sub.get_arguments() {
            let generated = ["help", "version"].contains(&arg.get_id().as_str());
            assert!(
                generated || arg.get_help().is_some(),
                "`{name}`: the argument `{}` has no help",
                arg.get_id()
            );
        }
        let after = sub
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            after.contains("Examples:\n  workbook"),
            "`{name}` shows no example"
        );
    }
    // As printed: no bare EXERCISE, examples and exit codes.
    for command in ["check", "hint", "lesson", "solution", "reset"] {
        let a = workbook().args([command, "--help"]).assert().success();
        let help = stdout(&a);
        assert!(
            help.contains("[EXERCISE]") && help.contains("The exercise: a number (`02`)"),
            "{command}: {help}"
        );
        assert!(
            help.contains("Examples:") && help.contains("Exit codes:"),
            "{help}"
        );
        assert!(!help.contains("possible values"), "{help}");
    }
    let a = workbook().args(["next", "--help"]).assert().success();
    let help = stdout(&a);
    assert!(help.contains("Exit codes: 0 the exercise passes"), "{help}");
    assert!(
        help.contains("1 the current exercise is not done yet"),
        "{help}"
    );
}

/// The environment variables the source reads: `var("X")`, `var_os("X")`, `env = "X"` and
/// constants `..._ENV: &str = "X"`.
fn variables_read_by_the_source() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Test modules name variables of their own making.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for marker in ["var(\"", "var_os(\"", "env = \"", "_ENV: &str = \""] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !name.is_empty() && rest[name.len()..].starts_with('"') {
                    found.push(name);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn help_lists_the_exit_codes_and_every_environment_variable_read() {
    let a = workbook().arg("--help").assert().success();
    let help = stdout(&a);
    let vars = variables_read_by_the_source();
    for expected in [
        "WORKBOOK_WORKSPACE",
        "WORKBOOK_DOCKER_TIMEOUT",
        "WORKBOOK_BUSYBOX",
        "NO_PAGER",
        "WORKBOOK_ENGINE_SEES_HOST",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
    ] {
        assert!(
            vars.iter().any(|v| v == expected),
            "the scan missed {expected}: {vars:?}"
        );
    }
    for var in &vars {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(var.as_str())),
            "`workbook --help` does not name {var}:\n{help}"
        );
    }
    for code in ["  0  pass", "  1  fail", "  2  error"] {
        assert!(help.contains(code), "{help}");
    }
    assert!(help.contains("EXERCISE (check, hint, lesson"), "{help}");
    // Every line of the long help fits 80 columns.
    let after = &help[help.find("Start:").unwrap()..];
    for line in after.lines() {
        assert!(line.chars().count() <= 90, "too long: {line}");
    }
}

// ---------------------------------------------------------------- completions and man

const SUBCOMMANDS: [&str; 8] = [
    "check",
    "hint",
    "lesson",
    "next",
    "reset",
    "solution",
    "verify",
    "completions",
];

#[test]
fn completion_scripts_name_the_subcommands_and_the_exercises() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let a = workbook().args(["completions", shell]).assert().success();
        let script = stdout(&a);
        for word in SUBCOMMANDS
            .iter()
            .chain(&["01-named-volumes", "03-tmpfs", "11-capstone"])
        {
            assert!(script.contains(word), "{shell}: no `{word}`");
        }
    }
    // Where each shell offers them: after `check`, with the title where the shell shows one.
    let fish = stdout(&workbook().args(["completions", "fish"]).assert().success());
    assert!(fish.contains(
        "complete -c workbook -n \"__fish_workbook_using_subcommand check\" -f -a '03-tmpfs' -d 'tmpfs mounts'"
    ));
    assert!(fish.contains("function __fish_workbook_using_subcommand"));
    let ps = stdout(
        &workbook()
            .args(["completions", "powershell"])
            .assert()
            .success(),
    );
    let arm = &ps[ps.find("'workbook;lesson' {").unwrap()..];
    let arm = &arm[..arm.find('}').unwrap()];
    assert!(arm.contains("[CompletionResult]::new('03-tmpfs', '03-tmpfs', [CompletionResultType]::ParameterValue, 'tmpfs mounts')"), "{arm}");
    let zsh = stdout(&workbook().args(["completions", "zsh"]).assert().success());
    assert!(zsh.contains("03-tmpfs\\:\"tmpfs mounts\""), "{zsh}");
    workbook().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn bash_completes_commands_and_exercise_slugs() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("workbook.bash");
    let a = workbook().args(["completions", "bash"]).assert().success();
    std::fs::write(&script, &a.get_output().stdout).unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _workbook workbook \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(complete("workbook les").trim(), "lesson");
    let slugs = complete("workbook check 0");
    assert!(slugs.lines().any(|l| l == "03-tmpfs"), "{slugs}");
    assert!(slugs.lines().all(|l| l.starts_with('0')), "{slugs}");
    assert_eq!(complete("workbook hint 11").trim(), "11-capstone");
}

#[test]
fn the_man_page_renders_with_every_command_exit_status_and_environment() {
    let a = workbook().arg("man").assert().success();
    let roff = stdout(&a);
    assert!(roff.contains(".TH workbook 1"), "{roff}");
    for section in [
        ".SH COMMANDS",
        ".SH EXERCISE",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
    ] {
        assert!(roff.contains(section), "no {section}");
    }
    // Rendered by man(1) when this machine has it, else by reading the roff.
    let rendered = std::process::Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(roff.as_bytes())?;
            child.wait_with_output()
        });
    let text = match rendered {
        Ok(out) if out.status.success() => {
            assert!(
                out.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        _ => roff.replace("\\-", "-"),
    };
    for needle in [
        "workbook check [OPTIONS] [EXERCISE]",
        "workbook completions",
        "WORKBOOK_DOCKER_TIMEOUT",
        "DOCKER_CERT_PATH",
        "workbook check tmpfs",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
    // A page per command too.
    let dir = tempfile::tempdir().unwrap();
    workbook()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    for page in [
        "workbook.1",
        "workbook-check.1",
        "workbook-hint.1",
        "workbook-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
}

// ---------------------------------------------------------------- tables

#[test]
fn lesson_tables_use_the_terminal_width_and_show_no_stray_colon() {
    let dir = tempfile::tempdir().unwrap();
    let lesson = |columns: &str, ex: &str| {
        let a = workbook()
            .current_dir(dir.path())
            .env("NO_PAGER", "1")
            .env("COLUMNS", columns)
            .args(["lesson", ex])
            .assert()
            .success();
        stdout(&a)
    };
    // Wide: lesson 03's comparison is a table on one line per row, wider than the prose.
    let wide = lesson("160", "03");
    assert!(
        wide.lines().any(|l| l
            == "Shared between containers  yes                    yes                       no, each container has its own"),
        "{wide}"
    );
    assert!(!wide.contains(": Where the data lives"), "{wide}");
    assert!(!wide.contains("Named volume: "), "{wide}");
    // 100 columns: still a table, its last column wrapped; 60: narrower columns, no records.
    for columns in ["100", "60"] {
        let out = lesson(columns, "03");
        let width: usize = columns.parse().unwrap();
        assert!(out.contains("Where the data"), "{out}");
        assert!(
            !out.contains(": Where the data lives") && !out.contains("Named volume: "),
            "{out}"
        );
        // The table's lines (code blocks are never wrapped: a command must stay copyable).
        let table =
            &out[out.find("How it differs").unwrap()..out.find("tmpfs exists only").unwrap()];
        assert!(table.lines().count() > 6, "{table}");
        for line in table.lines() {
            assert!(
                console::measure_text_width(line) <= width,
                "{columns}: too wide: {line}"
            );
        }
    }
    // Lesson 02's table keeps the spaces of its commands.
    let two = lesson("160", "02");
    assert!(
        two.contains("`-v \"$(pwd)/models:/app/models:ro\"`"),
        "{two}"
    );
    assert!(two.contains("`--mount type=bind,...,readonly`"), "{two}");
    assert!(!two.contains('\u{E000}'));
}
