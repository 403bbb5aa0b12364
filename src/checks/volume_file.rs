//! `kind = "volume-file"`: a path inside a volume exists (or not), with content, owner and mode.
//! Read through a probe container that is never started (see `probe`).

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Verdict, VolumeRef};
use crate::checks::snapshot::{FileKind, Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeFile {
    pub volume: Option<String>,
    /// A volume of the exercise folder's compose project instead of a named one.
    pub compose_volume: Option<String>,
    /// Relative to the volume root; `.` is the root itself.
    pub path: String,
    #[serde(default = "yes")]
    pub exists: bool,
    /// The whole content, compared with surrounding whitespace trimmed.
    pub equals: Option<String>,
    pub contains: Option<String>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    /// Octal permission bits, e.g. "0600".
    pub mode: Option<String>,
    /// "file" or "dir".
    #[serde(rename = "type")]
    pub file_type: Option<String>,
    /// What writes the file, so that "does not exist" says why it is not there yet.
    pub written_by: Option<Writer>,
}

/// The container (or compose service) that writes a file, and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writer {
    pub container: Option<String>,
    pub service: Option<String>,
    /// When it writes it and how to see that it did (Markdown): "after its last epoch; wait for
    /// `published model` in `docker compose logs trainer`".
    pub when: String,
}

impl Writer {
    /// Why the file is not there yet, from the writer's state in the snapshot.
    pub(crate) fn why_missing(&self, snap: &Snapshot, path: &str) -> Option<String> {
        let target = super::Target::from_keys(&self.container, &self.service).ok()?;
        let when = &self.when;
        Some(match target.resolve(snap) {
            Err(_) => {
                format!("nothing wrote it yet: {target} does not exist (it writes {path} {when})")
            }
            Ok(c) => {
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                match state.as_str() {
                    "running" => format!("not written yet: {target} is running and writes {path} {when}"),
                    "created" => format!(
                        "{target} was created but never started, so it has not written {path} (it writes it {when})"
                    ),
                    other => {
                        let (logs, again) = match &target {
                            super::Target::Service(s) => (
                                format!("docker compose logs {s}"),
                                "`docker compose up -d` starts it again".to_string(),
                            ),
                            super::Target::Container(n) => (
                                format!("docker logs {n}"),
                                format!("`docker start {n}` runs it again"),
                            ),
                        };
                        format!(
                            "{target} is {other} ({}): it stopped before writing {path}; its log \
                             says why (`{logs}`), and {again} (it writes {path} {when})",
                            c.status.as_deref().unwrap_or("")
                        )
                    }
                }
            }
        })
    }
}

fn yes() -> bool {
    true
}

impl VolumeFile {
    fn volume_ref(&self) -> Result<VolumeRef> {
        VolumeRef::from_keys(&self.volume, &self.compose_volume)
    }

    fn wanted_mode(&self) -> Result<Option<u32>> {
        self.mode
            .as_deref()
            .map(|m| {
                u32::from_str_radix(m.trim_start_matches("0o"), 8)
                    .map_err(|_| format!("mode `{m}` is not octal (write e.g. \"0600\")"))
            })
            .transpose()
            .map_err(Into::into)
    }

    fn shown_path(&self) -> String {
        if crate::checks::snapshot::normalise_path(&self.path) == "." {
            "the root folder".to_string()
        } else {
            self.path.clone()
        }
    }
}

impl Kind for VolumeFile {
    fn validate(&self) -> Result<()> {
        self.volume_ref()?;
        self.wanted_mode()?;
        if let Some(w) = &self.written_by {
            super::Target::from_keys(&w.container, &w.service)
                .map_err(|e| format!("written_by: {e}"))?;
        }
        if let Some(t) = &self.file_type {
            if t != "file" && t != "dir" {
                return Err(format!("type `{t}` must be \"file\" or \"dir\"").into());
            }
        }
        Ok(())
    }

    fn needs(&self, needs: &mut Needs) {
        if let Ok(r) = self.volume_ref() {
            // Existence, type and mode need no owner and no bytes: a stat does.
            let whole = self.equals.is_some()
                || self.contains.is_some()
                || self.uid.is_some()
                || self.gid.is_some();
            if whole {
                needs.file(&r, &self.path);
            } else {
                needs.file_stat(&r, &self.path);
            }
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = self.volume_ref().map_err(Verdict::error)?;
        let path = self.shown_path();
        let vol: &str = match r.resolve(snap)? {
            None if !self.exists => {
                return Ok(Verdict::pass(format!("no volume {r}, so no {path}")))
            }
            None => return Ok(r.missing(snap, &format!("{path} in volume {r}"))),
            Some(v) => &v.name,
        };
        let Some(fact) = snap.file(&r, &self.path)? else {
            if !self.exists {
                return Ok(Verdict::pass(format!("{path} is not in {vol}")));
            }
            let look = format!(
                "see what is there with `docker run --rm -v {vol}:/data workbook/tools ls -la /data`"
            );
            // A volume that is a bind of a host folder shows what is in that folder: when the
            // file is not there, the folder is the first suspect.
            let device = snap.volume(vol).ok().flatten().and_then(|v| {
                let binds = v.options.get("o").is_some_and(|o| {
                    o.split(',')
                        .any(|i| i.trim() == "bind" || i.trim() == "rbind")
                });
                binds.then(|| v.options.get("device").cloned()).flatten()
            });
            let fix = match self
                .written_by
                .as_ref()
                .and_then(|w| w.why_missing(snap, &path))
            {
                Some(why) => format!("{why}; {look}"),
                None if device.is_some() => format!(
                    "{vol} is bound to the host folder {} (its `device` option), which holds no \
                     {path}: is that the folder the task names? Driver options are fixed at \
                     creation: remove the volume and create it again with the right `device`",
                    device.unwrap_or_default()
                ),
                None => format!(
                    "the container the task names must write it into the folder where {vol} is mounted; {look}"
                ),
            };
            return Ok(Verdict::fail(
                format!("{path} in volume {vol}"),
                format!("{path} does not exist in {vol}"),
                fix,
            ));
        };
        if !self.exists {
            return Ok(Verdict::fail(
                format!("no {path} in volume {vol}"),
                format!("{path} is still there"),
                format!("delete it from a container: `docker run --rm -v {vol}:/data workbook/tools rm -r /data/{path}`"),
            ));
        }
        if let Some(t) = &self.file_type {
            let is = match fact.kind {
                FileKind::File => "file",
                FileKind::Dir => "dir",
                FileKind::Symlink => "symlink",
                FileKind::Other => "special file",
            };
            if t != is {
                return Ok(Verdict::fail(
                    format!("{path} in {vol} to be a {t}"),
                    format!("a {is}"),
                    "re-create it with the right type",
                ));
            }
        }
        if self.equals.is_some() || self.contains.is_some() {
            let Some(bytes) = &fact.content else {
                return Ok(Verdict::fail(
                    format!("{path} in {vol} to be a readable file"),
                    match fact.kind {
                        FileKind::File => {
                            format!("a file of {} bytes, too large to read", fact.size)
                        }
                        FileKind::Dir => "a folder".to_string(),
                        _ => "not a regular file".to_string(),
                    },
                    format!("write {path} as a small text file"),
                ));
            };
            let text = String::from_utf8_lossy(bytes);
            if let Some(want) = &self.equals {
                if text.trim() != want.trim() {
                    return Ok(Verdict::fail(
                        format!("{path} in {vol} to hold `{}`", want.trim()),
                        format!("it holds {}", preview(&text)),
                        format!("write exactly `{}` into it", want.trim()),
                    ));
                }
            }
            if let Some(want) = &self.contains {
                if !text.contains(want.as_str()) {
                    return Ok(Verdict::fail(
                        format!("{path} in {vol} to contain `{want}`"),
                        format!("it holds {}", preview(&text)),
                        format!(
                            "the task says what must put `{want}` there; read the file with \
                             `docker run --rm -v {vol}:/data:ro workbook/tools cat /data/{}`",
                            self.path
                        ),
                    ));
                }
            }
        }
        let owner_fix = |what: &str| {
            format!(
                "fix it from a container: `docker run --rm -v {vol}:/data workbook/tools {what} /data/{}`",
                if path == "the root folder" { "" } else { &self.path }
            )
        };
        let unread = || {
            Verdict::error(format!(
                "internal: the owner of {path} in {vol} was not read (its check asked for a stat only)"
            ))
        };
        if let Some(uid) = self.uid {
            let found = fact.uid.ok_or_else(unread)?;
            if found != uid {
                return Ok(Verdict::fail(
                    format!("{path} in {vol} owned by uid {uid}"),
                    format!("uid {found}"),
                    owner_fix(&format!("chown {uid}")),
                ));
            }
        }
        if let Some(gid) = self.gid {
            let found = fact.gid.ok_or_else(unread)?;
            if found != gid {
                return Ok(Verdict::fail(
                    format!("{path} in {vol} with group gid {gid}"),
                    format!("gid {found}"),
                    owner_fix(&format!("chgrp {gid}")),
                ));
            }
        }
        if let Ok(Some(mode)) = self.wanted_mode() {
            if fact.mode != mode {
                return Ok(Verdict::fail(
                    format!("{path} in {vol} with mode {mode:04o}"),
                    format!("mode {:04o}", fact.mode),
                    owner_fix(&format!("chmod {mode:04o}")),
                ));
            }
        }
        Ok(Verdict::pass(format!("{path} in {vol}")))
    }
}

/// A file's text for messages: a one-line file whole, a longer one by its last line (logs grow
/// at the end).
fn preview(text: &str) -> String {
    let t = text.trim();
    let cut = |line: &str| {
        let short: String = line.chars().take(100).collect();
        if short.len() < line.len() {
            format!("`{short}...`")
        } else {
            format!("`{short}`")
        }
    };
    match t.lines().count() {
        0 => "nothing (the file is empty)".to_string(),
        1 => cut(t),
        n => format!(
            "{n} lines, the last: {}",
            cut(t.lines().last().unwrap_or(""))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    fn check(t: &str) -> VolumeFile {
        toml::from_str(&format!("volume='ml-data'\n{t}")).unwrap()
    }

    #[test]
    fn content_owner_and_mode() {
        let snap = snapshot_with_file(
            "ml-data",
            "hello.txt",
            Some(file(b"persisted\n", 1000, 0o600)),
        );
        assert!(check("path='hello.txt'\ncontains='persisted'")
            .evaluate(&snap)
            .is_pass());
        assert!(
            check("path='./hello.txt'\nequals='persisted'\nuid=1000\nmode='0600'")
                .evaluate(&snap)
                .is_pass()
        );
        let v = check("path='hello.txt'\ncontains='other'").evaluate(&snap);
        assert!(
            v.message.contains("to contain `other`") && v.message.contains("`persisted`"),
            "{}",
            v.message
        );
        assert!(check("path='hello.txt'\nuid=0")
            .evaluate(&snap)
            .message
            .contains("uid 1000"));
        assert!(check("path='hello.txt'\nmode='0644'")
            .evaluate(&snap)
            .message
            .contains("mode 0600"));
    }

    #[test]
    fn a_missing_file_names_the_folder_a_bind_volume_shows_and_what_writes_it() {
        let mut snap = snapshot_with_file("ml-data", "train.csv", None);
        snap.volumes = Ok(vec![volume(
            "ml-data",
            "local",
            &[],
            &[
                ("type", "none"),
                ("o", "bind"),
                ("device", "/ws/10/fast-ssd"),
            ],
        )]);
        let v = check("path='train.csv'").evaluate(&snap);
        assert!(
            v.message.contains("ml-data is bound to the host folder /ws/10/fast-ssd (its `device` option), which holds no train.csv"),
            "{}",
            v.message
        );
        // What writes it, from the writer's state: here it does not exist at all.
        let snap = snapshot_with_file("ml-data", "VERSION", None);
        let v = check(
            "path='VERSION'\nwritten_by = { container = 'trainer', when = 'after its last epoch' }",
        )
        .evaluate(&snap);
        assert!(
            v.message.contains("nothing wrote it yet: container trainer does not exist (it writes VERSION after its last epoch)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn missing_file_and_volume() {
        let snap = snapshot_with_file("ml-data", "hello.txt", None);
        let v = check("path='hello.txt'").evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("hello.txt does not exist"),
            "{}",
            v.message
        );
        assert!(check("path='hello.txt'\nexists=false")
            .evaluate(&snap)
            .is_pass());
        let empty = snapshot_with_volumes(&[]);
        assert!(check("path='hello.txt'")
            .evaluate(&empty)
            .message
            .contains("no volume named ml-data"));
    }

    #[test]
    fn read_error_is_error() {
        let mut snap = snapshot_with_file("ml-data", "hello.txt", None);
        snap.files.insert(
            (VolumeRef::Named("ml-data".into()), "hello.txt".into()),
            Err("daemon gone".into()),
        );
        assert_eq!(
            check("path='hello.txt'").evaluate(&snap).status,
            Status::Error
        );
    }

    #[test]
    fn bad_mode_is_refused() {
        assert!(check("path='x'\nmode='rw'").validate().is_err());
    }
}
