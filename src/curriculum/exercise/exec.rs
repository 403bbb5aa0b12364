//! The commands that exec checks run in containers: listing them, their digest, and telling
//! one that writes from one that reads.

use super::Exercise;
use crate::checks::{Check, Target};
use crate::ui::safe_text;

/// A command an exec check runs, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    pub target: Target,
    pub command: Vec<String>,
}

impl std::fmt::Display for ExecCommand {
    /// `in container api: sh -c 'cat /x'`: the arguments quoted as a shell would need them,
    /// neutralised for the terminal (a newline shows as `\n`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self.command.iter().map(|a| shell_quote(a)).collect();
        write!(
            f,
            "in {}: {}",
            safe_text::line(&self.target.to_string()),
            safe_text::line(&words.join(" "))
        )
    }
}

impl Exercise {
    /// The commands the exercise's exec checks run in containers, in order, without repeats.
    pub fn exec_commands(&self) -> Vec<ExecCommand> {
        let mut out: Vec<ExecCommand> = Vec::new();
        for step in &self.data.steps {
            for check in &step.checks {
                if let Check::Exec(e) = check {
                    if let Ok(target) = Target::from_keys(&e.container, &e.service) {
                        let c = ExecCommand {
                            target,
                            command: e.command.clone(),
                        };
                        if !out.contains(&c) {
                            out.push(c);
                        }
                    }
                }
            }
        }
        out
    }

    /// A digest of [`Exercise::exec_commands`] (targets and arguments), by which an approval
    /// of them is remembered; `None` when the exercise runs no command.
    pub fn exec_digest(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        let commands = self.exec_commands();
        if commands.is_empty() {
            return None;
        }
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        for c in &commands {
            match &c.target {
                Target::Container(n) => (put("container"), put(n)),
                Target::Service(n) => (put("service"), put(n)),
            };
            put(&c.command.len().to_string());
            for arg in &c.command {
                put(arg);
            }
        }
        let digest = h.finalize();
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Programs that change files.
const WRITERS: [&str; 16] = [
    "rm", "rmdir", "unlink", "shred", "mv", "cp", "dd", "tee", "chmod", "chown", "chgrp",
    "truncate", "touch", "mkdir", "ln", "install",
];

/// Why `command` looks like it writes (`rm`, `>`...), for `dev check` and the approval of a
/// pack's commands: a program of [`WRITERS`], `sed -i`, or a redirection to a file, given
/// directly or inside `sh -c`. A hint for people, not a sandbox: an exec check is trusted by
/// its approval, not by this.
pub fn looks_like_write(command: &[String]) -> Option<String> {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let shells = ["sh", "bash", "ash", "dash", "zsh", "ksh"];
    let mut words: Vec<String> = Vec::new();
    let mut scripts: Vec<&str> = Vec::new();
    if let Some(program) = command.first() {
        if shells.contains(&base(program).as_str()) {
            let mut args = command[1..].iter();
            while let Some(a) = args.next() {
                if a.starts_with('-') && a.contains('c') {
                    scripts.extend(args.next().map(String::as_str));
                    break;
                }
            }
        } else {
            words.extend(command.iter().cloned());
        }
    }
    for script in &scripts {
        // Commands start after an operator; split on them and on quotes and substitutions.
        let spaced: String = script
            .chars()
            .map(|c| if ";|&()`\"'$\n{}".contains(c) { ' ' } else { c })
            .collect();
        words.extend(spaced.split_whitespace().map(str::to_string));
        if let Some(r) = redirection(script) {
            return Some(r);
        }
    }
    if scripts.is_empty() {
        if let Some(r) = redirection(&command.join(" ")) {
            return Some(r);
        }
    }
    for (i, w) in words.iter().enumerate() {
        let b = base(w);
        if WRITERS.contains(&b.as_str()) {
            return Some(format!("`{b}`"));
        }
        if b == "sed"
            && words[i + 1..]
                .iter()
                .any(|a| a.starts_with("-i") || a == "--in-place")
        {
            return Some("`sed -i`".into());
        }
    }
    None
}

/// A `>` or `>>` to a file (not `>&2`, `2>&1`, nor `>/dev/null`).
fn redirection(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'>' {
            let mut j = i + 1;
            if bytes.get(j) == Some(&b'>') {
                j += 1;
            }
            let rest = text[j..].trim_start();
            if !rest.starts_with('&') && !rest.starts_with("/dev/null") && !rest.is_empty() {
                return Some(format!("`{}`", &text[i..j]));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// `arg` as one shell word.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curriculum::exercise::testkit::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn commands_that_write_are_told_apart_from_those_that_read() {
        for (cmd, why) in [
            (&["rm", "-rf", "/data"][..], "`rm`"),
            (&["/bin/chmod", "777", "/d"], "`chmod`"),
            (
                &["sh", "-c", "rm -rf /var/lib/postgresql/data/* ; echo done"],
                "`rm`",
            ),
            (&["sh", "-c", "echo x > /data/f"], "`>`"),
            (&["sh", "-c", "echo x >>/data/f"], "`>>`"),
            (&["bash", "-ec", "cat /a | tee /b"], "`tee`"),
            (&["sh", "-c", "x=$(mv /a /b)"], "`mv`"),
            (&["sh", "-c", "dd if=/dev/zero of=/d/x"], "`dd`"),
            (&["sh", "-c", "truncate -s0 /d/x"], "`truncate`"),
            (&["sh", "-c", "sed -i s/a/b/ /etc/x"], "`sed -i`"),
            (&["chown", "1:1", "/d"], "`chown`"),
            (&["echo", ">", "/d"], "`>`"),
        ] {
            assert_eq!(
                looks_like_write(&argv(cmd)).as_deref(),
                Some(why),
                "{cmd:?}"
            );
        }
        // The built-in exercises' commands, and other readers.
        for cmd in [
            &["wget", "-qO-", "http://127.0.0.1:8080/VERSION"][..],
            &[
                "sh",
                "-c",
                "grep -m1 \"$(hostname)\" /workspace/logs/train.log",
            ],
            &["cat", "/app/models/VERSION"],
            &[
                "sh",
                "-c",
                "ls /data 2>&1 >/dev/null; cat /x 2> /dev/null; echo hi >&2",
            ],
            &["sh", "-c", "test -f /data/rm-me"],
        ] {
            assert_eq!(looks_like_write(&argv(cmd)), None, "{cmd:?}");
        }
    }

    #[test]
    fn the_exec_digest_changes_with_any_command_or_target() {
        let exec = |target: &str, cmd: &str| {
            let text = with_check(&format!(
                "  kind = \"exec\"\n  {target}\n  command = {cmd}\n"
            ));
            Exercise::parse("00-t", &text).unwrap().exec_digest()
        };
        let base = exec("service = \"a\"", "[\"cat\", \"/x\"]");
        assert!(base.as_ref().is_some_and(|d| d.len() == 64));
        assert_eq!(base, exec("service = \"a\"", "[\"cat\", \"/x\"]"));
        for other in [
            exec("service = \"b\"", "[\"cat\", \"/x\"]"),
            exec("service = \"a\"", "[\"cat\", \"/y\"]"),
            exec("service = \"a\"", "[\"cat /x\"]"),
            exec("service = \"a\"", "[\"cat\", \"/x\", \"\"]"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            Exercise::parse("00-t", MINIMAL).unwrap().exec_digest(),
            None
        );
    }
}
