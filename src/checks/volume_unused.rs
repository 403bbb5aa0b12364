//! `kind = "volume-unused"`: no container, running or stopped, mounts the volume.

use crate::util::error::Result;
use serde::Deserialize;

use super::target::names;
use super::{Judged, Kind, Verdict, VolumeRef};
use crate::checks::snapshot::{fetched, Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeUnused {
    pub name: Option<String>,
    pub compose_volume: Option<String>,
}

impl Kind for VolumeUnused {
    fn validate(&self) -> Result<()> {
        VolumeRef::from_keys(&self.name, &self.compose_volume).map(|_| ())
    }

    fn needs(&self, _needs: &mut Needs) {}

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = VolumeRef::from_keys(&self.name, &self.compose_volume).map_err(Verdict::error)?;
        let name = match r.resolve(snap)? {
            Some(v) => &v.name,
            None => {
                return Ok(Verdict::fail(
                    format!("volume {r} to exist, unused"),
                    format!("no volume {r}: it was removed"),
                    "removing a container must keep its volume: never `docker rm -v` or `docker volume rm` it; \
                     start the exercise step again (`workbook reset`)",
                ))
            }
        };
        let containers = fetched(&snap.containers)?;
        let users: Vec<String> = containers
            .iter()
            .filter(|c| {
                c.mounts.iter().flatten().any(|m| {
                    m.typ.as_deref() == Some("volume") && m.name.as_deref() == Some(name.as_str())
                })
            })
            .map(|c| {
                let n = names(c).next().unwrap_or("?").to_string();
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                format!("{n} ({state})")
            })
            .collect();
        if users.is_empty() {
            return Ok(Verdict::pass(format!("no container uses {name}")));
        }
        let names: Vec<&str> = users
            .iter()
            .map(|u| u.split(' ').next().unwrap_or(""))
            .collect();
        let rm = if users.iter().any(|u| u.ends_with("(running)")) {
            "docker rm -f"
        } else {
            "docker rm"
        };
        let who = if users.len() == 1 {
            format!("container {} still uses", users[0])
        } else {
            format!("containers {} still use", users.join(", "))
        };
        Ok(Verdict::fail(
            format!("no container, running or stopped, using volume {name}"),
            format!("{who} {name}"),
            format!(
                "{rm} {}   (this removes the container, not the volume)",
                names.join(" ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn unused_passes_used_fails_with_rm_command() {
        let mut snap = snapshot_with_volumes(&[volume("ml-data", "local", &[], &[])]);
        let c = VolumeUnused {
            name: Some("ml-data".into()),
            compose_volume: None,
        };
        assert!(c.evaluate(&snap).is_pass());
        snap.containers = Ok(vec![summary(
            "ml-writer",
            "exited",
            &[("volume", "ml-data", "/app/data")],
            &[],
        )]);
        let v = c.evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("ml-writer (exited)"), "{}", v.message);
        assert!(v.message.contains("docker rm ml-writer"), "{}", v.message);
    }

    #[test]
    fn removed_volume_fails() {
        let snap = snapshot_with_volumes(&[]);
        let v = VolumeUnused {
            name: Some("ml-data".into()),
            compose_volume: None,
        }
        .evaluate(&snap);
        assert!(v.message.contains("it was removed"), "{}", v.message);
    }
}
