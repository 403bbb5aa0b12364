//! `workbook man`: the manual page, made from the clap definition (src/cli/args.rs) and the
//! texts of [`crate::commands::help`] at run time.
//!
//! The manual is a command (`workbook man`: one page, every command in it; `--dir DIR` also
//! writes a page per command)
//! rather than a file made at build time: `cargo install` keeps no build output but the binary,
//! and a page printed by the binary cannot go stale.

use std::path::Path;

use crate::commands::context::CmdResult;
use crate::commands::help::{ENVIRONMENT, EXERCISE_HELP, EXIT_CODES};
use crate::util::error::{Error, Result};

/// Prints the manual of `cmd` (the workbook's clap definition), or writes the pages into `dir`.
pub fn run(cmd: clap::Command, dir: Option<&Path>) -> CmdResult {
    crate::ui::output::out(&man(cmd, dir)?);
    Ok(0)
}

/// The manual page of the workbook (roff): every command with its arguments and examples,
/// what EXERCISE may be, the exit status and the environment. With `dir`, writes it and a page
/// per command (`workbook-check.1`...) into `dir` instead, and says where.
pub fn man(cmd: clap::Command, dir: Option<&Path>) -> Result<String> {
    match dir {
        None => man_page(cmd).map_err(|e| Error::io("cannot render the manual page", e)),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            let cannot = |e| {
                Error::io(
                    format!("cannot write the manual pages into {}", dir.display()),
                    e,
                )
            };
            clap_mangen::generate_to(cmd.clone(), dir).map_err(cannot)?;
            // The page of the workbook itself is the whole manual.
            let page = man_page(cmd).map_err(cannot)?;
            std::fs::write(dir.join("workbook.1"), page).map_err(cannot)?;
            Ok(format!(
                "Wrote workbook.1 and a page per command (workbook-check.1...) into {}; read one with `man -l {}/workbook.1`.\n",
                dir.display(),
                dir.display()
            ))
        }
    }
}

fn man_page(mut cmd: clap::Command) -> std::io::Result<String> {
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    let mut page = String::from_utf8_lossy(&buf).into_owned();
    page.push_str(".SH COMMANDS\n");
    for sub in cmd
        .get_subcommands_mut()
        .filter(|s| s.get_name() != "help" && !s.is_hide_set())
    {
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        page.push_str(&format!(".SS \"{}\"\n", roff(usage).replace('"', "\\(dq")));
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(ToString::to_string);
        if let Some(about) = about {
            for paragraph in about.split("\n\n") {
                page.push_str(&format!(".PP\n{}\n", roff_lines(paragraph)));
            }
        }
        let shown = |a: &&clap::Arg| {
            !a.is_hide_set()
                && !a.is_global_set()
                && a.get_id() != "help"
                && a.get_id() != "version"
        };
        for arg in sub.get_arguments().filter(shown) {
            page.push_str(&format!(".TP\n\\fB{}\\fR\n", roff(&arg_name(arg))));
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string);
            page.push_str(&format!("{}\n", roff_lines(&help.unwrap_or_default())));
        }
        if let Some(after) = sub.get_after_long_help().or(sub.get_after_help()) {
            page.push_str(&format!(
                ".PP\n.nf\n{}\n.fi\n",
                roff_lines(&after.to_string())
            ));
        }
    }
    page.push_str(&format!(".SH EXERCISE\n{}\n", roff_lines(EXERCISE_HELP)));
    page.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_CODES {
        page.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_lines(what)));
    }
    page.push_str(".SH ENVIRONMENT\n");
    for (name, what) in ENVIRONMENT {
        page.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff(name),
            roff_lines(what)
        ));
    }
    page.push_str(".SH \"SEE ALSO\"\n\\fBdocker\\fR(1), \\fBdocker-volume\\fR(1)\n");
    let mut version = Vec::new();
    man.render_version_section(&mut version)?;
    page.push_str(&String::from_utf8_lossy(&version));
    Ok(page)
}

/// `-y, --yes`, `--save <FILE>`, `[EXERCISE]`.
fn arg_name(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(ToString::to_string)
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
    if arg.is_positional() {
        return if arg.is_required_set() {
            format!("<{value}>")
        } else {
            format!("[{value}]")
        };
    }
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let takes = arg.get_num_args().is_some_and(|n| n.takes_values());
    let mut name = names.join(", ");
    if takes {
        name.push_str(&format!(" <{value}>"));
    }
    name
}

/// Text as roff shows it: backslashes and hyphens escaped.
fn roff(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// [`roff`] on each line, and a line that would start with a request (`.`, `'`) kept as text.
fn roff_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = roff(line);
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
