//! The two ways grading reads a volume give the same facts. Docker's archive endpoint (a probe
//! that is never started) is how volumes are read on Docker; a started helper printing `stat`,
//! `base64` and `tar` (`grading/probe/started.rs`) is how they are read on Podman, whose archive
//! endpoint reports every owner as 0:0 and whose never-started containers do not mount volumes
//! with driver options. On Docker both ways work, so here they are compared on the same volumes:
//! a plain one with owners, modes, a setgid folder, links and an empty file, and one backed by
//! a folder through `type=none,o=bind`. Its volumes are `wbtest-reads-*-PID`, removed at the end.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::{
    RemoveContainerOptionsBuilder, RemoveVolumeOptions, StartContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use workbook::checks::snapshot::EngineFacts;
use workbook::grading::probe::{self, Wanted};

use crate::util;

/// Runs `script` as root in a throw-away container with `volume` at /v.
async fn seed(docker: &bollard::Docker, volume: &str, script: &str) {
    let body = ContainerCreateBody {
        image: Some(workbook::docker::images::TOOLS_IMAGE.to_string()),
        cmd: Some(vec!["sh".into(), "-ec".into(), script.into()]),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{volume}:/v")]),
            network_mode: Some("none".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await
        .unwrap()
        .id;
    docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
        .unwrap();
    let mut wait = docker.wait_container(&id, None::<WaitContainerOptions>);
    while let Some(r) = wait.next().await {
        r.expect("the seed script succeeds");
    }
    let force = RemoveContainerOptionsBuilder::default().force(true).build();
    docker.remove_container(&id, Some(force)).await.unwrap();
}

fn facts(podman: bool) -> EngineFacts {
    EngineFacts {
        name: "test".into(),
        created_at_moves: false,
        podman,
        unseen_host: None,
    }
}

/// Removes the test's volumes when dropped, whatever happened.
struct Cleanup(Vec<String>, tempfile::TempDir);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names = self.0.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let docker = bollard::Docker::connect_with_local_defaults().unwrap();
                for n in names {
                    let _ = docker.remove_volume(&n, None::<RemoveVolumeOptions>).await;
                }
            })
        })
        .join();
    }
}

#[tokio::test]
async fn a_started_helper_reads_what_the_archive_endpoint_reads() {
    let _daemon = util::daemon_async().await;
    let engine = util::lab_engine().await;
    let docker = &engine.docker;
    let pid = std::process::id();
    let plain = format!("wbtest-reads-plain-{pid}");
    let bound = format!("wbtest-reads-bound-{pid}");
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("train.csv"), "a,b\n1,2\n").unwrap();
    let _cleanup = Cleanup(vec![plain.clone(), bound.clone()], folder);
    let folder_path = _cleanup.1.path().to_string_lossy().into_owned();
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(plain.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(bound.clone()),
            driver: Some("local".into()),
            driver_opts: Some(HashMap::from([
                ("type".to_string(), "none".to_string()),
                ("o".to_string(), "bind".to_string()),
                ("device".to_string(), folder_path),
            ])),
            ..Default::default()
        })
        .await
        .unwrap();
    seed(
        docker,
        &plain,
        "echo persisted > /v/hello.txt; chown 1000:1000 /v/hello.txt; chmod 600 /v/hello.txt
         mkdir -p /v/shared/deep; chown 33:1000 /v/shared; chmod 2775 /v/shared
         printf 'k' > /v/shared/deep/key; : > /v/empty
         ln -s shared /v/ln; ln /v/hello.txt /v/hard; chown 1000:1000 /v",
    )
    .await;

    let wanted = Wanted {
        full: [
            "hello.txt",
            "shared",
            "shared/deep/key",
            "empty",
            "ln",
            "missing",
            ".",
        ]
        .map(String::from)
        .to_vec(),
        stat: ["hard", "shared/deep", "nope"].map(String::from).to_vec(),
        tree: true,
    };
    for name in [&plain, &bound] {
        let volume = docker.inspect_volume(name).await.unwrap();
        let archive = probe::read(docker, &volume, &wanted, &facts(false))
            .await
            .unwrap();
        let started = probe::read(docker, &volume, &wanted, &facts(true))
            .await
            .unwrap();
        assert!(archive.unmountable.is_none() && started.unmountable.is_none());
        for path in &wanted.full {
            assert_eq!(
                archive.files.get(path),
                started.files.get(path),
                "{name}: {path} read two ways"
            );
        }
        // A stat promises kind, mode and size (a read that had the path at hand anyway may
        // say more).
        let stat = |read: &probe::VolumeRead, path: &str| {
            read.files[path]
                .clone()
                .unwrap()
                .map(|f| (f.kind, f.mode, f.size))
        };
        for path in &wanted.stat {
            assert_eq!(
                stat(&archive, path),
                stat(&started, path),
                "{name}: {path} stat'ed two ways"
            );
        }
        // Which of two hard-linked names tar stores as the file and which as the link depends
        // on the order it meets them: the same listing either way.
        let same = |m: workbook::archive::Manifest| {
            m.into_values()
                .map(|mut e| {
                    if matches!(e.kind, workbook::archive::EntryKind::Hardlink { .. }) {
                        e.kind = workbook::archive::EntryKind::File;
                    }
                    e
                })
                .collect::<Vec<_>>()
        };
        let (a, s) = (
            archive.tree.unwrap().unwrap(),
            started.tree.unwrap().unwrap(),
        );
        assert_eq!(same(a), same(s), "{name}: the listing read two ways");
    }
    // The facts themselves, so that two equally wrong readings cannot pass.
    let volume = docker.inspect_volume(&plain).await.unwrap();
    let read = probe::read(docker, &volume, &wanted, &facts(true))
        .await
        .unwrap();
    let fact = |p: &str| read.files[p].clone().unwrap();
    let hello = fact("hello.txt").unwrap();
    assert_eq!(
        (hello.uid, hello.gid, hello.mode, hello.content.as_deref()),
        (Some(1000), Some(1000), 0o600, Some(&b"persisted\n"[..]))
    );
    let shared = fact("shared").unwrap();
    assert_eq!(
        (shared.uid, shared.gid, shared.mode),
        (Some(33), Some(1000), 0o2775)
    );
    assert_eq!(fact("missing"), None);
    assert_eq!(fact("nope"), None);
    assert_eq!(fact(".").unwrap().uid, Some(1000));
    let hard = fact("hard").unwrap();
    assert_eq!(
        (hard.uid, hard.content),
        (None, None),
        "a stat has no owner or bytes"
    );
    let bound_volume = docker.inspect_volume(&bound).await.unwrap();
    let bound_read = probe::read(
        docker,
        &bound_volume,
        &Wanted {
            full: vec!["train.csv".into()],
            ..Default::default()
        },
        &facts(true),
    )
    .await
    .unwrap();
    assert_eq!(
        bound_read.files["train.csv"]
            .clone()
            .unwrap()
            .unwrap()
            .content
            .as_deref(),
        Some(&b"a,b\n1,2\n"[..]),
        "the folder behind a type=none,o=bind volume"
    );
}
