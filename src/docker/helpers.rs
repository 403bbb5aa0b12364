//! The workbook's helper containers (probes, seeders, bench runs, doctor's bind test): their
//! body, their tracking while they live (so a signal can remove them), their removal, and the
//! sweep of leftovers of an interrupted run. Touches only containers the workbook labelled.

use crate::util::error::Result;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use bollard::Docker;

use crate::docker::engine::{describe, failed, is_not_found};
use crate::docker::labels;

/// Helper containers of this process that exist right now, so Ctrl-C can remove them.
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a helper container until [`remove`] removes it.
pub fn track(id: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.push(id.to_string());
    }
}

/// Helper creations sent and not answered yet.
static CREATING: AtomicUsize = AtomicUsize::new(0);
/// Helper creations whose request was dropped before the answer came (Ctrl-C, a cancelled
/// grading): the daemon may have carried them out, and this process never learnt the id.
static CUT_OFF: AtomicUsize = AtomicUsize::new(0);

/// Counts a creation as in flight while it lives; dropped before [`Creating::answered`],
/// it counts the creation as cut off. Every helper creation holds one (probes, seeders).
struct Creating {
    answered: bool,
}

impl Creating {
    fn start() -> Creating {
        CREATING.fetch_add(1, Ordering::SeqCst);
        Creating { answered: false }
    }

    fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        CREATING.fetch_sub(1, Ordering::SeqCst);
        if !self.answered {
            CUT_OFF.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Removes every helper container this process still has (on Ctrl-C): those it tracks, and
/// those labelled with its session. The second kind includes a creation whose answer never
/// came: when one is in flight or was cut off, the session's helpers are looked for again a
/// little later (0.3 s and 1 s), so the daemon can finish it first. One it finishes later
/// still is a leftover for the next run's sweep.
pub async fn remove_live(docker: &Docker) {
    let ids: Vec<String> = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for id in ids {
        remove(docker, &id).await;
    }
    remove_session_helpers(docker).await;
    if CREATING.load(Ordering::SeqCst) + CUT_OFF.load(Ordering::SeqCst) > 0 {
        for wait_ms in [300, 700] {
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
            remove_session_helpers(docker).await;
        }
        // Those are dealt with (or left to the sweep): the next call need not wait for them.
        CUT_OFF.store(0, Ordering::SeqCst);
    }
}

/// Removes the helpers (never setup containers) labelled with this process's session.
async fn remove_session_helpers(docker: &Docker) {
    let label = format!("{}={}", labels::SESSION, labels::session());
    let filters = HashMap::from([("label", vec![label])]);
    if let Ok(found) = helpers(docker, &filters, "listing this run's helpers").await {
        for id in found.iter().filter_map(|c| c.id.as_deref()) {
            remove(docker, id).await;
        }
    }
}

/// The workbook's helper containers (probes, seeders, bench runs; never setup containers)
/// among all the containers that `filters` select.
async fn helpers(
    docker: &Docker,
    filters: &HashMap<&str, Vec<String>>,
    doing: &str,
) -> Result<Vec<bollard::models::ContainerSummary>> {
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(filters)
        .build();
    let found = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| failed(doing, e))?;
    Ok(found
        .into_iter()
        .filter(|c| labels::is_helper(c.labels.as_ref()))
        .collect())
}

/// Helpers older than this are leftovers of an interrupted run, not another run's live probe
/// (`WORKBOOK_LEFTOVER_AGE_SECS` overrides it, e.g. for a machine only one person uses).
const LEFTOVER_AGE_SECS: i64 = 120;

/// The age (seconds) from which a helper counts as a leftover: [`sweep`] removes it, and
/// `workbook doctor` names it.
pub fn leftover_age() -> i64 {
    std::env::var("WORKBOOK_LEFTOVER_AGE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &i64| *v >= 0)
        .unwrap_or(LEFTOVER_AGE_SECS)
}

/// Removes workbook helper containers (probes, seeders, bench runs) left behind by a run that
/// was killed. Touches only containers labelled `workbook.managed=true` with a helper role.
pub async fn sweep(docker: &Docker) -> Result<usize> {
    let managed = format!("{}=true", labels::MANAGED);
    let filters = HashMap::from([("label", vec![managed, labels::ROLE.to_string()])]);
    let found = helpers(docker, &filters, "listing leftover workbook helpers").await?;
    let now = crate::util::clock::now() as i64;
    let mut removed = 0;
    for c in found {
        // Never this process's own (a clock ahead of the daemon's would make them look old).
        let own = c
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::SESSION))
            .is_some_and(|s| s == labels::session());
        let old = c.created.is_some_and(|t| now - t >= leftover_age());
        if let (false, true, Some(id)) = (own, old, c.id.as_deref()) {
            remove(docker, id).await;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes the workbook's own helper containers (probes, seeders, bench runs) that use
/// `volume`, whatever their age: a probe left by a run killed a moment ago must not keep a
/// volume that `reset` removes in use. Returns how many it removed.
pub async fn remove_helpers_using(docker: &Docker, volume: &str) -> Result<usize> {
    let filters = HashMap::from([
        ("volume", vec![volume.to_string()]),
        ("label", vec![format!("{}=true", labels::MANAGED)]),
    ]);
    let doing = format!("listing workbook helpers that use volume {volume}");
    let found = helpers(docker, &filters, &doing).await?;
    for id in found.iter().filter_map(|c| c.id.as_deref()) {
        remove(docker, id).await;
    }
    Ok(found.len())
}

/// Creates a helper container from `body` (see [`helper_body`]) and tracks it until [`remove`]:
/// counted as in flight while the daemon answers, so a signal meanwhile looks for it again by
/// this run's session label (see [`remove_live`]). Returns its id.
pub async fn create(
    docker: &Docker,
    body: ContainerCreateBody,
) -> Result<String, bollard::errors::Error> {
    let creating = Creating::start();
    let created = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await;
    creating.answered();
    let id = created?.id;
    track(&id);
    Ok(id)
}

/// Waits for helper container `id` to end and returns its exit code (the daemon reports a
/// non-zero one as a wait error, which is read as the code it carries).
pub async fn wait_exit(docker: &Docker, id: &str) -> Result<i64, bollard::errors::Error> {
    use futures_util::StreamExt;
    let mut exit = 0;
    let mut wait =
        docker.wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
    while let Some(item) = wait.next().await {
        match item {
            Ok(r) => exit = r.status_code,
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => exit = code,
            Err(e) => return Err(e),
        }
    }
    Ok(exit)
}

/// The body of every workbook helper container (probe, seeder, bench run, doctor's bind
/// test): labelled with its role, no network, every capability dropped, on top of `host`
/// (its mounts).
pub fn helper_body(
    image: &str,
    role: &str,
    cmd: Vec<String>,
    host: HostConfig,
) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(cmd),
        labels: Some(labels::helper(role)),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            cap_drop: Some(vec!["ALL".to_string()]),
            ..host
        }),
        ..Default::default()
    }
}

/// Removes a helper container; failures are reported on stderr, never hidden. `false` when
/// it was not there any more (removed by another program meanwhile).
pub async fn remove(docker: &Docker, id: &str) -> bool {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|l| l != id);
    }
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(false)
        .build();
    match docker.remove_container(id, Some(opts)).await {
        Ok(()) => true,
        // Gone already, or another workbook process is removing it (a sweep): both are fine.
        Err(e) if is_not_found(&e) => false,
        Err(e) => {
            let in_progress = matches!(&e, bollard::errors::Error::DockerResponseServerError { status_code: 409, message } if message.contains("already in progress"));
            if !in_progress {
                eprintln!(
                    "warning: {}; remove it with `docker rm -f {id}`",
                    describe("removing a workbook helper container", &e)
                );
            }
            !in_progress
        }
    }
}
