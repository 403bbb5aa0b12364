//! An exercise's setup: resources the workbook creates when the learner enters the exercise,
//! labelled `workbook.managed=true` and `workbook.exercise=SLUG` so cleanup can find them.
//! Seed files are copied in through a helper container that is never started.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::UploadToContainerOptionsBuilder;
use bollard::Docker;

use crate::engine::describe;
use crate::exercise::{Exercise, SeedFile};
use crate::images::TOOLS_IMAGE;
use crate::{labels, probe};

/// Creates the exercise's setup resources (volumes and their files). Idempotent.
pub async fn apply(docker: &Docker, ex: &Exercise) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for vol in &ex.data.setup.volumes {
        let mut vol_labels: HashMap<String, String> = vol.labels.clone().into_iter().collect();
        vol_labels.insert(labels::MANAGED.into(), "true".into());
        vol_labels.insert(labels::EXERCISE.into(), ex.slug.clone());
        let req = VolumeCreateRequest {
            name: Some(vol.name.clone()),
            labels: Some(vol_labels),
            ..Default::default()
        };
        docker
            .create_volume(req)
            .await
            .map_err(|e| describe(&format!("creating volume {}", vol.name), &e))?;
        if !vol.files.is_empty() {
            seed(docker, &vol.name, &vol.files).await?;
        }
        done.push(format!("volume {} ({} files)", vol.name, vol.files.len()));
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
            Err(e) => return Err(describe(&format!("creating container {}", c.name), &e)),
        }
    }
    Ok(done)
}

async fn seed(docker: &Docker, volume: &str, files: &[SeedFile]) -> Result<(), String> {
    let host = HostConfig {
        binds: Some(vec![format!("{volume}:/seed")]),
        ..Default::default()
    };
    let body = probe::helper_body(TOOLS_IMAGE, labels::ROLE_SEED, vec!["true".into()], host);
    let id = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await
        .map_err(|e| describe(&format!("creating a helper to fill volume {volume}"), &e))?
        .id;
    probe::track(&id);
    let result = async {
        let archive = seed_archive(files)?;
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
            .map_err(|e| describe(&format!("copying files into volume {volume}"), &e))
    }
    .await;
    probe::remove(docker, &id).await;
    result
}

/// A tar of the seed files, with their folders, owners and modes.
pub fn seed_archive(files: &[SeedFile]) -> Result<Vec<u8>, String> {
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
    b.into_inner().map_err(|e| e.to_string())
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
