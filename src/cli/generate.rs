//! What the workbook writes about itself: shell completion scripts and the manual page, both made
//! from the clap definition ([`super::args`]) at run time, so they always match the binary.
//!
//! Completions are static scripts (clap_complete's generators), with the built-in exercises'
//! slugs as the values of EXERCISE arguments: they work offline and need no call back into the
//! binary while completing, in all four shells. clap_complete's dynamic completion would also
//! know a pack's slugs, but it is behind an unstable feature and re-runs the binary on every
//! Tab. The generators for fish and PowerShell leave a positional argument's values out, so
//! they are added here, in each script's own form.
//!
//! The manual is a command (`workbook man`: one page, every command in it; `--dir DIR` also
//! writes a page per command)
//! rather than a file made at build time: `cargo install` keeps no build output but the binary,
//! and a page printed by the binary cannot go stale.

use std::path::Path;

use clap::CommandFactory;

use super::args::{Cli, Shell};
use crate::util::error::{Error, Result};

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "workbook", &mut buf)
        }
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "workbook", &mut buf)
        }
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "workbook", &mut buf)
        }
        Shell::Powershell => clap_complete::generate(
            clap_complete::Shell::PowerShell,
            &mut cmd,
            "workbook",
            &mut buf,
        ),
    }
    let script = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Fish => fish_exercises(script, &exercise_args()),
        Shell::Powershell => powershell_exercises(script, &exercise_args()),
        Shell::Bash | Shell::Zsh => script,
    }
}

/// The subcommands with a positional EXERCISE argument, and its values (slug, title).
fn exercise_args() -> Vec<(String, Vec<(String, String)>)> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter_map(|sub| {
            let arg = sub.get_positionals().find(|a| {
                a.get_value_names()
                    .is_some_and(|n| n.iter().any(|n| n == "EXERCISE"))
            })?;
            let values = arg
                .get_possible_values()
                .into_iter()
                .map(|v| {
                    let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
                    (v.get_name().to_string(), help)
                })
                .collect();
            Some((sub.get_name().to_string(), values))
        })
        .collect()
}

/// Adds `complete` lines for each EXERCISE argument, under the same condition the generator
/// uses for that subcommand's options.
fn fish_exercises(mut script: String, args: &[(String, Vec<(String, String)>)]) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "\\'");
    for (sub, values) in args {
        for (slug, title) in values {
            script.push_str(&format!(
                "complete -c workbook -n \"__fish_workbook_using_subcommand {sub}\" -f -a '{}' -d '{}'\n",
                quote(slug),
                quote(title)
            ));
        }
    }
    script
}

/// Adds a `CompletionResult` per exercise in the arm of each subcommand with an EXERCISE.
fn powershell_exercises(script: String, args: &[(String, Vec<(String, String)>)]) -> String {
    let quote = |s: &str| s.replace('\'', "''");
    let mut out = String::with_capacity(script.len() * 2);
    for line in script.split_inclusive('\n') {
        out.push_str(line);
        let arm = args
            .iter()
            .find(|(sub, _)| line.trim() == format!("'workbook;{sub}' {{"));
        if let Some((_, values)) = arm {
            for (slug, title) in values {
                out.push_str(&format!(
                    "            [CompletionResult]::new('{0}', '{0}', [CompletionResultType]::ParameterValue, '{1}')\n",
                    quote(slug),
                    quote(title)
                ));
            }
        }
    }
    out
}

/// The manual page of the workbook (roff): every command with its arguments and examples,
/// what EXERCISE may be, the exit status and the environment. With `dir`, writes it and a page
/// per command (`workbook-check.1`...) into `dir` instead, and says where.
pub fn man(dir: Option<&Path>) -> Result<String> {
    let cmd = Cli::command();
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
    page.push_str(&format!(
        ".SH EXERCISE\n{}\n",
        roff_lines(super::args::EXERCISE_HELP)
    ));
    page.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in super::args::EXIT_CODES {
        page.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_lines(what)));
    }
    page.push_str(".SH ENVIRONMENT\n");
    for (name, what) in super::args::ENVIRONMENT {
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
