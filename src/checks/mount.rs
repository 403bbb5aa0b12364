//! `kind = "mount"`: what a container has at a destination: type (volume | bind | tmpfs),
//! source (a volume name, or a host path relative to the exercise folder) and read-only.
//! Read-only is judged on `RW`, never on `Mode` (`-v a:b:ro` says "ro", `--mount ...,readonly` "").
//! A bind's source is the exercise's folder when the engine's path or the client's (kept in
//! `HostConfig`) names it, Docker Desktop's VM forms included (`host_path`).

use crate::util::error::Result;
use std::path::Path;

use serde::Deserialize;

use super::mounts_view::{self, MountView};
use super::{Judged, Kind, Target, Verdict, VolumeRef};
use crate::checks::host_path::HostPath;
use crate::checks::snapshot::{canonical, names_folder, Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountCheck {
    pub container: Option<String>,
    pub service: Option<String>,
    pub destination: String,
    #[serde(rename = "type")]
    pub mount_type: Option<String>,
    /// A volume name (type volume) or a host path relative to the exercise folder (type bind).
    pub source: Option<String>,
    /// Type volume: the volume of the exercise folder's compose project with this key.
    pub compose_source: Option<String>,
    pub read_only: Option<bool>,
    /// Type volume with no source: the volume must be anonymous.
    #[serde(default)]
    pub anonymous: bool,
}

impl Kind for MountCheck {
    fn validate(&self) -> Result<()> {
        Target::from_keys(&self.container, &self.service)?;
        if let Some(t) = &self.mount_type {
            if !["volume", "bind", "tmpfs"].contains(&t.as_str()) {
                return Err(format!("mount type `{t}` must be volume, bind or tmpfs").into());
            }
        }
        if self.source.is_some() && self.compose_source.is_some() {
            return Err("give `source` or `compose_source`, not both".into());
        }
        if self.anonymous
            && (self.source.is_some()
                || self.compose_source.is_some()
                || self.mount_type.as_deref() != Some("volume"))
        {
            return Err("`anonymous = true` needs `type = \"volume\"` and no source".into());
        }
        Ok(())
    }

    /// A bind mount of a folder of the exercise.
    fn host_files(&self) -> bool {
        self.mount_type.as_deref() == Some("bind") && self.source.is_some()
    }

    fn needs(&self, needs: &mut Needs) {
        Target::need_inspect(&self.container, &self.service, needs);
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let (target, info) = Target::inspect_from_keys(&self.container, &self.service, snap)?;
        let dest = &self.destination;
        let spec = self.describe_expected();
        let Some(m) = mounts_view::at(info, dest) else {
            return Ok(Verdict::fail(
                format!("{target} with {spec}"),
                mounts_view::nothing_at(info, dest),
                recreate(&target, &format!("mount something at {dest}")),
            ));
        };
        if let Some(want) = &self.mount_type {
            if &m.typ != want {
                return Ok(Verdict::fail(
                    format!("{target} with {spec}"),
                    mounts_view::describe(&m),
                    recreate(&target, &type_fix(want, &m, dest)),
                ));
            }
        }
        if let Some(found) = self.source_mismatch(&m, snap) {
            return Ok(Verdict::fail(
                format!("{target} with {spec}"),
                found,
                recreate(&target, "mount the right source"),
            ));
        }
        if self.anonymous && m.name.as_deref().is_some_and(|n| !is_anonymous(n)) {
            return Ok(Verdict::fail(
                format!("{target} with {spec}"),
                mounts_view::describe(&m),
                recreate(&target, &format!("an anonymous volume has no name: write just the path, `- {dest}` (or `-v {dest}`)")),
            ));
        }
        if let Some(ro) = self.read_only {
            if m.read_only != ro {
                let (want, got, change) = if ro {
                    (
                        "read-only",
                        "read-write",
                        "add `:ro` to the mount (`SRC:DEST:ro`; with `--mount`: `,readonly`)",
                    )
                } else {
                    (
                        "read-write",
                        "read-only",
                        "drop `:ro` / `readonly` from the mount",
                    )
                };
                let fix = recreate(&target, change);
                return Ok(Verdict::fail(
                    format!("{dest} mounted {want} in {target}"),
                    format!("it is mounted {got}"),
                    fix,
                ));
            }
        }
        Ok(Verdict::pass(mounts_view::describe(&m)))
    }
}

impl MountCheck {
    fn describe_expected(&self) -> String {
        let mut s = match self.mount_type.as_deref() {
            Some("bind") => format!("a bind mount at {}", self.destination),
            Some("tmpfs") => format!("a tmpfs at {}", self.destination),
            Some(_) if self.anonymous => format!("an anonymous volume at {}", self.destination),
            Some(_) => format!("a volume mount at {}", self.destination),
            None => format!("a mount at {}", self.destination),
        };
        if let Some(src) = &self.source {
            s.push_str(&format!(" from {src}"));
        }
        if let Some(key) = &self.compose_source {
            s.push_str(&format!(" from the compose volume {key}"));
        }
        match self.read_only {
            Some(true) => s.push_str(", read-only"),
            Some(false) => s.push_str(", read-write"),
            None => {}
        }
        s
    }

    /// `Some(what was found)` when the source is not the expected one.
    fn source_mismatch(&self, m: &MountView, snap: &Snapshot) -> Option<String> {
        if let Some(key) = &self.compose_source {
            let r = VolumeRef::Compose(key.clone());
            let want = r.resolve(snap).ok().flatten().map(|v| v.name.as_str());
            return match want {
                Some(w) if m.name.as_deref() == Some(w) => None,
                Some(w) => Some(format!(
                    "{} (expected `{w}`, the compose volume {key})",
                    mounts_view::describe(m)
                )),
                None => Some(format!(
                    "{}, but the compose project has no volume {key}",
                    mounts_view::describe(m)
                )),
            };
        }
        let want = self.source.as_ref()?;
        match m.typ.as_str() {
            "volume" => (m.name.as_deref() != Some(want.as_str()))
                .then(|| format!("{} (expected volume `{want}`)", mounts_view::describe(m))),
            "bind" => {
                let want_path = if Path::new(want).is_absolute() {
                    canonical(Path::new(want))
                } else {
                    snap.host_path(want)
                };
                let names_it = |p: &str| names_folder(p, &want_path, false);
                // Docker Desktop reports its VM's path; the client's path is kept as sent.
                let client = m.client_source.as_deref().filter(|c| {
                    HostPath::parse(c).is_absolute() && Some(*c) != m.source.as_deref()
                });
                let ok = m.source.as_deref().is_some_and(names_it) || client.is_some_and(names_it);
                (!ok).then(|| {
                    let given = client
                        .map(|c| format!(" (given as {c})"))
                        .unwrap_or_default();
                    format!(
                        "{}{given} but the exercise's {want} is {}",
                        mounts_view::describe(m),
                        want_path.display()
                    )
                })
            }
            _ => None,
        }
    }
}

/// How to change a mount: containers are re-created with the change; compose does that on `up`.
fn recreate(target: &Target, change: &str) -> String {
    match target {
        Target::Service(svc) => format!(
            "in compose.yaml, service `{svc}`: {change}; then `docker compose up -d` (it re-creates the container)"
        ),
        Target::Container(name) => format!(
            "{change}; mounts are fixed when a container is created, so `docker rm -f {name}` and run it again"
        ),
    }
}

fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit())
}

fn type_fix(want: &str, found: &MountView, dest: &str) -> String {
    match (want, found.typ.as_str()) {
        ("bind", "volume") => format!(
            "a bind mount needs a host PATH: `-v \"$(pwd)/SRC:{dest}\"`; a bare name like `-v data:{dest}` makes a named volume"
        ),
        ("volume", "bind") => format!("use a volume NAME, not a path: `-v NAME:{dest}`"),
        ("tmpfs", _) => format!("use `--tmpfs {dest}` (or `--mount type=tmpfs,destination={dest}`)"),
        _ => format!("make it a {want} mount at {dest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    fn check(t: &str) -> MountCheck {
        toml::from_str(t).unwrap()
    }

    #[test]
    fn bind_mount_source_type_and_read_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("models")).unwrap();
        let models = dir.path().join("models").to_string_lossy().to_string();
        let snap = snapshot_with_inspect(
            dir.path(),
            "api",
            &inspect_json(&[("bind", &models, "", "/app/models", true)], &[]),
        );
        let ok = check("container='api'\ndestination='/app/models'\ntype='bind'\nsource='models'\nread_only=false");
        assert!(ok.evaluate(&snap).is_pass(), "{:?}", ok.evaluate(&snap));
        let v = check("container='api'\ndestination='/app/models/'\ntype='bind'\nsource='models'\nread_only=true").evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("mounted read-write"), "{}", v.message);
        let v = check("container='api'\ndestination='/app/models'\ntype='bind'\nsource='data'")
            .evaluate(&snap);
        assert!(
            v.message.contains("the exercise's data is"),
            "{}",
            v.message
        );
    }

    /// A folder reached through a symbolic link (macOS's `/tmp` is `/private/tmp`; home folders
    /// are often links) is the same folder: `-v "$(pwd)/data:/app/data"` typed in the linked
    /// path grades as the exercise's `data`, whichever side names it through the link.
    #[test]
    fn a_bind_through_a_symlink_is_the_same_folder() {
        let real = tempfile::tempdir().unwrap();
        std::fs::create_dir(real.path().join("data")).unwrap();
        let links = tempfile::tempdir().unwrap();
        let link = links.path().join("ws");
        std::os::unix::fs::symlink(real.path(), &link).unwrap();
        let through_link = link.join("data").to_string_lossy().to_string();
        let real_data = real.path().join("data").to_string_lossy().to_string();
        let want = "container='trainer'\ndestination='/app/data'\ntype='bind'\nsource='data'";
        for (exercise_dir, reported) in [
            (real.path(), &through_link),
            (link.as_path(), &through_link),
            (link.as_path(), &real_data),
        ] {
            let snap = snapshot_with_inspect(
                exercise_dir,
                "trainer",
                &inspect_json(&[("bind", reported, "", "/app/data", true)], &[]),
            );
            let v = check(want).evaluate(&snap);
            assert!(v.is_pass(), "{exercise_dir:?} with {reported}: {v:?}");
        }
        // Another folder of the same name is not the exercise's.
        let other = links.path().join("data");
        std::fs::create_dir(&other).unwrap();
        let snap = snapshot_with_inspect(
            &link,
            "trainer",
            &inspect_json(
                &[("bind", &other.to_string_lossy(), "", "/app/data", true)],
                &[],
            ),
        );
        assert_eq!(check(want).evaluate(&snap).status, Status::Fail);
    }

    #[test]
    fn named_volume_where_a_bind_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot_with_inspect(
            dir.path(),
            "trainer",
            &inspect_json(
                &[(
                    "volume",
                    "/var/lib/docker/volumes/data/_data",
                    "data",
                    "/app/data",
                    true,
                )],
                &[],
            ),
        );
        let v = check("container='trainer'\ndestination='/app/data'\ntype='bind'\nsource='data'")
            .evaluate(&snap);
        assert!(
            v.message
                .contains("/app/data is a volume mount (read-write) of volume `data`"),
            "{}",
            v.message
        );
        assert!(v.message.contains("makes a named volume"), "{}", v.message);
        let v = check("container='trainer'\ndestination='/app/cache'").evaluate(&snap);
        assert!(
            v.message
                .contains("nothing is mounted at /app/cache (mounts: /app/data)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn read_only_from_rw_flag_whatever_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        // `--mount ...,readonly` reports Mode "" with RW false.
        let snap = snapshot_with_inspect(
            dir.path(),
            "api",
            &inspect_json(&[("volume", "/x", "models", "/app/models", false)], &[]),
        );
        assert!(check("container='api'\ndestination='/app/models'\ntype='volume'\nsource='models'\nread_only=true").evaluate(&snap).is_pass());
    }

    #[test]
    fn anonymous_volume() {
        let dir = tempfile::tempdir().unwrap();
        let anon = "a".repeat(64);
        let snap = snapshot_with_inspect(
            dir.path(),
            "t",
            &inspect_json(&[("volume", "/x", &anon, "/tmp/cache", true)], &[]),
        );
        assert!(
            check("container='t'\ndestination='/tmp/cache'\ntype='volume'\nanonymous=true")
                .evaluate(&snap)
                .is_pass()
        );
        let snap = snapshot_with_inspect(
            dir.path(),
            "t",
            &inspect_json(&[("volume", "/x", "cache", "/tmp/cache", true)], &[]),
        );
        assert_eq!(
            check("container='t'\ndestination='/tmp/cache'\ntype='volume'\nanonymous=true")
                .evaluate(&snap)
                .status,
            Status::Fail
        );
    }
}
