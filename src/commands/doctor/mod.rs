//! `workbook doctor`: diagnoses this machine for the workbook, for an instructor setting up a
//! room or a learner stuck before the first exercise.
//!
//! One check per line: the Docker endpoint and how it was chosen, whether the daemon answers
//! (engine and API versions, OS/arch, storage driver), whether a registry answers (else the
//! static busybox the lab images are built from), the lab images, free disk for the daemon's
//! data root, a bind mount from the workspace that really works (Docker Desktop file sharing),
//! Docker Compose, and workbook-labelled leftovers. Every problem comes with the command that
//! fixes it.
//!
//! The doctor only reads, with two exceptions it cleans up itself: the bind-mount probe (a
//! temporary folder with a marker file and a helper container that is created, never started,
//! and always removed) and the pull of the tiny `busybox` base image that `workbook setup` would
//! pull anyway. It never removes anything else, leftovers included: it names the command.
//!
//! Exit code: 0 when nothing failed (warnings are things worth knowing, e.g. working offline),
//! 1 when a check failed, 2 when the daemon cannot be reached.

use crate::util::error::Result;
use std::path::Path;

use serde::Serialize;

use crate::docker::endpoint::Env;
use crate::docker::engine::failed;
use crate::ui::output::{json, out};

mod bind;
mod compose;
mod disk;
mod engine;
mod images;
mod leftovers;
mod output;

use bind::{bind_check, bind_dir};
use compose::compose_check;
use disk::disk_check;
use engine::{endpoint_check, engine_check, other_sockets, unreachable_check};
use images::{
    busybox_check, images_check, postgres_check, pull_base, registry_check, stale_images,
};
use leftovers::leftovers_check;
pub use output::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    /// Worth knowing; the workbook still works.
    Warn,
    /// Something the workbook needs is missing or broken.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier: endpoint, engine, registry, busybox, images, postgres, disk,
    /// bind-mount, compose, leftovers.
    pub id: &'static str,
    pub status: CheckStatus,
    /// One line for people.
    pub summary: String,
    /// The command (with a few words) that fixes the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(id: &'static str, summary: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Ok,
            summary: summary.into(),
            fix: None,
        }
    }
    fn warn(id: &'static str, summary: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Warn,
            summary: summary.into(),
            fix,
        }
    }
    fn fail(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Fail,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Ok,
    Problems,
    Unreachable,
}

/// What `doctor --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The format of this report: 1.
    pub version: u32,
    pub status: Overall,
    pub checks: Vec<Check>,
}

impl Report {
    /// Aggregates the checks: unreachable wins, then any failure; warnings alone are ok.
    pub fn new(checks: Vec<Check>, reachable: bool) -> Report {
        let status = if !reachable {
            Overall::Unreachable
        } else if checks.iter().any(|c| c.status == CheckStatus::Fail) {
            Overall::Problems
        } else {
            Overall::Ok
        };
        Report {
            version: 1,
            status,
            checks,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self.status {
            Overall::Ok => 0,
            Overall::Problems => 1,
            Overall::Unreachable => 2,
        }
    }
}

/// `workbook doctor [--json]`: runs every check, prints them, returns the exit code.
pub async fn run(workspace: Option<&Path>, as_json: bool) -> Result<i32> {
    let report = diagnose(workspace).await;
    if as_json {
        json(&report);
    } else {
        out(&render(
            &report,
            crate::ui::render::Style::for_stdout().color,
        ));
    }
    Ok(report.exit_code())
}

/// Runs every check. Never fails: what goes wrong becomes a check.
pub async fn diagnose(workspace: Option<&Path>) -> Report {
    let env = Env::from_process();
    let (endpoint_check, endpoint) = endpoint_check(&env);
    let mut checks = vec![endpoint_check];
    let local = async {
        let (compose, busybox) = tokio::join!(compose_check(), async {
            crate::docker::images::host_busybox()
        });
        (compose, busybox)
    };
    let Some(endpoint) = endpoint else {
        // No endpoint, no daemon: the host-only checks still help.
        let (compose, busybox) = local.await;
        checks.push(Check::fail(
            "engine",
            "cannot reach the Docker daemon: no usable endpoint (see above)",
            "correct the endpoint (above), then run `workbook doctor` again",
        ));
        checks.push(busybox_check(&busybox, None));
        checks.push(compose);
        return Report::new(checks, false);
    };
    let engine = match crate::docker::engine::connect().await {
        Ok(engine) => engine,
        Err(e) => {
            let (compose, busybox) = local.await;
            checks.push(unreachable_check(
                &endpoint,
                &e.to_string(),
                &other_sockets(&env, &endpoint),
            ));
            checks.push(busybox_check(&busybox, None));
            checks.push(compose);
            return Report::new(checks, false);
        }
    };
    let docker = &engine.docker;
    let (version, info) = tokio::join!(docker.version(), docker.info());
    let info = info.map_err(|e| failed("reading the daemon's information", e));
    let version = version.map_err(|e| failed("reading the daemon's version", e));
    let dir = bind_dir(workspace);
    let ((compose, busybox), registry, stale, bind, leftovers) = tokio::join!(
        local,
        pull_base(docker),
        stale_images(docker),
        bind_check(docker, &engine.endpoint, info.as_ref().ok(), &dir),
        leftovers_check(docker),
    );
    checks.push(engine_check(&version, &info));
    let images_fresh = matches!(&stale, Ok(s) if s.is_empty());
    checks.push(registry_check(&registry, &busybox, images_fresh));
    checks.push(busybox_check(&busybox, Some(registry.is_ok())));
    checks.push(images_check(&stale));
    checks.push(postgres_check(docker, registry.is_ok()).await);
    checks.push(disk_check(&engine.endpoint, &info));
    checks.push(bind);
    checks.push(compose);
    checks.push(leftovers);
    Report::new(checks, true)
}

/// The first line of a message, without its final full stop.
fn one_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::endpoint::{Address, Endpoint};

    pub(super) fn check(id: &'static str, status: CheckStatus) -> Check {
        Check {
            id,
            status,
            summary: format!("{id} summary"),
            fix: (status != CheckStatus::Ok).then(|| format!("fix {id}")),
        }
    }

    #[test]
    fn status_aggregation_and_exit_codes() {
        let ok = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("registry", CheckStatus::Warn),
            ],
            true,
        );
        assert_eq!((ok.status, ok.exit_code()), (Overall::Ok, 0));
        let problems = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("images", CheckStatus::Fail),
            ],
            true,
        );
        assert_eq!(
            (problems.status, problems.exit_code()),
            (Overall::Problems, 1)
        );
        let down = Report::new(vec![check("engine", CheckStatus::Fail)], false);
        assert_eq!((down.status, down.exit_code()), (Overall::Unreachable, 2));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let r = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("images", CheckStatus::Fail),
            ],
            true,
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["status"], "problems");
        assert_eq!(v["checks"][0]["id"], "endpoint");
        assert_eq!(v["checks"][0]["status"], "ok");
        assert!(v["checks"][0].get("fix").is_none());
        assert_eq!(v["checks"][1]["status"], "fail");
        assert_eq!(v["checks"][1]["fix"], "fix images");
    }

    pub(super) fn ep(address: Address, source: &str) -> Endpoint {
        Endpoint {
            address,
            source: source.to_string(),
            tls: None,
        }
    }
}
