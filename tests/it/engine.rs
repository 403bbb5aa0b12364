//! What `engine::connect` relies on, checked against the real daemon.
//!
//! `connect` asks `GET /_ping` and negotiates no API version, because bollard 0.21 sends every
//! request on an unversioned path, which the daemon answers in its own API version. If a bollard
//! upgrade starts prefixing paths with `/vX.Y` (bollard's master does), a client newer than the
//! daemon is refused with "client version ... is too new", and this test fails: `connect` must
//! then negotiate again.

use bollard::ClientVersion;

use crate::util;

#[tokio::test]
async fn requests_are_answered_whatever_the_client_api_version() {
    let _daemon = util::daemon_async().await;
    let future = ClientVersion {
        major_version: 1,
        minor_version: 99,
    };
    let engine = workbook::docker::engine::connect_as(&future)
        .await
        .expect("the test daemon answers /_ping");
    // Read-only requests of the kinds grading makes: lists and an inspect that is a 404.
    engine
        .docker
        .list_volumes(None::<bollard::query_parameters::ListVolumesOptions>)
        .await
        .expect("a client of API 1.99 may list volumes: bollard sends unversioned paths");
    workbook::docker::engine::all_containers(&engine.docker)
        .await
        .expect("a client of API 1.99 may list containers: bollard sends unversioned paths");
    let missing = engine
        .docker
        .inspect_volume("workbook-engine-test-no-such-volume")
        .await
        .expect_err("no such volume");
    assert!(
        workbook::docker::engine::is_not_found(&missing),
        "a missing volume is a 404, not a version refusal: {missing:?}"
    );
}

/// A volume-unused step must not fail because of the workbook's own probe (in `check --all`,
/// one exercise's probe on `ml-data` is there while another exercise is graded), while any
/// other container that uses the volume still makes it fail.
#[tokio::test]
async fn the_workbooks_own_helpers_are_not_graded() {
    use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
    use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
    use workbook::checks::Status;

    let _daemon = util::daemon_async().await;
    let engine = util::lab_engine().await;
    let docker = &engine.docker;
    let volume = format!("workbook-test-helpers-{}", std::process::id());
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(volume.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let exercise = workbook::curriculum::exercise::Exercise::parse(
        "01-helpers",
        &format!(
            r#"
format = 1
title = "helpers"
lesson = "helpers.md"
summary = "the workbook's probes are not the learner's containers"
[resources]
volumes = ["{volume}"]
[[steps]]
id = "unused"
title = "no container uses it"
task = "t"
hint = "h"
  [[steps.checks]]
  kind = "volume-unused"
  name = "{volume}"
"#
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // A never-started probe of the workbook, as another exercise's grading leaves it meanwhile.
    let probe = workbook::grading::probe::create(docker, &volume)
        .await
        .unwrap();
    let with_probe = workbook::grading::grade::grade(docker, &exercise, dir.path()).await;

    // A container that is not the workbook's uses it too.
    let name = format!("workbook-test-user-{}", std::process::id());
    let body = ContainerCreateBody {
        image: Some(workbook::docker::images::TOOLS_IMAGE.to_string()),
        cmd: Some(vec!["true".to_string()]),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{volume}:/data")]),
            network_mode: Some("none".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            body,
        )
        .await;
    let with_user = workbook::grading::grade::grade(docker, &exercise, dir.path()).await;

    // Clean up before asserting.
    workbook::docker::helpers::remove(docker, &probe).await;
    let force = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&name, Some(force)).await;
    let _ = docker
        .remove_volume(
            &volume,
            None::<bollard::query_parameters::RemoveVolumeOptions>,
        )
        .await;

    created.expect("the test container is created");
    assert_eq!(with_probe.status, Status::Pass, "{with_probe:#?}");
    assert_eq!(with_user.status, Status::Fail, "{with_user:#?}");
}

/// `watch`'s grading memory runs an exec check again only when its container changed (another
/// id, or restarted) or its last result is older than the reuse time; `check` (no reuse) runs it
/// at every grading. Counted by the daemon's own `exec_create` events.
#[tokio::test]
async fn exec_checks_are_run_again_only_when_their_container_changed() {
    use std::time::Duration;
    use workbook::grading::gather::Memory;

    let _daemon = util::daemon_async().await;
    let engine = util::lab_engine().await;
    let docker = &engine.docker;
    let name = format!("workbook-test-exec-{}", std::process::id());
    let run = util::docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "workbook/tools",
        "sleep",
        "300",
    ]);
    assert!(run.status.success(), "{run:?}");
    let toml = format!(
        "format = 1\ntitle = 't'\nlesson = 'x.md'\n[resources]\ncontainers = ['{name}']\n\
         [[steps]]\nid = 's'\ntitle = 'x'\ntask = 't'\nhint = 'h'\n  [[steps.checks]]\n  kind = 'exec'\n  \
         container = '{name}'\n  command = ['cat', '/etc/hostname']\n"
    );
    let ex = workbook::curriculum::exercise::Exercise::parse("99-exec", &toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let execs = |since: i64| {
        let until = chrono::Utc::now().timestamp() + 1;
        let out = util::docker(&[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--filter",
            &format!("container={name}"),
            "--filter",
            "event=exec_create",
            "--format",
            "{{.Action}}",
        ]);
        String::from_utf8_lossy(&out.stdout).lines().count()
    };

    let since = chrono::Utc::now().timestamp() - 1;
    let watch = Memory::reusing_execs(Duration::from_secs(30));
    for _ in 0..3 {
        let r = workbook::grading::grade::grade_with(docker, &ex, dir.path(), &watch).await;
        assert!(r.passed(), "{r:?}");
    }
    let reused = execs(since);
    // Restarted: the same container, started again, is asked again.
    let restart = util::docker(&["restart", "-t", "0", &name]);
    assert!(restart.status.success(), "{restart:?}");
    let r = workbook::grading::grade::grade_with(docker, &ex, dir.path(), &watch).await;
    assert!(r.passed(), "{r:?}");
    let after_restart = execs(since);
    // Without reuse, as `check` grades: every grading runs it.
    let plain = Memory::default();
    for _ in 0..3 {
        workbook::grading::grade::grade_with(docker, &ex, dir.path(), &plain).await;
    }
    let all = execs(since);
    util::docker(&["rm", "-f", &name]);
    assert_eq!(
        reused, 1,
        "three gradings of an unchanged container: one exec"
    );
    assert_eq!(after_restart, 2, "a restarted container is asked again");
    assert_eq!(all, 5, "without reuse every grading runs the exec");
}
