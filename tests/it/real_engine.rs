//! The workbook's transport (`src/transport.rs`) against the real Docker daemon: every kind of
//! request it bounds differently still works: short JSON answers, a `HEAD` stat, an archive
//! download, the event stream, exec's switch of protocols, logs, `wait` and `DELETE`. It uses one
//! container of its own (`wbtest-transport-PID`), removed at the end.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, EventsOptions, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;

use crate::util;

#[tokio::test]
async fn every_kind_of_request_works_through_the_transport() {
    let _daemon = util::daemon_async().await;
    let engine = util::lab_engine().await;
    let docker = &engine.docker;
    let name = format!("wbtest-transport-{}", std::process::id());

    // The event stream, from a second back (its request goes out at the first read): it must
    // deliver this container's events.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let filters = HashMap::from([
        ("container".to_string(), vec![name.clone()]),
        ("type".to_string(), vec!["container".to_string()]),
    ]);
    let mut events = docker.events(Some(EventsOptions {
        since: Some(since.to_string()),
        until: None,
        filters: Some(filters),
    }));

    let body = ContainerCreateBody {
        image: Some(workbook::docker::images::TOOLS_IMAGE.to_string()),
        cmd: Some(
            ["sh", "-c", "echo out; echo err >&2; sleep 4; exit 7"]
                .map(String::from)
                .to_vec(),
        ),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            body,
        )
        .await
        .expect("created")
        .id;
    let result = exercise(docker, &id, &mut events).await;
    let force = RemoveContainerOptionsBuilder::default().force(true).build();
    let removed = docker.remove_container(&id, Some(force)).await;
    result.unwrap();
    removed.expect("DELETE works");
}

async fn exercise(
    docker: &bollard::Docker,
    id: &str,
    events: &mut (impl futures_util::Stream<
        Item = Result<bollard::models::EventMessage, bollard::errors::Error>,
    > + Unpin),
) -> Result<(), String> {
    docker
        .start_container(id, None::<StartContainerOptions>)
        .await
        .map_err(|e| format!("start: {e}"))?;
    let mut seen = Vec::new();
    while !seen.iter().any(|a: &String| a == "start") {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(Ok(ev))) => seen.push(ev.action.unwrap_or_default()),
            other => return Err(format!("the event stream: {other:?} after {seen:?}")),
        }
    }

    // Exec: the answer switches protocols and streams both outputs.
    let cmd = ["sh", "-c", "echo hello; echo oops >&2; exit 3"].map(String::from);
    let r = workbook::docker::exec::run(docker, id, &cmd).await?;
    if (r.exit_code, r.stdout.as_str(), r.stderr.as_str()) != (3, "hello\n", "oops\n") {
        return Err(format!("exec: {r:?}"));
    }

    // A HEAD stat, then the archive of the same file.
    let stat = docker
        .get_container_archive_info(
            id,
            Some(
                ContainerArchiveInfoOptionsBuilder::default()
                    .path("/etc/hostname")
                    .build(),
            ),
        )
        .await
        .map_err(|e| format!("stat: {e}"))?;
    if stat.size <= 0 {
        return Err(format!("stat: {stat:?}"));
    }
    let mut archive = docker.download_from_container(
        id,
        Some(
            DownloadFromContainerOptionsBuilder::default()
                .path("/etc/hostname")
                .build(),
        ),
    );
    let mut tar = Vec::new();
    while let Some(chunk) = archive.next().await {
        tar.extend_from_slice(&chunk.map_err(|e| format!("archive: {e}"))?);
    }
    let fact = workbook::grading::probe::first_entry(&tar)?;
    if fact.size != stat.size as u64 {
        return Err(format!("archive: {fact:?} against {stat:?}"));
    }

    // `wait` answers when the container exits (after its sleep), with its code.
    let mut wait = docker.wait_container(id, None::<WaitContainerOptions>);
    let code = match wait.next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        other => return Err(format!("wait: {other:?}")),
    };
    if code != 7 {
        return Err(format!("wait: exit code {code}"));
    }

    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut logs = docker.logs(id, Some(opts));
    let mut text = String::new();
    while let Some(item) = logs.next().await {
        text.push_str(&item.map_err(|e| format!("logs: {e}"))?.to_string());
    }
    if !(text.contains("out") && text.contains("err")) {
        return Err(format!("logs: {text:?}"));
    }
    Ok(())
}
