//! `kind = "host-file"`: a file in the exercise folder on the host: exists, content, or content
//! that holds a fact of a container (its hostname or id), proving it was written from inside.

use crate::util::error::Result;
use std::io::Read;

use serde::Deserialize;

use super::{Judged, Kind, Target, Verdict};
use crate::checks::snapshot::{Needs, Snapshot};
use crate::util::hostfile::{self, Refusal};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFile {
    /// Relative to the exercise folder.
    pub path: String,
    #[serde(default = "yes")]
    pub exists: bool,
    pub equals: Option<String>,
    pub contains: Option<String>,
    /// The file must contain this fact of a container.
    pub contains_fact: Option<Fact>,
    /// What writes the file (a container, through a bind mount), so that "does not exist" says
    /// why it is not there yet.
    pub written_by: Option<super::volume_file::Writer>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub container: Option<String>,
    pub service: Option<String>,
    /// "hostname" or "id".
    pub field: String,
}

fn yes() -> bool {
    true
}

impl Fact {
    fn target(&self) -> Result<Target> {
        Target::from_keys(&self.container, &self.service)
    }
}

impl Kind for HostFile {
    fn validate(&self) -> Result<()> {
        if self.path.starts_with('/') || self.path.split('/').any(|p| p == "..") {
            return Err(format!(
                "host-file path `{}` must stay inside the exercise folder",
                self.path
            )
            .into());
        }
        if let Some(f) = &self.contains_fact {
            f.target()?;
            if f.field != "hostname" && f.field != "id" {
                return Err(
                    format!("fact field `{}` must be \"hostname\" or \"id\"", f.field).into(),
                );
            }
        }
        Ok(())
    }

    fn host_files(&self) -> bool {
        true
    }

    fn needs(&self, needs: &mut Needs) {
        if let Some(t) = self.contains_fact.as_ref().and_then(|f| f.target().ok()) {
            needs.inspect(t);
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let path = &self.path;
        let full = snap.exercise_dir.join(path);
        let mut bytes = Vec::new();
        let read = hostfile::open(&snap.exercise_dir, path)
            .and_then(|mut f| f.file.read_to_end(&mut bytes).map_err(Refusal::Io));
        let text = match read {
            Ok(_) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(Refusal::Missing) => {
                if !self.exists {
                    return Ok(Verdict::pass(format!("{path} is absent")));
                }
                let fix = self
                    .written_by
                    .as_ref()
                    .and_then(|w| w.why_missing(snap, path))
                    .unwrap_or_else(|| "create it as the task says".to_string());
                return Ok(Verdict::fail(
                    format!("the file {path} in {}", snap.exercise_dir.display()),
                    format!("{path} does not exist"),
                    fix,
                ));
            }
            Err(Refusal::Io(e)) => {
                return Ok(Verdict::error(format!(
                    "cannot read {}: {e}",
                    full.display()
                )))
            }
            // Something is there, but it is not a file of the folder that may be read.
            Err(r) if !self.exists => {
                return Ok(Verdict::fail(
                    format!("no file {path}"),
                    r.found(path, &snap.exercise_dir),
                    format!("rm {path}"),
                ))
            }
            Err(r) => {
                return Ok(Verdict::fail(
                    format!("the file {path} in {}", snap.exercise_dir.display()),
                    r.found(path, &snap.exercise_dir),
                    r.fix(),
                ))
            }
        };
        if !self.exists {
            return Ok(Verdict::fail(
                format!("no file {path}"),
                format!("{path} exists"),
                format!("rm {path}"),
            ));
        }
        if let Some(want) = &self.equals {
            if text.trim() != want.trim() {
                return Ok(Verdict::fail(
                    format!("{path} to hold `{}`", want.trim()),
                    format!("`{}`", text.trim()),
                    "write exactly that into it",
                ));
            }
        }
        if let Some(want) = &self.contains {
            if !text.contains(want.as_str()) {
                return Ok(Verdict::fail(
                    format!("{path} to contain `{want}`"),
                    format!("`{}`", text.trim()),
                    format!("write `{want}` into it"),
                ));
            }
        }
        if let Some(fact) = &self.contains_fact {
            let target = fact.target().map_err(Verdict::error)?;
            let info = snap.inspect(target.resolve(snap)?)?;
            let value = match fact.field.as_str() {
                "hostname" => info.config.as_ref().and_then(|c| c.hostname.clone()),
                _ => info.id.clone(),
            }
            .unwrap_or_default();
            if value.is_empty() || !text.contains(&value) {
                let found = if text.trim().is_empty() {
                    format!("{path} is empty")
                } else {
                    format!(
                        "{path} holds `{}`",
                        text.trim().chars().take(80).collect::<String>()
                    )
                };
                let name = match &target {
                    Target::Container(n) | Target::Service(n) => n.clone(),
                };
                return Ok(Verdict::fail(
                    format!("{path} to contain the {} of {name} (`{value}`)", fact.field),
                    found,
                    "write it from INSIDE the container, through the mount: `docker exec NAME sh -c 'hostname > /MOUNT/FILE'`"
                        .replace("NAME", &name),
                ));
            }
        }
        Ok(Verdict::pass(format!("{path} is right")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn file_holding_a_container_hostname() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let mut info = inspect_json(&[], &[]);
        info["Config"] = serde_json::json!({"Hostname": "4f2a9c1b7e3d"});
        let snap = snapshot_with_inspect(dir.path(), "trainer", &info);
        let check: HostFile = toml::from_str(
            "path='data/from-container.txt'\ncontains_fact={container='trainer', field='hostname'}",
        )
        .unwrap();
        let v = check.evaluate(&snap);
        assert!(v.message.contains("does not exist"), "{}", v.message);
        std::fs::write(dir.path().join("data/from-container.txt"), "laptop\n").unwrap();
        let v = check.evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("hostname of trainer (`4f2a9c1b7e3d`)"),
            "{}",
            v.message
        );
        assert!(v.message.contains("`laptop`"), "{}", v.message);
        std::fs::write(dir.path().join("data/from-container.txt"), "4f2a9c1b7e3d\n").unwrap();
        assert!(check.evaluate(&snap).is_pass());
    }

    #[test]
    fn paths_must_stay_inside() {
        let check: HostFile = toml::from_str("path='../etc/passwd'").unwrap();
        assert!(check.validate().is_err());
    }

    #[test]
    #[cfg(unix)]
    fn a_fifo_or_a_link_outside_the_folder_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let ex = dir.path().join("exercise");
        std::fs::create_dir(&ex).unwrap();
        std::fs::write(dir.path().join("secret"), "SECRET-CONTENT\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), ex.join("notes.txt")).unwrap();
        crate::util::hostfile::make_fifo(&ex.join("pipe.txt"));
        let snap = crate::checks::snapshot::Snapshot::new(&ex);
        let check: HostFile = toml::from_str("path='notes.txt'\ncontains='hello'").unwrap();
        let v = check.evaluate(&snap);
        assert_eq!(v.status, Status::Fail, "{}", v.message);
        assert!(
            v.message
                .contains("notes.txt leads outside the exercise folder"),
            "{}",
            v.message
        );
        assert!(!v.message.contains("SECRET"), "{}", v.message);
        let check: HostFile = toml::from_str("path='pipe.txt'\ncontains='hello'").unwrap();
        let v = crate::util::hostfile::within_10s(move || check.evaluate(&snap));
        assert_eq!(v.status, Status::Fail, "{}", v.message);
        assert!(
            v.message.contains("pipe.txt is a named pipe (FIFO)"),
            "{}",
            v.message
        );
        // `exists = false`: something is there, so it fails, still unread.
        let snap = crate::checks::snapshot::Snapshot::new(&ex);
        let check: HostFile = toml::from_str("path='notes.txt'\nexists=false").unwrap();
        let v = check.evaluate(&snap);
        assert_eq!(v.status, Status::Fail, "{}", v.message);
        assert!(!v.message.contains("SECRET"), "{}", v.message);
    }
}
