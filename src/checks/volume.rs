//! `kind = "volume"`: a volume exists (or is absent), with a driver, labels and driver options.

use crate::util::error::Result;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Judged, Kind, Verdict, VolumeRef};
use crate::checks::host_path::HostPath;
use crate::checks::snapshot::{names_folder, Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeCheck {
    pub name: Option<String>,
    /// A volume of the exercise folder's compose project instead of a named one.
    pub compose_volume: Option<String>,
    /// `false`: the volume must NOT exist.
    #[serde(default = "yes")]
    pub exists: bool,
    pub driver: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Driver options that must be set to these values (`type`, `o`, `device`...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Comma-separated options (`o`) that must hold these items: `k=v` exactly, or a key `k`.
    #[serde(default)]
    pub option_items: BTreeMap<String, Vec<String>>,
    /// Options whose value must start with this (`device = ":/"` for NFS exports).
    #[serde(default)]
    pub option_prefix: BTreeMap<String, String>,
    /// Options whose value must be this host path (relative to the exercise folder), absolute.
    #[serde(default)]
    pub option_host_path: BTreeMap<String, String>,
    /// Options whose value must be an absolute host path inside the exercise folder.
    #[serde(default)]
    pub option_in_exercise: Vec<String>,
    /// With `exists = false`: how the task wants it removed (Markdown), shown as the fix
    /// instead of `docker volume rm NAME`, which a task that asks for a `prune` does not want.
    pub removed_by: Option<String>,
}

fn yes() -> bool {
    true
}

impl VolumeCheck {
    fn volume_ref(&self) -> Result<VolumeRef> {
        VolumeRef::from_keys(&self.name, &self.compose_volume)
    }

    fn has_option_rules(&self) -> bool {
        !self.options.is_empty()
            || !self.option_items.is_empty()
            || !self.option_prefix.is_empty()
            || !self.option_host_path.is_empty()
            || !self.option_in_exercise.is_empty()
    }

    /// Every driver option the rules ask for, as it would be written (`compose`: in a compose
    /// file, where a relative path is resolved; else on the command line).
    fn wanted_options(&self, compose: bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: String| match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, have)) => {
                have.push(',');
                have.push_str(&v);
            }
            None => out.push((k.to_string(), v)),
        };
        for (k, v) in &self.options {
            add(k, v.clone());
        }
        for (k, items) in &self.option_items {
            for item in items {
                let item = if item.ends_with('=') {
                    format!("{item}...")
                } else {
                    item.clone()
                };
                add(k, item);
            }
        }
        for (k, prefix) in &self.option_prefix {
            add(k, format!("{prefix}..."));
        }
        for (k, rel) in &self.option_host_path {
            add(
                k,
                if compose {
                    format!("./{rel}")
                } else {
                    format!("\"$(pwd)/{rel}\"")
                },
            );
        }
        for k in &self.option_in_exercise {
            add(
                k,
                if compose {
                    "./FOLDER".to_string()
                } else {
                    "\"$(pwd)/FOLDER\"".to_string()
                },
            );
        }
        out
    }

    /// The first driver option rule the volume breaks: (expected, found, fix).
    fn option_problem(
        &self,
        vol: &bollard::models::Volume,
        snap: &Snapshot,
    ) -> Option<(String, String, String)> {
        let name = &vol.name;
        let compose = vol.labels.contains_key(super::volume_ref::COMPOSE_VOLUME);
        let recreate = |k: &str, v: &str| {
            if compose {
                format!(
                    "set `{k}: {v}` under the volume's `driver_opts:` in compose.yaml; options are fixed at creation, \
                     so re-create it: `docker compose down -v` (this deletes the volume's data) then `docker compose up -d`"
                )
            } else {
                format!(
                    "driver options are set at creation: remove the volume (`docker volume rm {name}`, after removing \
                     the containers using it) and create it again with `--opt {k}={v}`"
                )
            }
        };
        let shown = |k: &str| match vol.options.get(k) {
            Some(g) => format!("{k}={g}"),
            None if vol.options.is_empty() => "no driver options".to_string(),
            None => format!("options {}", fmt_map(vol.options.iter())),
        };
        let relative = |k: &str, v: &str| {
            format!("{k}={v}, a relative path: the daemon does not know your current folder")
        };
        // No driver option at all: every one the task asks for, in one fix.
        if vol.options.is_empty() && self.has_option_rules() {
            let wanted = self.wanted_options(compose);
            let listed = |sep: &str, fmt: &dyn Fn(&(String, String)) -> String| {
                let items: Vec<String> = wanted.iter().map(fmt).collect();
                match items.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} and {last}", rest.join(sep))
                    }
                    _ => items.join(sep),
                }
            };
            let fix = if compose {
                format!(
                    "set {} under the volume's `driver_opts:` in compose.yaml; options are fixed at \
                     creation, so re-create it: `docker compose down -v` (this deletes the volume's \
                     data) then `docker compose up -d`",
                    listed(", ", &|(k, v)| format!("`{k}: {v}`"))
                )
            } else {
                let opts: Vec<String> = wanted
                    .iter()
                    .map(|(k, v)| format!("--opt {k}={v}"))
                    .collect();
                format!(
                    "driver options are set at creation: remove the volume (`docker volume rm {name}`, \
                     after removing the containers using it) and create it again with {}",
                    opts.join(" ")
                )
            };
            return Some((
                format!(
                    "volume {name} with the driver options {}",
                    listed(", ", &|(k, v)| format!("{k}={v}"))
                ),
                "no driver options".to_string(),
                fix,
            ));
        }
        for (k, want) in &self.options {
            if vol.options.get(k) != Some(want) {
                return Some((
                    format!("volume {name} with driver option {k}={want}"),
                    shown(k),
                    recreate(k, want),
                ));
            }
        }
        for (k, items) in &self.option_items {
            let have: Vec<&str> = vol
                .options
                .get(k)
                .map(|v| v.split(',').map(str::trim).collect())
                .unwrap_or_default();
            for item in items {
                // `addr=`: the key with any value; `size=64m` and `bind`: exactly that item.
                let ok = match item.strip_suffix('=') {
                    Some(key) => have.iter().any(|h| h.split('=').next() == Some(key)),
                    None => have.contains(&item.as_str()),
                };
                if !ok {
                    let want = if item.ends_with('=') {
                        format!("{item}...")
                    } else {
                        item.clone()
                    };
                    return Some((
                        format!("volume {name} with `{want}` in its `{k}` option"),
                        shown(k),
                        recreate(k, &want),
                    ));
                }
            }
        }
        for (k, prefix) in &self.option_prefix {
            if !vol
                .options
                .get(k)
                .is_some_and(|v| v.starts_with(prefix.as_str()))
            {
                return Some((
                    format!("volume {name} with a `{k}` option starting with `{prefix}`"),
                    shown(k),
                    recreate(k, &format!("{prefix}...")),
                ));
            }
        }
        for (k, rel) in &self.option_host_path {
            let want = snap.host_path(rel);
            let expected = format!("volume {name} with {k}={}", want.display());
            match vol.options.get(k) {
                Some(v) if HostPath::parse(v).is_absolute() && names_folder(v, &want, false) => {}
                Some(v) if !HostPath::parse(v).is_absolute() => {
                    return Some((
                        expected,
                        relative(k, v),
                        recreate(k, &format!("\"$(pwd)/{rel}\"")),
                    ))
                }
                _ => return Some((expected, shown(k), recreate(k, &want.display().to_string()))),
            }
        }
        for k in &self.option_in_exercise {
            let dir = snap.host_path(".");
            let expected = format!(
                "volume {name} with {k} set to an absolute path inside {}",
                dir.display()
            );
            match vol.options.get(k) {
                Some(v) if HostPath::parse(v).is_absolute() && names_folder(v, &dir, true) => {}
                Some(v) if !HostPath::parse(v).is_absolute() => {
                    return Some((expected, relative(k, v), recreate(k, "\"$(pwd)/FOLDER\"")))
                }
                _ => return Some((expected, shown(k), recreate(k, "\"$(pwd)/FOLDER\""))),
            }
        }
        None
    }
}

impl Kind for VolumeCheck {
    fn validate(&self) -> Result<()> {
        let r = self.volume_ref()?;
        if !self.exists
            && (self.driver.is_some() || !self.labels.is_empty() || self.has_option_rules())
        {
            return Err(format!(
                "volume `{r}`: `exists = false` takes no driver, labels or options"
            )
            .into());
        }
        Ok(())
    }

    /// A `device` in the exercise folder: the engine must see that folder.
    fn host_files(&self) -> bool {
        !self.option_in_exercise.is_empty() || !self.option_host_path.is_empty()
    }

    fn needs(&self, _needs: &mut Needs) {}

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = self.volume_ref().map_err(Verdict::error)?;
        let Some(vol) = r.resolve(snap)? else {
            if !self.exists {
                return Ok(Verdict::pass(format!("volume {r} is gone")));
            }
            // Labels and driver can only be given at creation: say the whole command.
            let mut flags = String::new();
            if let Some(d) = self.driver.as_ref().filter(|d| *d != "local") {
                flags.push_str(&format!(" --driver {d}"));
            }
            for (k, v) in &self.labels {
                flags.push_str(&format!(" --label {k}={v}"));
            }
            let expected = format!("a volume named {}", r.short());
            return Ok(r.missing_created_with(snap, &expected, &flags));
        };
        let name = &vol.name;
        if !self.exists {
            return Ok(Verdict::fail(
                format!("no volume named {name}"),
                format!("volume {name} still exists"),
                match &self.removed_by {
                    Some(how) => how.clone(),
                    None => format!(
                        "remove it: `docker volume rm {name}` (it must not be used by any container)"
                    ),
                },
            ));
        }
        if let Some(driver) = &self.driver {
            if &vol.driver != driver {
                return Ok(Verdict::fail(
                    format!("volume {name} with driver {driver}"),
                    format!("driver {}", vol.driver),
                    format!(
                        "re-create it: `docker volume rm {name}` then `docker volume create --driver {driver} {name}`"
                    ),
                ));
            }
        }
        for (key, want) in &self.labels {
            match vol.labels.get(key) {
                Some(got) if got == want => {}
                got => {
                    return Ok(Verdict::fail(
                        format!("volume {name} labelled {key}={want}"),
                        match got {
                            Some(g) => format!("{key}={g}"),
                            None if vol.labels.is_empty() => "no labels".to_string(),
                            None => format!("labels {}", fmt_map(vol.labels.iter())),
                        },
                        format!(
                            "labels are set at creation: `docker volume rm {name}` then \
                             `docker volume create --label {key}={want} {name}`"
                        ),
                    ));
                }
            }
        }
        if let Some((expected, found, fix)) = self.option_problem(vol, snap) {
            return Ok(Verdict::fail(expected, found, fix));
        }
        Ok(Verdict::pass(format!(
            "volume {name} (driver {})",
            vol.driver
        )))
    }
}

fn fmt_map<'a>(it: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let mut v: Vec<String> = it.map(|(k, v)| format!("{k}={v}")).collect();
    v.sort();
    v.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;
    use std::path::Path;

    fn check(toml_text: &str) -> VolumeCheck {
        let c: VolumeCheck = toml::from_str(toml_text).unwrap();
        c.validate().unwrap();
        c
    }

    #[test]
    fn a_volume_with_no_driver_options_is_told_every_one_at_once() {
        // Named by its full name, the volume's compose labels still make the fix a compose one.
        let rules = "name = 'p_fast-data'\ndriver = 'local'\noptions = { type = 'none' }\noption_items = { o = ['bind'] }\noption_host_path = { device = 'fast-ssd/ml-data' }";
        let dir = tempfile::tempdir().unwrap();
        let mut snap = Snapshot::new(dir.path());
        let workdir = dir.path().to_string_lossy().into_owned();
        snap.volumes = Ok(vec![volume(
            "p_fast-data",
            "local",
            &[
                ("com.docker.compose.project", "p"),
                ("com.docker.compose.volume", "fast-data"),
                ("com.docker.compose.project.working_dir", &workdir),
            ],
            &[],
        )]);
        let v = check(rules).evaluate(&snap);
        assert_eq!(v.status, Status::Fail, "{}", v.message);
        assert!(
            v.message.contains(
                "set `type: none`, `o: bind` and `device: ./fast-ssd/ml-data` under the volume's `driver_opts:`"
            ),
            "{}",
            v.message
        );
        // On the command line: every --opt in one command.
        let mut snap = snapshot_with_volumes(&[volume("fast-data-cli", "local", &[], &[])]);
        snap.exercise_dir = dir.path().to_path_buf();
        let v = check("name = 'fast-data-cli'\noptions = { type = 'none' }\noption_items = { o = ['bind'] }\noption_in_exercise = ['device']").evaluate(&snap);
        assert!(
            v.message
                .contains("--opt type=none --opt o=bind --opt device=\"$(pwd)/FOLDER\""),
            "{}",
            v.message
        );
    }

    #[test]
    fn passes_on_the_right_volume() {
        let snap = snapshot_with_volumes(&[volume("ml-data", "local", &[], &[])]);
        let v = check("name = 'ml-data'\ndriver = 'local'").evaluate(&snap);
        assert!(v.is_pass(), "{v:?}");
    }

    #[test]
    fn missing_volume_suggests_near_miss() {
        let snap = snapshot_with_volumes(&[volume("ml_data", "local", &[], &[])]);
        let v = check("name = 'ml-data'").evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("did you mean `ml_data`"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("docker volume create ml-data"),
            "{}",
            v.message
        );
    }

    #[test]
    fn wrong_driver_labels_options() {
        let snap = snapshot_with_volumes(&[volume(
            "v",
            "local",
            &[("purpose", "test")],
            &[("type", "tmpfs")],
        )]);
        assert!(check("name='v'\ndriver='nfs'")
            .evaluate(&snap)
            .message
            .contains("driver local"));
        let v = check("name='practice-vol'\nlabels={purpose='practice'}").evaluate(&snap);
        assert!(
            v.message
                .contains("docker volume create --label purpose=practice practice-vol"),
            "{}",
            v.message
        );
        let v = check("name='v'\nlabels={purpose='practice'}").evaluate(&snap);
        assert!(v.message.contains("purpose=test"), "{}", v.message);
        let v = check("name='v'\noptions={type='none'}").evaluate(&snap);
        assert!(v.message.contains("type=tmpfs"), "{}", v.message);
        assert!(
            check("name='v'\nlabels={purpose='test'}\noptions={type='tmpfs'}")
                .evaluate(&snap)
                .is_pass()
        );
    }

    #[test]
    fn option_rules() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("fast-ssd/ml-data")).unwrap();
        let device = dir
            .path()
            .join("fast-ssd/ml-data")
            .to_string_lossy()
            .to_string();
        let mut snap = crate::checks::snapshot::Snapshot::new(dir.path());
        snap.volumes = Ok(vec![
            volume(
                "ramdisk",
                "local",
                &[],
                &[
                    ("type", "tmpfs"),
                    ("device", "tmpfs"),
                    ("o", "size=64m,uid=1000"),
                ],
            ),
            volume(
                "nfs-models",
                "local",
                &[],
                &[
                    ("type", "nfs"),
                    ("o", "addr=127.0.0.1,rw"),
                    ("device", ":/models"),
                ],
            ),
            volume(
                "fast",
                "local",
                &[],
                &[("type", "none"), ("o", "bind"), ("device", &device)],
            ),
            volume(
                "rel",
                "local",
                &[],
                &[("type", "none"), ("o", "bind"), ("device", "./fast-ssd")],
            ),
        ]);
        assert!(check(
            "name='ramdisk'\noptions={type='tmpfs', device='tmpfs'}\noption_items={o=['size=64m']}"
        )
        .evaluate(&snap)
        .is_pass());
        let v = check("name='ramdisk'\noption_items={o=['size=128m']}").evaluate(&snap);
        assert!(
            v.message.contains("`size=128m` in its `o` option")
                && v.message.contains("o=size=64m,uid=1000"),
            "{}",
            v.message
        );
        assert!(check(
            "name='nfs-models'\noption_items={o=['addr=']}\noption_prefix={device=':/'}"
        )
        .evaluate(&snap)
        .is_pass());
        assert!(
            check("name='fast'\noption_host_path={device='fast-ssd/ml-data'}")
                .evaluate(&snap)
                .is_pass()
        );
        assert!(check("name='fast'\noption_in_exercise=['device']")
            .evaluate(&snap)
            .is_pass());
        let v = check("name='rel'\noption_in_exercise=['device']").evaluate(&snap);
        assert!(v.message.contains("a relative path"), "{}", v.message);
        let v = check("name='rel'\noption_host_path={device='fast-ssd/ml-data'}").evaluate(&snap);
        assert!(v.message.contains("a relative path"), "{}", v.message);
    }

    /// A bind volume's `device` in Docker Desktop's VM form (`docker volume create --opt
    /// device=/host_mnt/Users/...`, which its engine can mount) is the learner's folder.
    #[test]
    fn a_device_in_docker_desktops_form_is_the_learners_folder() {
        let snap_in = |dir: &str, device: &str| {
            let mut s = Snapshot::new(Path::new(dir));
            s.volumes = Ok(vec![volume(
                "fast",
                "local",
                &[],
                &[("type", "none"), ("o", "bind"), ("device", device)],
            )]);
            s
        };
        let exact = check("name='fast'\noption_host_path={device='fast-ssd/ml-data'}");
        let inside = check("name='fast'\noption_in_exercise=['device']");
        for (dir, device) in [
            (
                "/Users/me/ws/08-performance",
                "/host_mnt/Users/me/ws/08-performance/fast-ssd/ml-data",
            ),
            (
                r"C:\Users\me\ws\08-performance",
                "/run/desktop/mnt/host/c/Users/me/ws/08-performance/fast-ssd/ml-data",
            ),
            (
                r"C:\Users\me\ws\08-performance",
                r"C:\Users\me\ws\08-performance\fast-ssd\ml-data",
            ),
        ] {
            let snap = snap_in(dir, device);
            assert!(exact.evaluate(&snap).is_pass(), "{dir} {device}");
            assert!(inside.evaluate(&snap).is_pass(), "{dir} {device}");
        }
        for (dir, device) in [
            (
                "/Users/me/ws/08-performance",
                "/host_mnt/Users/me/other/08-performance/fast-ssd/ml-data",
            ),
            (
                r"C:\Users\me\ws\08-performance",
                "/run/desktop/mnt/host/d/Users/me/ws/08-performance/fast-ssd/ml-data",
            ),
        ] {
            let snap = snap_in(dir, device);
            assert_eq!(exact.evaluate(&snap).status, Status::Fail, "{device}");
            assert_eq!(inside.evaluate(&snap).status, Status::Fail, "{device}");
        }
        // Inside the folder, but not the folder asked for.
        let snap = snap_in(
            "/Users/me/ws/08-performance",
            "/host_mnt/Users/me/ws/08-performance/fast-ssd",
        );
        assert_eq!(exact.evaluate(&snap).status, Status::Fail);
        assert!(inside.evaluate(&snap).is_pass());
    }

    #[test]
    fn compose_volume_found_by_labels() {
        let dir = tempfile::tempdir().unwrap();
        let ex = dir.path().join("04-checkpoints");
        std::fs::create_dir(&ex).unwrap();
        let mut snap = crate::checks::snapshot::Snapshot::new(&ex);
        snap.volumes = Ok(vec![
            volume(
                "other_checkpoints",
                "local",
                &[
                    ("com.docker.compose.project", "other"),
                    ("com.docker.compose.volume", "checkpoints"),
                ],
                &[],
            ),
            volume(
                "04checkpoints_checkpoints",
                "local",
                &[
                    ("com.docker.compose.project", "04checkpoints"),
                    ("com.docker.compose.volume", "checkpoints"),
                ],
                &[],
            ),
        ]);
        let v = check("compose_volume='checkpoints'").evaluate(&snap);
        assert!(
            v.is_pass() && v.message.contains("04checkpoints_checkpoints"),
            "{v:?}"
        );
        let v = check("compose_volume='logs'").evaluate(&snap);
        assert!(
            v.message
                .contains("no volume `logs` of the compose project"),
            "{}",
            v.message
        );
    }

    #[test]
    fn absent_volume() {
        let snap = snapshot_with_volumes(&[volume("old-vol", "local", &[], &[])]);
        assert_eq!(
            check("name='old-vol'\nexists=false").evaluate(&snap).status,
            Status::Fail
        );
        assert!(check("name='gone'\nexists=false").evaluate(&snap).is_pass());
    }

    #[test]
    fn daemon_error_is_error() {
        let mut snap = snapshot_with_volumes(&[]);
        snap.volumes = Err("boom".into());
        assert_eq!(check("name='v'").evaluate(&snap).status, Status::Error);
    }
}
