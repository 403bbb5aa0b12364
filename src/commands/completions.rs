//! `workbook completions SHELL`: a shell completion script made from the clap definition
//! (src/cli/args.rs) at run time, so it always matches the binary.
//!
//! Completions are static scripts (clap_complete's generators), with the built-in exercises'
//! slugs as the values of EXERCISE arguments: they work offline and need no call back into the
//! binary while completing, in all four shells. clap_complete's dynamic completion would also
//! know a pack's slugs, but it is behind an unstable feature and re-runs the binary on every
//! Tab. The generators for fish and PowerShell leave a positional argument's values out, so
//! they are added here, in each script's own form.

use clap::ValueEnum;

use crate::commands::context::CmdResult;

/// The shells `workbook completions` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Prints the completion script of `cmd` (the workbook's clap definition) for `shell`.
pub fn run(cmd: clap::Command, shell: Shell) -> CmdResult {
    crate::ui::output::out(&completions(cmd, shell));
    Ok(0)
}

/// The completion script for `shell`.
pub fn completions(mut cmd: clap::Command, shell: Shell) -> String {
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
        Shell::Fish => fish_exercises(script, &exercise_args(cmd)),
        Shell::Powershell => powershell_exercises(script, &exercise_args(cmd)),
        Shell::Bash | Shell::Zsh => script,
    }
}

/// The subcommands with a positional EXERCISE argument, and its values (slug, title).
fn exercise_args(mut cmd: clap::Command) -> Vec<(String, Vec<(String, String)>)> {
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
