//! `workbook doctor` through the binary: an unreachable daemon is named with its fix (exit 2),
//! and on the real daemon the JSON report is complete and no helper container is left behind.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::util::{self, doctor_check as check, workbook};

#[test]
fn an_unreachable_daemon_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let dead = "unix:///nonexistent/docker.sock";
    let out = workbook()
        .current_dir(dir.path())
        .env("DOCKER_HOST", dead)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cannot reach the Docker daemon"), "{text}");
    assert!(text.contains("/nonexistent/docker.sock"), "{text}");
    // The endpoint section says how it was chosen, and the problem has a fix line.
    assert!(text.contains("set by DOCKER_HOST"), "{text}");
    assert!(text.contains("    fix: "), "{text}");
    assert!(text.contains("DOCKER_HOST"), "{text}");

    let out = workbook()
        .current_dir(dir.path())
        .env("DOCKER_HOST", dead)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["status"], "unreachable");
    assert_eq!(check(&report, "endpoint")["status"], "ok");
    let engine = check(&report, "engine");
    assert_eq!(engine["status"], "fail");
    assert!(engine["summary"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/docker.sock"));
    assert!(engine["fix"].as_str().is_some_and(|f| !f.is_empty()));
}

/// Ids of the containers labelled `workbook.role` (the workbook's helpers), by the Engine API.
fn helpers(rt: &tokio::runtime::Runtime, docker: &bollard::Docker) -> HashSet<String> {
    let filters = HashMap::from([("label", vec!["workbook.role".to_string()])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    rt.block_on(docker.list_containers(Some(opts)))
        .expect("listing containers")
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

#[test]
fn doctor_json_on_the_real_daemon_leaves_nothing_behind() {
    let _daemon = util::daemon();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = rt
        .block_on(workbook::docker::engine::connect())
        .expect("this test needs a Docker daemon");
    let before = helpers(&rt, &engine.docker);
    let dir = tempfile::tempdir().unwrap();
    let out = workbook()
        .current_dir(dir.path())
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: Value = util::json_stdout(&out);
    assert_eq!(report["version"], 1);
    let code = out.status.code().unwrap();
    match report["status"].as_str().unwrap() {
        "ok" => assert_eq!(code, 0, "{report:#}"),
        "problems" => assert_eq!(code, 1, "{report:#}"),
        other => panic!("status {other} with a running daemon: {report:#}"),
    }
    for id in ["endpoint", "engine", "images"] {
        let c = check(&report, id);
        assert!(
            ["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["summary"].as_str().unwrap().is_empty(), "{c}");
        if c["status"] != "ok" {
            assert!(c["fix"].is_string(), "a problem without a fix: {c}");
        }
    }
    assert_eq!(check(&report, "endpoint")["status"], "ok", "{report:#}");
    let engine_check = check(&report, "engine");
    assert_ne!(engine_check["status"], "fail", "{report:#}");
    assert!(
        engine_check["summary"]
            .as_str()
            .unwrap()
            .contains("Docker Engine"),
        "{engine_check}"
    );
    // With the lab images in place the bind-mount probe really runs: from a local folder, on
    // the local daemon the tests use, it must work.
    if check(&report, "images")["status"] == "ok" {
        let bind = check(&report, "bind-mount");
        assert_eq!(bind["status"], "ok", "{report:#}");
        assert!(bind["summary"].as_str().unwrap().contains("work"), "{bind}");
    }

    let after = helpers(&rt, &engine.docker);
    let new: Vec<&String> = after.difference(&before).collect();
    assert!(new.is_empty(), "doctor left helper containers: {new:?}");
    assert!(after.len() <= before.len(), "{before:?} → {after:?}");
    // The bind-mount probe's temporary folder is gone too.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "doctor left files behind: {left:?}");
}
