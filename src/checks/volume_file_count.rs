//! `kind = "volume-file-count"`: how many regular files in a volume match a glob
//! (`ckpt-*`, `**/*.bin`), at least `min` and at most `max`.

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Verdict, VolumeRef};
use crate::archive::EntryKind;
use crate::checks::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeFileCount {
    pub volume: Option<String>,
    pub compose_volume: Option<String>,
    /// Matched against paths relative to the volume root.
    pub glob: String,
    pub min: Option<u64>,
    pub max: Option<u64>,
    /// What writes the files, so that too few says why: not created, never started, stopped,
    /// or still running (as for `volume-file`).
    pub written_by: Option<super::volume_file::Writer>,
}

impl VolumeFileCount {
    fn volume_ref(&self) -> Result<VolumeRef> {
        VolumeRef::from_keys(&self.volume, &self.compose_volume)
    }
}

impl VolumeFileCount {
    /// Why there are too few: where the volume is mounted (a program writes into the volume
    /// only through its mount) and what the writer is doing.
    fn too_few(&self, snap: &Snapshot, vol: &str) -> String {
        let glob = format!("`{}`", self.glob);
        let mounted: Vec<String> = snap
            .containers
            .iter()
            .flatten()
            .filter_map(|c| {
                let m = c.mounts.iter().flatten().find(|m| {
                    m.typ.as_deref() == Some("volume") && m.name.as_deref() == Some(vol)
                })?;
                let n = super::target::names(c).next().unwrap_or("?");
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                let dest = m.destination.as_deref().unwrap_or("?");
                Some(format!("{n} ({state}) has it at {dest}"))
            })
            .collect();
        let where_ = if mounted.is_empty() {
            format!(
                "no container mounts {vol}: a program writes into the volume only through a mount \
                 of it, at the folder where it writes {glob}"
            )
        } else {
            format!(
                "{}: is that the folder where it writes {glob}? Files written anywhere else stay \
                 in the container",
                mounted.join(", ")
            )
        };
        match self
            .written_by
            .as_ref()
            .and_then(|w| w.why_missing(snap, &glob))
        {
            Some(why) => format!("{why}; {where_}"),
            None => where_,
        }
    }
}

impl Kind for VolumeFileCount {
    fn validate(&self) -> Result<()> {
        self.volume_ref()?;
        glob::Pattern::new(&self.glob).map_err(|e| format!("glob `{}`: {e}", self.glob))?;
        if self.min.is_none() && self.max.is_none() {
            return Err("give `min`, `max` or both".into());
        }
        if let Some(w) = &self.written_by {
            super::Target::from_keys(&w.container, &w.service)
                .map_err(|e| format!("written_by: {e}"))?;
        }
        Ok(())
    }

    fn needs(&self, needs: &mut Needs) {
        if let Ok(r) = self.volume_ref() {
            needs.tree(&r);
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = self.volume_ref().map_err(Verdict::error)?;
        let Ok(pattern) = glob::Pattern::new(&self.glob) else {
            return Ok(Verdict::error(format!("glob `{}` is invalid", self.glob)));
        };
        let wanted = match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => format!("{a}"),
            (Some(a), Some(b)) => format!("{a} to {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => "some".to_string(),
        };
        let expected = format!("{wanted} files matching `{}` in volume {r}", self.glob);
        let (vol, tree) = r.tree(snap, &expected)?;
        let matching: Vec<&str> = tree
            .values()
            .filter(|e| e.kind == EntryKind::File && pattern.matches(&e.path))
            .map(|e| e.path.as_str())
            .collect();
        let n = matching.len() as u64;
        let too_few = self.min.is_some_and(|m| n < m);
        let too_many = self.max.is_some_and(|m| n > m);
        if !too_few && !too_many {
            return Ok(Verdict::pass(format!(
                "{} matching `{}` in {vol}",
                crate::ui::count::count(n, "file"),
                self.glob
            )));
        }
        let found = if matching.is_empty() {
            let all = tree.values().filter(|e| e.kind == EntryKind::File).count();
            format!(
                "none (the volume {vol} holds {})",
                crate::ui::count::count(all as u64, "file")
            )
        } else {
            // Names that are not UTF-8 are kept as bytes in the listing: shown as `\xe9`.
            let mut shown: Vec<String> = matching
                .iter()
                .take(8)
                .map(|p| crate::archive::display(p))
                .collect();
            if matching.len() > 8 {
                shown.push("...".to_string());
            }
            format!("{n}: {}", shown.join(", "))
        };
        let fix = if too_few {
            self.too_few(snap, &vol)
        } else {
            format!(
                "remove the extra files from a helper container that mounts the volume: `docker \
                 run --rm -v {vol}:/data workbook/tools sh -c 'ls /data'` lists them"
            )
        };
        Ok(Verdict::fail(expected, found, fix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Entry, Manifest};
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    fn entry(path: &str) -> (String, Entry) {
        (
            path.to_string(),
            Entry {
                path: path.to_string(),
                kind: EntryKind::File,
                size: 1,
                mode: 0o644,
                uid: 0,
                gid: 0,
                digest: None,
            },
        )
    }

    #[test]
    fn counts_matching_files() {
        let mut snap = snapshot_with_volumes(&[volume("ckpt", "local", &[], &[])]);
        let tree: Manifest = [entry("ckpt-1"), entry("ckpt-2"), entry("notes.txt")]
            .into_iter()
            .collect();
        snap.trees.insert(VolumeRef::Named("ckpt".into()), Ok(tree));
        let c = |t: &str| -> VolumeFileCount {
            toml::from_str(&format!("volume='ckpt'\nglob='ckpt-*'\n{t}")).unwrap()
        };
        assert!(c("min=2").evaluate(&snap).is_pass());
        let v = c("min=3").evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("at least 3") && v.message.contains("2: ckpt-1, ckpt-2"),
            "{}",
            v.message
        );
        assert!(c("max=1").evaluate(&snap).message.contains("at most 1"));
    }

    #[test]
    fn too_few_says_where_the_volume_is_mounted_and_what_the_writer_does() {
        let mut snap = snapshot_with_volumes(&[volume("ckpt", "local", &[], &[])]);
        let tree: Manifest = [entry("ckpt-1")].into_iter().collect();
        snap.trees.insert(VolumeRef::Named("ckpt".into()), Ok(tree));
        let c: VolumeFileCount = toml::from_str(
            "volume='ckpt'\nglob='ckpt-*'\nmin=2\nwritten_by={container='trainer', when='one per epoch'}",
        )
        .unwrap();
        c.validate().unwrap();
        let v = c.evaluate(&snap);
        assert!(
            v.message.contains("container trainer does not exist")
                && v.message.contains("no container mounts ckpt"),
            "{}",
            v.message
        );
        snap.containers = Ok(vec![summary(
            "trainer",
            "exited",
            &[("volume", "ckpt", "/workspace/checkpoint")],
            &[],
        )]);
        let v = c.evaluate(&snap);
        assert!(
            v.message.contains("it stopped before writing `ckpt-*`")
                && v.message.contains("`docker start trainer` runs it again")
                && v.message.contains(
                    "trainer (exited) has it at /workspace/checkpoint: is that the folder"
                ),
            "{}",
            v.message
        );
    }
}
