//! The leftovers check: workbook-labelled containers and volumes that no exercise keeps and
//! no running command uses.

use crate::util::error::Result;
use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListVolumesOptionsBuilder};
use bollard::Docker;

use super::{one_line, Check};
use crate::docker::engine::failed;
use crate::docker::helpers;
use crate::docker::labels;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Resource {
    volume: bool,
    /// What `docker rm -f` / `docker volume rm` takes.
    name: String,
    role: Option<String>,
    exercise: Option<String>,
    age_secs: Option<i64>,
}

pub(super) async fn leftovers_check(docker: &Docker) -> Check {
    match managed_resources(docker).await {
        Ok(found) => leftovers_verdict(&found, helpers::leftover_age()),
        Err(e) => Check::warn(
            "leftovers",
            format!(
                "workbook leftovers could not be listed: {}",
                one_line(&e.to_string())
            ),
            None,
        ),
    }
}

async fn managed_resources(docker: &Docker) -> Result<Vec<Resource>> {
    let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| failed("listing workbook containers", e))?;
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| failed("listing workbook volumes", e))?;
    let now = crate::util::clock::now() as i64;
    let mut out = Vec::new();
    for c in containers {
        let label = |k: &str| c.labels.as_ref().and_then(|l| l.get(k)).cloned();
        let name = c
            .names
            .iter()
            .flatten()
            .next()
            .map(|n| n.trim_start_matches('/').to_string())
            .or_else(|| c.id.as_deref().map(|id| id.chars().take(12).collect()));
        let Some(name) = name else { continue };
        out.push(Resource {
            volume: false,
            name,
            role: label(labels::ROLE),
            exercise: label(labels::EXERCISE),
            age_secs: c.created.map(|t| now - t),
        });
    }
    for v in volumes.volumes.into_iter().flatten() {
        out.push(Resource {
            volume: true,
            role: v.labels.get(labels::ROLE).cloned(),
            exercise: v.labels.get(labels::EXERCISE).cloned(),
            age_secs: v.created_at.map(|t| now - t.timestamp()),
            name: v.name,
        });
    }
    Ok(out)
}

/// `leftover_age`: from this age (seconds) on, a helper is a leftover, as for
/// [`helpers::sweep`]; a younger one belongs to a workbook command running now.
fn leftovers_verdict(found: &[Resource], leftover_age: i64) -> Check {
    let helper = |r: &Resource| {
        matches!(
            r.role.as_deref(),
            Some(labels::ROLE_PROBE | labels::ROLE_SEED | labels::ROLE_BENCH)
        )
    };
    let mut exercises: Vec<&str> = found.iter().filter_map(|r| r.exercise.as_deref()).collect();
    exercises.sort_unstable();
    exercises.dedup();
    let kept = found.iter().filter(|r| r.exercise.is_some()).count();
    let live = found
        .iter()
        .filter(|r| r.exercise.is_none() && helper(r))
        .filter(|r| r.age_secs.is_none_or(|a| a < leftover_age))
        .count();
    let left: Vec<&Resource> = found
        .iter()
        .filter(|r| r.exercise.is_none())
        .filter(|r| !helper(r) || r.age_secs.is_some_and(|a| a >= leftover_age))
        .collect();
    let mut notes = Vec::new();
    if kept > 0 {
        notes.push(format!(
            "{kept} resource{} of exercise{} {} kept for the learner (`workbook reset --all` removes them)",
            plural(kept),
            plural(exercises.len()),
            exercises.join(", ")
        ));
    }
    if live > 0 {
        notes.push(format!(
            "{live} helper{} in use by a workbook command running now",
            plural(live)
        ));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    if left.is_empty() {
        return Check::ok("leftovers", format!("no workbook leftovers{notes}"));
    }
    let containers: Vec<&str> = left
        .iter()
        .filter(|r| !r.volume)
        .map(|r| r.name.as_str())
        .collect();
    let volumes: Vec<&str> = left
        .iter()
        .filter(|r| r.volume)
        .map(|r| r.name.as_str())
        .collect();
    let mut what = Vec::new();
    let mut fix = Vec::new();
    if !containers.is_empty() {
        what.push(format!(
            "{} container{}",
            containers.len(),
            plural(containers.len())
        ));
        fix.push(format!("`docker rm -f {}`", containers.join(" ")));
    }
    if !volumes.is_empty() {
        what.push(format!("{} volume{}", volumes.len(), plural(volumes.len())));
        fix.push(format!("`docker volume rm {}`", volumes.join(" ")));
    }
    Check::warn(
        "leftovers",
        format!(
            "leftovers of interrupted workbook runs: {}{notes}",
            what.join(" and ")
        ),
        Some(fix.join(" and ")),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::CheckStatus;

    fn res(volume: bool, name: &str, role: Option<&str>, ex: Option<&str>, age: i64) -> Resource {
        Resource {
            volume,
            name: name.into(),
            role: role.map(Into::into),
            exercise: ex.map(Into::into),
            age_secs: Some(age),
        }
    }

    #[test]
    fn leftovers_are_old_helpers_and_unknown_resources_only() {
        assert_eq!(leftovers_verdict(&[], 120).status, CheckStatus::Ok);
        let found = vec![
            res(false, "abc", Some("probe"), None, 600),
            res(false, "young", Some("probe"), None, 5),
            res(false, "trainer", Some("setup"), Some("04-training"), 9000),
            res(true, "ml-data", None, Some("01-named-volumes"), 9000),
            res(true, "workbook-bench-1", Some("bench"), None, 900),
        ];
        let c = leftovers_verdict(&found, 120);
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(
            c.summary.contains("1 container and 1 volume"),
            "{}",
            c.summary
        );
        assert!(c
            .summary
            .contains("2 resources of exercises 01-named-volumes, 04-training"));
        assert!(c.summary.contains("1 helper in use"));
        assert_eq!(
            c.fix.as_deref(),
            Some("`docker rm -f abc` and `docker volume rm workbook-bench-1`")
        );
        let c = leftovers_verdict(&found[1..4], 120);
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(c.fix.is_none());
    }

    #[test]
    fn a_helper_is_a_leftover_from_the_age_the_sweep_removes_it() {
        let edge = [res(false, "edge", Some("probe"), None, 120)];
        assert_eq!(leftovers_verdict(&edge, 120).status, CheckStatus::Warn);
        assert_eq!(leftovers_verdict(&edge, 121).status, CheckStatus::Ok);
        let new = [res(false, "new", Some("seed"), None, 0)];
        assert_eq!(leftovers_verdict(&new, 0).status, CheckStatus::Warn);
    }
}
