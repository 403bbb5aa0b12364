//! Every exercise on Podman (its Docker-compatible API, with the docker CLI and Compose v1 the
//! solutions use), beside Docker that the rest of the suite grades. `.ci/run` installs Podman,
//! starts its service and names its socket in `WORKBOOK_TEST_PODMAN_HOST`. Under CI the socket
//! is required; elsewhere the test says it did not run.
//!
//! It does not take [`util::daemon`]: that lock keeps the tests that use the Docker daemon's
//! names (`ml-data`, `trainer`...), count its helper containers or remove its lab images from
//! running at once. Podman has containers, volumes, networks and images of its own, and every
//! child here is pointed at its socket, so nothing here touches Docker's; the exercises bind
//! only folders of verify's own temporary workspace and publish no ports, so nothing is shared
//! on the host either.
//!
//! What Podman cannot do (the steps it reports as not available) is the Podman column of
//! docs/compatibility.md, and that column is checked here (see [`util::compat`]).

use serde_json::Value;

use crate::util::{self, compat, workbook};

const RERUN: &str =
    "WORKBOOK_TEST_PODMAN_HOST=unix:///run/podman/podman.sock cargo test --test it -- podman::";

#[test]
fn every_exercise_verifies_on_podman() {
    let Some(host) = std::env::var_os("WORKBOOK_TEST_PODMAN_HOST") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide Podman: WORKBOOK_TEST_PODMAN_HOST is not set (see .ci/run)"
        );
        eprintln!("not run: WORKBOOK_TEST_PODMAN_HOST names no Podman socket");
        return;
    };
    let setup = workbook()
        .env("DOCKER_HOST", &host)
        .arg("setup")
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "workbook setup on {host:?}: {}{}",
        String::from_utf8_lossy(&setup.stdout),
        String::from_utf8_lossy(&setup.stderr)
    );
    let out = workbook()
        .env("DOCKER_HOST", &host)
        .args(["verify", "--json", "--yes"])
        .output()
        .unwrap();
    let report: Value = util::json_stdout(&out);
    let verdicts = report["exercises"].as_array().unwrap();
    let catalog = workbook::curriculum::catalog::exercises().unwrap();
    assert_eq!(
        verdicts.iter().map(|v| &v["exercise"]).collect::<Vec<_>>(),
        catalog.iter().map(|e| e.slug.as_str()).collect::<Vec<_>>(),
        "{report:#}"
    );
    for v in verdicts {
        let engine = v["engine"].as_str().unwrap_or_default();
        assert!(
            engine.starts_with("Podman"),
            "{host:?} is not Podman: {} was verified on {engine:?}",
            v["exercise"]
        );
        assert_eq!(
            v["problems"],
            serde_json::json!([]),
            "{} on {engine}: {v:#}",
            v["exercise"]
        );
    }
    assert_eq!(report["left_behind"], serde_json::json!([]), "{report:#}");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    for v in verdicts {
        eprintln!(
            "{} on {}: {:.1} s",
            v["exercise"].as_str().unwrap(),
            v["engine"].as_str().unwrap(),
            v["seconds"].as_f64().unwrap_or_default()
        );
    }

    // Exactly the steps the doc says are not available on Podman are reported so, each for the
    // reason it gives; and every other exercise verifies there outright.
    let documented = compat::committed()
        .column(compat::PODMAN_COMPOSE_V1)
        .unwrap();
    for v in verdicts {
        let slug = v["exercise"].as_str().unwrap();
        let engine = v["engine"].as_str().unwrap();
        let reported: Vec<&str> = v["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let why = u["why"].as_str().unwrap();
                assert!(
                    why.starts_with(&format!("not available on {engine}: ")),
                    "{slug}: {why}"
                );
                u["step"].as_str().unwrap()
            })
            .collect();
        let said = documented.get(slug).map(|c| compat::unavailable_steps(c));
        if !compat::blessing() {
            assert_eq!(
                Some(reported.iter().map(|s| s.to_string()).collect()),
                said,
                "{slug}: the steps Podman reports as not available (left) are not the ones \
                 docs/compatibility.md documents (right)"
            );
        }
    }
    let mut measured = vec![(
        compat::ENGINE_ROW.to_string(),
        verdicts[0]["engine"].as_str().unwrap().to_string(),
    )];
    measured.extend(
        verdicts
            .iter()
            .map(|v| (v["exercise"].as_str().unwrap().to_string(), compat::cell(v))),
    );
    compat::expect_column(compat::PODMAN_COMPOSE_V1, &measured, RERUN);
}
