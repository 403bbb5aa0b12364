//! An exercise's setup: resources the workbook creates when the learner enters the exercise,
//! labelled `workbook.managed=true` and `workbook.exercise=SLUG` so cleanup can find them.
//! Seed files are copied in through a helper container that is never started.
//!
//! The workbook never writes into a volume it did not create for the exercise: every setup
//! volume is looked up first, and one that exists without those labels (the learner's own, or
//! another exercise's) stops the setup before anything is created or copied.

use crate::util::error::Result;
use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::UploadToContainerOptionsBuilder;
use bollard::Docker;

use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::{bounds, Exercise, SeedFile};
use crate::docker::engine::{failed, is_not_found};
use crate::docker::helpers;
use crate::docker::images::TOOLS_IMAGE;
use crate::docker::labels;

/// What a setup volume's name stands for on the daemon right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeState {
    /// No volume of that name: the setup creates it.
    Absent,
    /// The one the workbook created for this exercise: the setup seeds it again.
    Ours,
    /// A volume the workbook did not create for this exercise: never touched.
    NotOurs,
}

/// Whether a volume's labels say the workbook created it for exercise `slug`.
pub fn is_ours(volume_labels: &HashMap<String, String>, slug: &str) -> bool {
    volume_labels.get(labels::MANAGED).map(String::as_str) == Some("true")
        && volume_labels.get(labels::EXERCISE).map(String::as_str) == Some(slug)
}

/// The state of each of the exercise's setup volumes, in order.
pub async fn volume_states(docker: &Docker, ex: &Exercise) -> Result<Vec<VolumeState>> {
    let mut out = Vec::new();
    for vol in &ex.data.setup.volumes {
        out.push(match docker.inspect_volume(&vol.name).await {
            Ok(v) if is_ours(&v.labels, &ex.slug) => VolumeState::Ours,
            Ok(_) => VolumeState::NotOurs,
            Err(e) if is_not_found(&e) => VolumeState::Absent,
            Err(e) => return Err(failed(&format!("looking up volume {}", vol.name), e)),
        });
    }
    Ok(out)
}

/// Why the setup stopped at `name`, a volume the workbook did not create for `ex`, and the
/// way out. `cat` tells whether another exercise has the learner create a volume of that name
/// (exercise 01's `ml-data`, still there when exercise 07 seeds its own).
pub fn not_ours_message(cat: &Catalog, ex: &Exercise, name: &str) -> String {
    let earlier: Vec<String> = cat
        .exercises()
        .map(|all| {
            all.iter()
                .filter(|o| o.slug != ex.slug && o.data.resources.volumes.iter().any(|v| v == name))
                .map(|o| o.slug.clone())
                .collect()
        })
        .unwrap_or_default();
    let pack = cat
        .pack_dir()
        .map(|p| format!("--pack {} ", p.display()))
        .unwrap_or_default();
    let whose = match earlier.first() {
        Some(other) => format!(
            "it looks like the {name} you created yourself in exercise {other}: exercise {} starts \
             from a {name} of its own, with its own files, and the workbook will not write into yours",
            ex.slug
        ),
        None => format!(
            "it may be yours, or another program's: it has no labels workbook.managed=true and \
             workbook.exercise={}, and the workbook writes only into volumes it created for the exercise",
            ex.slug
        ),
    };
    let reset = if ex.all_resources().volumes.iter().any(|v| v == name) {
        format!(
            ", or run `workbook {pack}reset {}`, which lists what it removes (this volume too) and asks first",
            ex.slug
        )
    } else {
        String::new()
    };
    format!(
        "the setup of {} stopped before creating anything: volume {name} already exists and was not \
         made by the workbook for this exercise ({whose}). It was not touched.\n\
         To go on: if it holds data you want, back it up first (`docker run --rm -v {name}:/data -v \"$PWD\":/backup \
         workbook/tools tar czf /backup/{name}.tar.gz -C /data .`), then remove it (`docker volume rm {name}`) \
         and run this command again{reset}.",
        ex.slug
    )
}

/// Creates the exercise's setup resources (volumes and their files). Idempotent for what it
/// made itself; stops, touching nothing, at a volume of the same name that it did not make.
pub async fn apply(docker: &Docker, cat: &Catalog, ex: &Exercise) -> Result<Vec<String>> {
    // Every seed archive is built first, within the format's bounds: nothing fails, or takes
    // memory, once a helper container exists.
    let mut archives = Vec::new();
    let mut total: u64 = 0;
    for vol in &ex.data.setup.volumes {
        let archive = if vol.files.is_empty() {
            None
        } else {
            Some(seed_archive(&vol.files)?)
        };
        total += archive.as_ref().map_or(0, |a| a.len() as u64);
        if total > 2 * bounds::SETUP_BYTES {
            return Err(format!(
                "the setup of {} seeds more than {} bytes",
                ex.slug,
                bounds::SETUP_BYTES
            )
            .into());
        }
        archives.push(archive);
    }
    let states = volume_states(docker, ex).await?;
    if let Some((vol, _)) = ex
        .data
        .setup
        .volumes
        .iter()
        .zip(&states)
        .find(|(_, s)| **s == VolumeState::NotOurs)
    {
        return Err(not_ours_message(cat, ex, &vol.name).into());
    }
    let mut done = Vec::new();
    for (vol, archive) in ex.data.setup.volumes.iter().zip(archives) {
        let mut vol_labels: HashMap<String, String> = vol.labels.clone().into_iter().collect();
        vol_labels.insert(labels::MANAGED.into(), "true".into());
        vol_labels.insert(labels::EXERCISE.into(), ex.slug.clone());
        let req = VolumeCreateRequest {
            name: Some(vol.name.clone()),
            labels: Some(vol_labels),
            ..Default::default()
        };
        let created = docker
            .create_volume(req)
            .await
            .map_err(|e| failed(&format!("creating volume {}", vol.name), e))?;
        // Creating a name that exists answers with the existing volume, labels unchanged: one
        // made since the lookup above is not ours either.
        if !is_ours(&created.labels, &ex.slug) {
            return Err(not_ours_message(cat, ex, &vol.name).into());
        }
        if let Some(archive) = archive {
            seed(docker, &vol.name, archive).await?;
        }
        done.push(format!(
            "volume {} ({})",
            vol.name,
            crate::ui::count::count(vol.files.len() as u64, "file")
        ));
    }
    for c in &ex.data.setup.containers {
        let mut c_labels = labels::helper(labels::ROLE_SETUP);
        c_labels.insert(labels::EXERCISE.into(), ex.slug.clone());
        let body = ContainerCreateBody {
            image: Some(c.image.clone()),
            cmd: (!c.command.is_empty()).then(|| c.command.clone()),
            labels: Some(c_labels),
            host_config: Some(HostConfig {
                binds: Some(c.volumes.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = bollard::query_parameters::CreateContainerOptionsBuilder::default()
            .name(&c.name)
            .build();
        match docker.create_container(Some(opts), body).await {
            Ok(_) => done.push(format!(
                "container {} (stopped, using {})",
                c.name,
                c.volumes.join(", ")
            )),
            // Already there from an earlier setup: keep it.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => {}
            Err(e) => return Err(failed(&format!("creating container {}", c.name), e)),
        }
    }
    Ok(done)
}

/// Copies a seed archive into a volume through a helper that is never started. The helper is
/// tracked from its creation, so it is removed on every path: success, an error, Ctrl-C.
async fn seed(docker: &Docker, volume: &str, archive: Vec<u8>) -> Result<()> {
    let host = HostConfig {
        binds: Some(vec![format!("{volume}:/seed")]),
        ..Default::default()
    };
    let body = helpers::helper_body(TOOLS_IMAGE, labels::ROLE_SEED, vec!["true".into()], host);
    let id = helpers::create(docker, body)
        .await
        .map_err(|e| failed(&format!("creating a helper to fill volume {volume}"), e))?;
    let result = async {
        let opts = UploadToContainerOptionsBuilder::default()
            .path("/seed")
            .build();
        docker
            .upload_to_container(
                &id,
                Some(opts),
                bollard::body_full(bytes::Bytes::from(archive)),
            )
            .await
            .map_err(|e| failed(&format!("copying files into volume {volume}"), e))
    }
    .await;
    helpers::remove(docker, &id).await;
    result
}

/// A tar of the seed files, with their folders, owners and modes.
pub fn seed_archive(files: &[SeedFile]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs: Vec<String> = Vec::new();
    for f in files {
        let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
        for i in 1..parts.len() {
            let d = parts[..i].join("/");
            if !dirs.contains(&d) {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_uid(f.uid.unwrap_or(0));
                h.set_gid(f.gid.unwrap_or(0));
                h.set_size(0);
                h.set_cksum();
                b.append_data(&mut h, &d, std::io::empty())
                    .map_err(|e| e.to_string())?;
                dirs.push(d);
            }
        }
        let bytes = match (&f.content, f.random_bytes) {
            (Some(text), _) => text.as_bytes().to_vec(),
            // Bounded when the exercise loads; bounded here too, for any other caller.
            (None, Some(n)) if n > bounds::RANDOM_BYTES => {
                return Err(format!(
                    "seed file {}: random_bytes = {n} is over the bound of {} bytes",
                    f.path,
                    bounds::RANDOM_BYTES
                )
                .into())
            }
            (None, Some(n)) => pseudo_random(&f.path, n),
            (None, None) => Vec::new(),
        };
        let mode = f
            .mode
            .as_deref()
            .map(|m| {
                u32::from_str_radix(m, 8)
                    .map_err(|_| format!("seed file {}: mode `{m}` is not octal", f.path))
            })
            .transpose()?
            .unwrap_or(0o644);
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(mode);
        h.set_uid(f.uid.unwrap_or(0));
        h.set_gid(f.gid.unwrap_or(0));
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, parts.join("/"), &bytes[..])
            .map_err(|e| e.to_string())?;
    }
    b.into_inner()
        .map_err(|e| e.to_string())
        .map_err(Into::into)
}

/// Deterministic bytes (xorshift seeded by the path), so every workspace gets the same "binary" file.
fn pseudo_random(seed: &str, n: u64) -> Vec<u8> {
    let mut x: u64 = seed.bytes().fold(0x9E3779B97F4A7C15, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    }) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learners_ml_data_from_exercise_01_is_named_as_such_when_07_would_seed_it() {
        let cat = Catalog::embedded().unwrap();
        let ex = cat.find("07").unwrap();
        assert!(ex.data.setup.volumes.iter().any(|v| v.name == "ml-data"));
        let m = not_ours_message(&cat, ex, "ml-data");
        assert!(
            m.contains("volume ml-data already exists")
                && m.contains("the ml-data you created yourself in exercise 01-named-volumes")
                && m.contains("It was not touched")
                && m.contains("docker volume rm ml-data")
                && m.contains("workbook reset 07-backup-restore"),
            "{m}"
        );
    }

    #[test]
    fn labels_decide_whose_a_volume_is() {
        let ours = HashMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (
                labels::EXERCISE.to_string(),
                "07-backup-restore".to_string(),
            ),
        ]);
        assert!(is_ours(&ours, "07-backup-restore"));
        // The workbook's, but for another exercise: not this one's to write into.
        assert!(!is_ours(&ours, "06-volume-lifecycle"));
        assert!(!is_ours(&HashMap::new(), "07-backup-restore"));
        let mut forged = ours.clone();
        forged.insert(labels::MANAGED.to_string(), "yes".to_string());
        assert!(!is_ours(&forged, "07-backup-restore"));
    }

    #[test]
    fn seed_archives_are_bounded_even_without_the_loader() {
        let f = SeedFile {
            path: "big".into(),
            content: None,
            random_bytes: Some(100_000_000_000_000),
            mode: None,
            uid: None,
            gid: None,
        };
        let e = seed_archive(&[f]).unwrap_err();
        assert!(e.to_string().contains("over the bound"), "{e}");
    }
}
