//! Putting an exercise back to its start. Removes only what the exercise declares (its
//! `[resources]`, plus what its recorded mistakes and variants create when asked) and what the
//! workbook's setup made for this exercise; lists everything first. Never touches anything
//! else. Helper containers (probes, seeders, bench runs) are not reset's business: another
//! workbook process may be using one right now; `helpers::sweep` removes the abandoned ones.

use crate::util::error::Result;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::models::ContainerSummaryStateEnum;

use bollard::query_parameters::{RemoveContainerOptionsBuilder, RemoveVolumeOptions};
use bollard::Docker;

use crate::checks::snapshot::Snapshot;
use crate::checks::target::{names, COMPOSE_PROJECT, COMPOSE_WORKDIR};
use crate::checks::volume_ref::{compose_projects, COMPOSE_VOLUME};
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::{Exercise, Resources};
use crate::docker::engine::{all_containers, all_volumes, describe, failed, is_not_found};
use crate::docker::labels;
use crate::learner::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Container {
        id: String,
        name: String,
        state: String,
        why: String,
    },
    Volume {
        name: String,
        why: String,
    },
    Network {
        name: String,
    },
    File {
        path: PathBuf,
    },
    /// A declared folder, deleted only when empty (a bind mount's source the engine made).
    EmptyFolder {
        path: PathBuf,
    },
    Restore {
        path: PathBuf,
        contents: Vec<u8>,
    },
    /// A file of the exercise that a symbolic link takes out of the workspace: left alone.
    LeftAlone {
        path: PathBuf,
        real: PathBuf,
    },
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Container {
                name, state, why, ..
            } => write!(f, "remove container {name} ({state}; {why})"),
            Item::Volume { name, why } => {
                write!(f, "remove volume {name} ({why}) and the data in it")
            }
            Item::Network { name } => write!(
                f,
                "remove network {name} (compose project of the exercise folder)"
            ),
            Item::File { path } => write!(f, "delete file {}", path.display()),
            Item::EmptyFolder { path } => {
                write!(f, "delete folder {} if it is empty", path.display())
            }
            Item::Restore { path, .. } => write!(f, "restore starter file {}", path.display()),
            Item::LeftAlone { path, real } => write!(
                f,
                "leave {} alone: a link takes it out of the workspace, to {} (never written through)",
                path.display(),
                real.display()
            ),
        }
    }
}

/// What resetting `ex` would do, with `resources` as the declared set.
pub async fn plan(
    docker: &Docker,
    ws: &Workspace,
    catalog: &Catalog,
    ex: &Exercise,
    resources: &Resources,
) -> Result<Vec<Item>> {
    let dir = ws.exercise_dir(&ex.slug);
    let mut snap = Snapshot::new(&dir);
    let (containers, volumes) = tokio::join!(all_containers(docker), all_volumes(docker));
    let (containers, volumes) = (containers?, volumes?);
    snap.containers = Ok(containers.clone());
    snap.volumes = Ok(volumes.clone());
    let projects = if resources.compose || !resources.compose_volumes.is_empty() {
        compose_projects(&snap)
    } else {
        Vec::new()
    };
    let mut items = Vec::new();
    for c in &containers {
        let label = |k: &str| c.labels.as_ref().and_then(|l| l.get(k)).map(String::as_str);
        let name = names(c).next().unwrap_or("?").to_string();
        let why = if names(c).any(|n| resources.containers.iter().any(|r| r == n)) {
            Some("declared by the exercise".to_string())
        } else if resources.compose
            && label(COMPOSE_WORKDIR).is_some_and(|d| snap.is_exercise_dir(d))
        {
            Some("compose project of the exercise folder".to_string())
        } else if label(labels::MANAGED) == Some("true")
            && label(labels::EXERCISE) == Some(ex.slug.as_str())
        {
            Some("created by the workbook for this exercise".to_string())
        } else {
            None
        };
        if let (Some(why), Some(id)) = (why, c.id.clone()) {
            let state = c.state.map(|s| s.to_string()).unwrap_or_default();
            items.push(Item::Container {
                id,
                name,
                state,
                why,
            });
        }
    }
    for v in &volumes {
        let compose_key = v.labels.get(COMPOSE_VOLUME).filter(|_| {
            v.labels
                .get(COMPOSE_PROJECT)
                .is_some_and(|p| projects.contains(p))
        });
        let why = if resources.volumes.contains(&v.name) {
            Some("declared by the exercise")
        } else if compose_key.is_some_and(|k| resources.compose_volumes.contains(k)) {
            Some("compose volume of the exercise folder")
        } else if resources.compose && compose_key.is_some() {
            // Any other volume of the exercise folder's compose project came from its compose.yaml.
            Some("another volume of the exercise folder's compose project")
        } else if v.labels.get(labels::MANAGED).map(String::as_str) == Some("true")
            && v.labels.get(labels::EXERCISE) == Some(&ex.slug)
        {
            Some("created by the workbook for this exercise")
        } else {
            None
        };
        if let Some(why) = why {
            items.push(Item::Volume {
                name: v.name.clone(),
                why: why.to_string(),
            });
        }
    }
    if resources.compose && !projects.is_empty() {
        let filters =
            std::collections::HashMap::from([("label", vec![COMPOSE_PROJECT.to_string()])]);
        let opts = bollard::query_parameters::ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        let networks = docker
            .list_networks(Some(opts))
            .await
            .map_err(|e| failed("listing networks", e))?;
        for n in networks {
            let project = n.labels.as_ref().and_then(|l| l.get(COMPOSE_PROJECT));
            if let (Some(p), Some(name)) = (project, n.name) {
                if projects.contains(p) {
                    items.push(Item::Network { name });
                }
            }
        }
    }
    // Files: never deleted or written through a link that leaves the workspace (a learner's
    // `data -> ~/datasets` would have their own files overwritten).
    for f in &resources.files {
        let path = dir.join(f);
        if std::fs::symlink_metadata(&path).is_ok() {
            let parent = path.parent().unwrap_or(&dir);
            items.push(match ws.link_out(parent) {
                Some(real) => Item::LeftAlone {
                    real: real.join(path.file_name().unwrap_or_default()),
                    path,
                },
                None if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) => {
                    Item::EmptyFolder { path }
                }
                // The file itself may be a link: removing it removes the link only.
                None => Item::File { path },
            });
        }
    }
    for (rel, contents) in ws.starter_changes(catalog, &ex.slug) {
        let path = dir.join(rel);
        items.push(match ws.link_out(&path) {
            Some(real) => Item::LeftAlone { path, real },
            None => Item::Restore { path, contents },
        });
    }
    Ok(items)
}

/// The longest [`wait_for_self_removal`] waits.
const SELF_REMOVAL_WAIT: Duration = Duration::from_secs(10);

/// A container started with `docker run --rm` is removed by the engine a moment AFTER its
/// command returned, so a volume it used can still be "in use" right then (and the container
/// still listed). Waits (up to [`SELF_REMOVAL_WAIT`]) until no stopped self-removing container
/// uses `volume` (any volume, or none, when `volume` is `None`); never waits for a running one,
/// nor removes anything.
pub async fn wait_for_self_removal(docker: &Docker, volume: Option<&str>) {
    let deadline = Instant::now() + SELF_REMOVAL_WAIT;
    let mut filters = std::collections::HashMap::new();
    if let Some(volume) = volume {
        filters.insert("volume", vec![volume.to_string()]);
    }
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    loop {
        let Ok(found) = docker.list_containers(Some(opts.clone())).await else {
            return;
        };
        let mut leaving = false;
        // Stopped ones only: a running one does not leave by itself, nor does one created and
        // never started.
        for c in found.iter().filter(|c| {
            matches!(
                c.state,
                Some(
                    ContainerSummaryStateEnum::EXITED
                        | ContainerSummaryStateEnum::DEAD
                        | ContainerSummaryStateEnum::REMOVING
                )
            )
        }) {
            let Some(id) = c.id.as_deref() else { continue };
            let info = docker
                .inspect_container(
                    id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await;
            leaving |= match info {
                Ok(info) => info
                    .host_config
                    .and_then(|h| h.auto_remove)
                    .unwrap_or(false),
                // Gone while looked at.
                Err(_) => false,
            };
        }
        if !leaving || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Carries out a plan: containers first (so their volumes are free), then volumes and files.
/// Returns the problems met; an empty list is success.
pub async fn execute(docker: &Docker, items: &[Item]) -> Vec<String> {
    let mut problems = Vec::new();
    for item in items {
        if let Item::Container { id, name, .. } = item {
            // -v: anonymous volumes go with their container; named ones never do.
            let opts = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            match docker.remove_container(id, Some(opts)).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => problems.push(describe(&format!("removing container {name}"), &e)),
            }
        }
    }
    for item in items {
        if let Item::Volume { name, .. } = item {
            if let Err(e) = crate::docker::helpers::remove_helpers_using(docker, name).await {
                problems.push(e.to_string());
            }
            wait_for_self_removal(docker, Some(name)).await;
        }
    }
    for item in items {
        match item {
            Item::Volume { name, .. } => match docker.remove_volume(name, None::<RemoveVolumeOptions>).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => problems.push(format!(
                    "{} (is a container outside this exercise using it? `docker ps -a --filter volume={name}`)",
                    describe(&format!("removing volume {name}"), &e)
                )),
            },
            Item::Network { name } => match docker.remove_network(name).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => problems.push(describe(&format!("removing network {name}"), &e)),
            },
            Item::File { path } => {
                if let Err(e) = std::fs::remove_file(path) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        problems.push(format!("cannot delete {}: {e}", path.display()));
                    }
                }
            }
            // Never what is in it: a folder that holds anything stays, said.
            Item::EmptyFolder { path } => {
                if let Err(e) = std::fs::remove_dir(path) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        problems.push(format!(
                            "left {} in place: it is not empty ({e}); nothing in it was deleted",
                            path.display()
                        ));
                    }
                }
            }
            Item::Restore { path, contents } => {
                let r = path
                    .parent()
                    .map(std::fs::create_dir_all)
                    .unwrap_or(Ok(()))
                    .and_then(|_| std::fs::write(path, contents));
                if let Err(e) = r {
                    problems.push(format!("cannot restore {}: {e}", path.display()));
                }
            }
            Item::Container { .. } | Item::LeftAlone { .. } => {}
        }
    }
    problems
}
