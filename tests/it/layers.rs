//! The source tree's layers (ARCHITECTURE.md): a top-level folder of `src/` may use only the
//! folders below it, so no two folders import each other, and `cli/` stays a dispatcher.

use std::path::{Path, PathBuf};

/// Top to bottom.
const LAYERS: [&str; 12] = [
    "cli",
    "commands",
    "classroom",
    "lab",
    "learner",
    "grading",
    "curriculum",
    "checks",
    "archive",
    "docker",
    "ui",
    "util",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::NAME` paths a file's code (its test module aside) names.
fn crate_paths(text: &str) -> Vec<String> {
    let code = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i]);
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        found.push(name);
    }
    found
}

#[test]
fn no_folder_of_src_imports_a_folder_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank = |name: &str| LAYERS.iter().position(|l| *l == name);
    let mut upward = Vec::new();
    for (i, layer) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "src/{layer} is missing");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in crate_paths(&text) {
                if rank(&used).is_some_and(|r| r < i) {
                    upward.push(format!("{} uses crate::{used}", file.display()));
                }
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports that run upwards:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_cli_is_a_dispatcher() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli"),
        &mut files,
    );
    // Doc comments are not counted: they are what `--help` prints for each argument, and every
    // argument is to have one; the examples and longer texts live in src/commands/help.rs.
    let lines: usize = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let doc =
                |l: &&str| l.trim_start().starts_with("///") || l.trim_start().starts_with("//!");
            text.lines().filter(|l| !doc(l)).count()
        })
        .sum();
    assert!(
        lines < 360,
        "src/cli/ has {lines} lines besides doc comments: command logic belongs in src/commands/"
    );
}
