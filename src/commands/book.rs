//! `workbook book`: builds (or serves) the lessons as an mdBook with this installation's
//! preprocessor, instead of book.toml's `cargo run`, which compiles it silently for minutes on a
//! reader's first build.

use std::path::{Path, PathBuf};

use crate::commands::context::CmdResult;
use crate::util::error::Error;

/// The preprocessor installed beside this binary (`cargo install --path .` installs both).
fn installed_preprocessor() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let name = format!("mdbook-workbook{}", std::env::consts::EXE_SUFFIX);
    let path = exe.parent()?.join(name);
    path.is_file().then_some(path)
}

/// The folder above `start` (or `start`) with the workbook's book.toml.
fn book_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let toml = std::fs::read_to_string(dir.join("book.toml")).ok()?;
        toml.contains("[preprocessor.workbook]")
            .then(|| dir.to_path_buf())
    })
}

/// mdBook splits its preprocessor command like a shell: a path with spaces is quoted (single
/// quotes, which mdBook's JSON reading of the variable leaves alone).
fn command_for(path: &Path) -> String {
    let shown = path.display().to_string();
    if shown.contains(char::is_whitespace) {
        format!("'{}'", shown.replace('\'', r"'\''"))
    } else {
        shown
    }
}

pub fn run(serve: bool, open: bool) -> CmdResult {
    let here =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current folder", e))?;
    let Some(root) = book_root(&here) else {
        return Err(format!(
            "no workbook book here: {} and the folders above it have no book.toml of the \
             workbook. Run `workbook book` in the workbook's checkout (the folder with book.toml \
             and lessons/)",
            here.display()
        )
        .into());
    };
    let mut cmd = std::process::Command::new("mdbook");
    cmd.arg(if serve { "serve" } else { "build" })
        .current_dir(&root);
    if open {
        cmd.arg("--open");
    }
    match installed_preprocessor() {
        Some(pre) => {
            cmd.env("MDBOOK_PREPROCESSOR__WORKBOOK__COMMAND", command_for(&pre));
            eprintln!(
                "Building the book in {} with the preprocessor {}",
                root.display(),
                pre.display()
            );
        }
        None => eprintln!(
            "No mdbook-workbook beside this binary: mdBook runs book.toml's `cargo run`, which \
             compiles the preprocessor first (a few minutes the first time). `cargo install \
             --path .` installs both binaries."
        ),
    }
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                "mdBook is not installed: `cargo install mdbook --locked --version 0.5.4`, \
                        then `workbook book` again"
                    .into(),
            )
        }
        Err(e) => return Err(Error::io("cannot run mdbook", e)),
    };
    if status.success() {
        if !serve {
            eprintln!(
                "The book is in {}: open index.html there",
                root.join("target").join("book").display()
            );
        }
        Ok(0)
    } else {
        Err(format!(
            "mdbook {} failed ({status}): its output above says why",
            if serve { "serve" } else { "build" }
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_is_found_from_a_lesson_folder_and_a_path_with_spaces_is_quoted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(book_root(&root.join("lessons")).as_deref(), Some(root));
        assert_eq!(book_root(Path::new("/")), None);
        assert_eq!(
            command_for(Path::new("/usr/bin/mdbook-workbook")),
            "/usr/bin/mdbook-workbook"
        );
        assert_eq!(
            command_for(Path::new("/Users/Me Too/bin/mdbook-workbook")),
            "'/Users/Me Too/bin/mdbook-workbook'"
        );
    }
}
