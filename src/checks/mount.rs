//! `kind = "mount"`: what a container has at a destination: type (volume | bind | tmpfs),
//! source (a volume name, or a host path relative to the exercise folder) and read-only.
//! Read-only is judged on `RW`, never on `Mode` (`-v a:b:ro` says "ro", `--mount ...,readonly` "").
//! A bind's source is the exercise's folder when the engine's path or the client's (kept in
//! `HostConfig`) names it, Docker Desktop's VM forms included (`host_path`).

use crate::util::error::Result;
use std::path::Path;

use bollard::models::ContainerInspectResponse;
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
        let entry = self.entry(&target);
        let Some(m) = mounts_view::at(info, dest) else {
            let near = mounts_view::all(info).into_iter().map(|m| m.destination);
            let near: Vec<String> = near.collect();
            let typo = crate::util::suggest::closest(dest, near.iter().map(String::as_str))
                .map(|d| format!("; {d} is not {dest}: mind the spelling"))
                .unwrap_or_default();
            return Ok(Verdict::fail(
                format!("{target} with {spec}"),
                format!("{}{typo}", mounts_view::nothing_at(info, dest)),
                recreate(&target, &format!("add {entry}")),
            ));
        };
        if let Some(want) = &self.mount_type {
            if &m.typ != want {
                return Ok(Verdict::fail(
                    format!("{target} with {spec}"),
                    mounts_view::describe(&m),
                    recreate(&target, &self.type_fix(&target, &m)),
                ));
            }
        }
        if let Some(found) = self.source_mismatch(&m, snap) {
            let elsewhere = self.elsewhere(info, snap).map(|at| {
                let anonymous = m.name.as_deref().is_some_and(is_anonymous);
                format!(
                    "; the volume you meant is mounted at {at} instead{}",
                    if anonymous {
                        ", and the engine made an anonymous volume here for the VOLUME the \
                         image declares: the data is written into that one"
                    } else {
                        ""
                    }
                )
            });
            return Ok(Verdict::fail(
                format!("{target} with {spec}"),
                format!("{found}{}", elsewhere.unwrap_or_default()),
                recreate(&target, &format!("mount the right source: {entry}")),
            ));
        }
        if self.anonymous && m.name.as_deref().is_some_and(|n| !is_anonymous(n)) {
            return Ok(Verdict::fail(
                format!("{target} with {spec}"),
                mounts_view::describe(&m),
                recreate(
                    &target,
                    &format!("an anonymous volume has no name: write just the path, {entry}"),
                ),
            ));
        }
        if let Some(ro) = self.read_only {
            if m.read_only != ro {
                let compose = matches!(target, Target::Service(_));
                let (want, got, change) = match (ro, compose) {
                    (true, true) => (
                        "read-only",
                        "read-write",
                        format!("add `:ro` to its entry: {entry} (long syntax: `read_only: true`)"),
                    ),
                    (true, false) => (
                        "read-only",
                        "read-write",
                        format!("add `:ro` to the mount: {entry} (with `--mount`: `,readonly`)"),
                    ),
                    (false, _) => (
                        "read-write",
                        "read-only",
                        format!("drop `:ro` / `readonly` from the mount: {entry}"),
                    ),
                };
                let fix = recreate(&target, &change);
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
    /// The mount as the learner writes it: a `compose.yaml` entry of the service, or the
    /// `docker run` flag; with the source the check names (else a NAME / SRC to fill in).
    fn entry(&self, target: &Target) -> String {
        let dest = &self.destination;
        let ro = if self.read_only == Some(true) {
            ":ro"
        } else {
            ""
        };
        let compose = matches!(target, Target::Service(_));
        let src = self.compose_source.as_ref().or(self.source.as_ref());
        match (self.mount_type.as_deref(), compose) {
            (Some("tmpfs"), true) => format!("`tmpfs: [\"{dest}\"]` to the service"),
            (Some("tmpfs"), false) => format!("`--tmpfs {dest}`"),
            (_, true) if self.anonymous => format!("`- {dest}` to its `volumes:`"),
            (_, false) if self.anonymous => format!("`-v {dest}`"),
            (Some("bind"), true) => {
                let src = src.map_or("SRC", |s| s.trim_start_matches("./"));
                format!("`- ./{src}:{dest}{ro}` to its `volumes:` (a path, starting with `./`)")
            }
            (Some("bind"), false) => {
                let src = src.map_or("SRC", |s| s.as_str());
                format!("`-v \"$(pwd)/{src}:{dest}{ro}\"` (a host path)")
            }
            (_, true) => {
                let src = src.map_or("NAME", |s| s.as_str());
                format!(
                    "`- {src}:{dest}{ro}` to its `volumes:`, with `{src}:` declared under the \
                     top-level `volumes:`"
                )
            }
            (_, false) => {
                let src = src.map_or("NAME", |s| s.as_str());
                format!("`-v {src}:{dest}{ro}`")
            }
        }
    }

    /// The fix when the mount at the destination is of another type: why the engine made that
    /// type of what was written, and the entry that makes the right one.
    fn type_fix(&self, target: &Target, found: &MountView) -> String {
        let entry = self.entry(target);
        let compose = matches!(target, Target::Service(_));
        let want = self.mount_type.as_deref().unwrap_or("");
        match (want, found.typ.as_str(), compose) {
            ("bind", "volume", true) => format!(
                "a bare name in a service's `volumes:` is a named volume; a folder of this one is \
                 a path: write {entry}, and drop the name from the top-level `volumes:`"
            ),
            ("bind", "volume", false) => format!(
                "a bare name like `-v data:{}` makes a named volume; a bind mount needs a host \
                 PATH: {entry}",
                self.destination
            ),
            ("volume", "bind", true) => format!(
                "a path (`./...`) in a service's `volumes:` binds a host folder; a volume is \
                 written by its NAME: {entry}"
            ),
            ("volume", "bind", false) => {
                format!("use a volume NAME, not a path: {entry}")
            }
            _ => format!("make it a {want} mount: {entry}"),
        }
    }

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

    /// Where the expected volume is mounted in this container when not at the destination
    /// (`postgres_data` at `/var/lib/postgres`, a typo of the path).
    fn elsewhere(&self, info: &ContainerInspectResponse, snap: &Snapshot) -> Option<String> {
        let want = match (&self.compose_source, &self.source) {
            (Some(key), _) => VolumeRef::Compose(key.clone())
                .resolve(snap)
                .ok()
                .flatten()
                .map(|v| v.name.clone())?,
            (None, Some(name)) if self.mount_type.as_deref() == Some("volume") => name.clone(),
            _ => return None,
        };
        mounts_view::all(info)
            .into_iter()
            .find(|m| m.name.as_deref() == Some(want.as_str()) && m.destination != self.destination)
            .map(|m| m.destination)
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
            "in compose.yaml, service `{svc}`: {change}; then `docker compose up -d` (it re-creates \
             the container)"
        ),
        Target::Container(name) => format!(
            "{change}; mounts are fixed when a container is created: `docker rm -f {name}`, then \
             the task's `docker run --name {name} ...` again with that mount"
        ),
    }
}

fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit())
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
    fn a_volume_mounted_at_the_wrong_path_is_found_where_it_is() {
        // `postgres_data:/var/lib/postgres`: the image's VOLUME puts an anonymous one at the
        // real path.
        let dir = tempfile::tempdir().unwrap();
        let anon = "3f1e0c9a8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f";
        let snap = snapshot_with_inspect(
            dir.path(),
            "db",
            &inspect_json(
                &[
                    (
                        "volume",
                        "/v/pg/_data",
                        "postgres_data",
                        "/var/lib/postgres",
                        true,
                    ),
                    (
                        "volume",
                        "/v/anon/_data",
                        anon,
                        "/var/lib/postgresql/data",
                        true,
                    ),
                ],
                &[],
            ),
        );
        let v = check(
            "container='db'\ndestination='/var/lib/postgresql/data'\ntype='volume'\nsource='postgres_data'",
        )
        .evaluate(&snap);
        assert!(
            v.message.contains(
                "the volume you meant is mounted at /var/lib/postgres instead, and the engine \
                 made an anonymous volume here"
            ),
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

    /// A service's container, inspected as `info`, from the exercise folder `dir`.
    fn service_snap(dir: &std::path::Path, svc: &str, info: &serde_json::Value) -> Snapshot {
        let mut snap = snapshot_with_inspect(dir, svc, info);
        let here = dir.to_string_lossy().to_string();
        snap.containers = Ok(vec![summary(
            svc,
            "running",
            &[],
            &[
                ("com.docker.compose.service", svc),
                ("com.docker.compose.project.working_dir", &here),
            ],
        )]);
        snap
    }

    #[test]
    fn a_compose_service_is_told_the_compose_yaml_entry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("checkpoints")).unwrap();
        let ckpt = dir.path().join("checkpoints").to_string_lossy().to_string();
        let snap = service_snap(
            dir.path(),
            "trainer",
            &inspect_json(
                &[
                    ("bind", &ckpt, "", "/workspace/checkpoints", true),
                    ("volume", "/x", "ex_data", "/workspace/data", false),
                    ("volume", "/y", "ex_logs", "/workspace/log", true),
                ],
                &[],
            ),
        );
        let v = check("service='trainer'\ndestination='/workspace/checkpoints'\ntype='volume'\ncompose_source='checkpoints'")
            .evaluate(&snap);
        assert!(
            v.message.contains("a volume is written by its NAME: `- checkpoints:/workspace/checkpoints` to its `volumes:`")
                && !v.message.contains("-v "),
            "{}",
            v.message
        );
        let v = check("service='trainer'\ndestination='/workspace/data'\ntype='bind'\nsource='data'\nread_only=true")
            .evaluate(&snap);
        assert!(
            v.message
                .contains("write `- ./data:/workspace/data:ro` to its `volumes:`")
                && v.message
                    .contains("drop the name from the top-level `volumes:`"),
            "{}",
            v.message
        );
        let v = check("service='trainer'\ndestination='/workspace/logs'\ntype='volume'\ncompose_source='logs'")
            .evaluate(&snap);
        assert!(
            v.message
                .contains("/workspace/log is not /workspace/logs: mind the spelling")
                && v.message
                    .contains("add `- logs:/workspace/logs` to its `volumes:`"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_run_container_is_told_the_flag_and_to_run_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot_with_inspect(dir.path(), "api", &inspect_json(&[], &[]));
        let v = check("container='api'\ndestination='/app/models'\ntype='bind'\nsource='models'\nread_only=true")
            .evaluate(&snap);
        assert!(
            v.message
                .contains("add `-v \"$(pwd)/models:/app/models:ro\"` (a host path)")
                && v.message.contains(
                    "`docker rm -f api`, then the task's `docker run --name api ...` again"
                ),
            "{}",
            v.message
        );
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
