//! `kind = "tmpfs"`: a tmpfs at a destination, optionally with a size limit. Accepts both
//! `--tmpfs /tmp:size=1g` (HostConfig.Tmpfs) and `--mount type=tmpfs,tmpfs-size=...`
//! (HostConfig.Mounts[].TmpfsOptions.SizeBytes); sizes are compared in bytes.

use crate::util::error::Result;
use serde::Deserialize;

use super::mounts_view;
use super::size;
use super::{Judged, Kind, Target, Verdict};
use crate::checks::snapshot::{Needs, Snapshot};
use crate::ui::bytes;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tmpfs {
    pub container: Option<String>,
    pub service: Option<String>,
    pub destination: String,
    /// The exact size limit, e.g. "1g" or "1073741824".
    pub size: Option<String>,
}

impl Kind for Tmpfs {
    fn validate(&self) -> Result<()> {
        Target::from_keys(&self.container, &self.service)?;
        if let Some(s) = &self.size {
            size::parse(s)?;
        }
        Ok(())
    }

    fn needs(&self, needs: &mut Needs) {
        Target::need_inspect(&self.container, &self.service, needs);
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let (target, info) = Target::inspect_from_keys(&self.container, &self.service, snap)?;
        let dest = &self.destination;
        let want = self.size.as_deref().and_then(|s| size::parse(s).ok());
        let expected = match want {
            Some(b) => format!(
                "a tmpfs at {dest} in {target}, limited to {}",
                bytes::exact(b)
            ),
            None => format!("a tmpfs at {dest} in {target}"),
        };
        let flag = match want {
            Some(b) => format!("--tmpfs {dest}:size={}", short(b)),
            None => format!("--tmpfs {dest}"),
        };
        // A compose service is fixed in its file, a container on its command line.
        let recreate = match &self.service {
            Some(service) => {
                let entry = match want {
                    Some(b) => format!("{dest}:size={}", short(b)),
                    None => dest.to_string(),
                };
                format!(
                    "under the service `{service}` in the compose file, add `tmpfs:` with the \
                     entry `- {entry}`, then `docker compose up -d {service}` (Compose creates the \
                     container again, as a tmpfs is fixed at creation)"
                )
            }
            None => format!(
                "tmpfs mounts are fixed at creation: remove the container and run it again with `{flag}`"
            ),
        };
        let Some(m) = mounts_view::at(info, dest) else {
            return Ok(Verdict::fail(
                expected,
                mounts_view::nothing_at(info, dest),
                recreate,
            ));
        };
        if m.typ != "tmpfs" {
            return Ok(Verdict::fail(expected, mounts_view::describe(&m), recreate));
        }
        let Some(want) = want else {
            return Ok(Verdict::pass(format!("tmpfs at {dest}")));
        };
        Ok(match (m.tmpfs_size, &m.tmpfs_size_text) {
            (Some(got), _) if got == want => Verdict::pass(format!("tmpfs at {dest}, {}", bytes::exact(got))),
            (Some(got), _) => Verdict::fail(
                expected,
                format!("a tmpfs at {dest} limited to {}", bytes::exact(got)),
                recreate,
            ),
            (None, Some(text)) => Verdict::fail(
                expected,
                format!("a tmpfs at {dest} with size `{text}`, not a fixed number of bytes"),
                recreate,
            ),
            (None, None) => Verdict::fail(
                expected,
                format!("a tmpfs at {dest} with no size limit (it may grow to half of the host's memory)"),
                recreate,
            ),
        })
    }
}

/// 1 GiB → "1g", 512 MiB → "512m".
fn short(bytes: u64) -> String {
    for (unit, s) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes.is_multiple_of(s) {
            return format!("{}{unit}", bytes / s);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    fn check(t: &str) -> Tmpfs {
        toml::from_str(t).unwrap()
    }

    #[test]
    fn tmpfs_flag_with_and_without_size() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot_with_inspect(
            dir.path(),
            "cache",
            &inspect_json(&[], &[("/tmp", "size=1g")]),
        );
        assert!(check("container='cache'\ndestination='/tmp'\nsize='1g'")
            .evaluate(&snap)
            .is_pass());
        assert!(
            check("container='cache'\ndestination='/tmp'\nsize='1073741824'")
                .evaluate(&snap)
                .is_pass()
        );
        let v = check("container='cache'\ndestination='/tmp'\nsize='2g'").evaluate(&snap);
        assert!(
            v.message.contains("limited to 1 GiB") && v.message.contains("size=2g"),
            "{}",
            v.message
        );
        let snap = snapshot_with_inspect(dir.path(), "cache", &inspect_json(&[], &[("/tmp", "")]));
        assert!(check("container='cache'\ndestination='/tmp'")
            .evaluate(&snap)
            .is_pass());
        let v = check("container='cache'\ndestination='/tmp'\nsize='1g'").evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("no size limit"), "{}", v.message);
    }

    #[test]
    fn mount_flag_size_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut info = inspect_json(&[("tmpfs", "", "", "/tmp", true)], &[]);
        info["HostConfig"]["Mounts"] = serde_json::json!([{"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 536870912}}]);
        let snap = snapshot_with_inspect(dir.path(), "cache", &info);
        let v = check("container='cache'\ndestination='/tmp'\nsize='1g'").evaluate(&snap);
        assert!(v.message.contains("limited to 512 MiB"), "{}", v.message);
        assert!(check("container='cache'\ndestination='/tmp'\nsize='512m'")
            .evaluate(&snap)
            .is_pass());
    }

    #[test]
    fn a_compose_service_is_told_the_compose_way() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = snapshot_with_inspect(dir.path(), "p-training-1", &inspect_json(&[], &[]));
        let workdir = dir.path().to_string_lossy().into_owned();
        snap.containers = Ok(vec![summary(
            "p-training-1",
            "running",
            &[],
            &[
                (crate::checks::target::COMPOSE_PROJECT, "p"),
                (crate::checks::target::COMPOSE_SERVICE, "training"),
                (crate::checks::target::COMPOSE_WORKDIR, &workdir),
            ],
        )]);
        let v = check("service='training'\ndestination='/workspace/cache'\nsize='256m'")
            .evaluate(&snap);
        assert_eq!(v.status, Status::Fail, "{}", v.message);
        assert!(
            v.message
                .contains("add `tmpfs:` with the entry `- /workspace/cache:size=256m`")
                && v.message.contains("docker compose up -d training")
                && !v.message.contains("--tmpfs"),
            "{}",
            v.message
        );
    }

    #[test]
    fn volume_instead_of_tmpfs() {
        let dir = tempfile::tempdir().unwrap();
        let anon = "b".repeat(64);
        let snap = snapshot_with_inspect(
            dir.path(),
            "scratch",
            &inspect_json(&[("volume", "/x", &anon, "/tmp", true)], &[]),
        );
        let v = check("container='scratch'\ndestination='/tmp'").evaluate(&snap);
        assert!(
            v.message.contains("/tmp is a volume mount"),
            "{}",
            v.message
        );
    }
}
