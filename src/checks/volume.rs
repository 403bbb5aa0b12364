//! `kind = "volume"`: a volume exists (or is absent), with a driver, labels and driver options.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{did_you_mean, Kind, Verdict};
use crate::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeCheck {
    pub name: String,
    /// `false`: the volume must NOT exist.
    #[serde(default = "yes")]
    pub exists: bool,
    pub driver: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Driver options that must be set to these values (`type`, `o`, `device`...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl Kind for VolumeCheck {
    fn validate(&self) -> Result<(), String> {
        if !self.exists
            && (self.driver.is_some() || !self.labels.is_empty() || !self.options.is_empty())
        {
            return Err(format!(
                "volume `{}`: `exists = false` takes no driver, labels or options",
                self.name
            ));
        }
        Ok(())
    }

    fn needs(&self, _needs: &mut Needs) {}

    fn evaluate(&self, snap: &Snapshot) -> Verdict {
        let name = &self.name;
        let vol = match snap.volume(name) {
            Ok(v) => v,
            Err(v) => return v,
        };
        let Some(vol) = vol else {
            if !self.exists {
                return Verdict::pass(format!("volume {name} is gone"));
            }
            let suggestion = crate::suggest::closest(name, snap.volume_names());
            return Verdict::fail(
                format!("a volume named {name}"),
                format!("no volume named {name}{}", did_you_mean(suggestion)),
                format!("docker volume create {name}"),
            );
        };
        if !self.exists {
            return Verdict::fail(
                format!("no volume named {name}"),
                format!("volume {name} still exists"),
                format!(
                    "remove it: `docker volume rm {name}` (it must not be used by any container)"
                ),
            );
        }
        if let Some(driver) = &self.driver {
            if &vol.driver != driver {
                return Verdict::fail(
                    format!("volume {name} with driver {driver}"),
                    format!("driver {}", vol.driver),
                    format!(
                        "re-create it: `docker volume rm {name}` then `docker volume create --driver {driver} {name}`"
                    ),
                );
            }
        }
        for (key, want) in &self.labels {
            match vol.labels.get(key) {
                Some(got) if got == want => {}
                got => {
                    return Verdict::fail(
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
                    );
                }
            }
        }
        for (key, want) in &self.options {
            match vol.options.get(key) {
                Some(got) if got == want => {}
                got => {
                    return Verdict::fail(
                        format!("volume {name} with driver option {key}={want}"),
                        match got {
                            Some(g) => format!("{key}={g}"),
                            None if vol.options.is_empty() => "no driver options".to_string(),
                            None => format!("options {}", fmt_map(vol.options.iter())),
                        },
                        format!(
                            "driver options are set at creation: `docker volume rm {name}` then \
                             `docker volume create --opt {key}={want} ... {name}`"
                        ),
                    );
                }
            }
        }
        Verdict::pass(format!("volume {name} (driver {})", vol.driver))
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

    fn check(toml_text: &str) -> VolumeCheck {
        toml::from_str(toml_text).unwrap()
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
