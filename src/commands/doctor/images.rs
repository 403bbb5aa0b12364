//! The registry, busybox and lab-images checks: can the lab images be built, and are they here.

use crate::util::error::Result;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;

use super::{one_line, Check};
use crate::docker::engine::is_not_found;
use crate::docker::images::{self, PULL_BASE};

/// How long a registry gets to deliver the tiny base image.
const PULL_TIMEOUT: Duration = Duration::from_secs(8);

/// Pulls the tiny base image within [`PULL_TIMEOUT`].
pub(super) async fn pull_base(docker: &Docker) -> Result<()> {
    images::pull(docker, PULL_BASE, PULL_TIMEOUT).await
}

const INSTALL_BUSYBOX: &str = "`sudo apt-get install busybox-static` (Debian/Ubuntu), or set \
                               WORKBOOK_BUSYBOX to a static busybox binary";

pub(super) fn registry_check(
    pulled: &Result<()>,
    busybox: &crate::util::error::Result<PathBuf>,
    images_fresh: bool,
) -> Check {
    let reason = match pulled {
        Ok(()) => {
            return Check::ok(
                "registry",
                format!("a registry answers: pulled {PULL_BASE}, the base of the lab images"),
            )
        }
        Err(e) => one_line(&e.to_string()).to_string(),
    };
    match busybox {
        Ok(_) => Check::warn(
            "registry",
            format!(
                "offline: lab images are built from the host's static busybox (no registry: {reason})"
            ),
            None,
        ),
        Err(_) if images_fresh => Check::warn(
            "registry",
            format!(
                "offline and no static busybox: the lab images are here, but could not be rebuilt \
                 (no registry: {reason})"
            ),
            Some(INSTALL_BUSYBOX.to_string()),
        ),
        Err(_) => Check::fail(
            "registry",
            format!(
                "offline and no static busybox: the lab images cannot be built (no registry: {reason})"
            ),
            INSTALL_BUSYBOX,
        ),
    }
}

/// `registry_ok`: whether a registry answered (`None`: unknown, the daemon is unreachable).
pub(super) fn busybox_check(
    busybox: &crate::util::error::Result<PathBuf>,
    registry_ok: Option<bool>,
) -> Check {
    match busybox {
        Ok(p) => Check::ok(
            "busybox",
            format!(
                "static busybox at {}: the lab images can be built offline",
                p.display()
            ),
        ),
        Err(_) => {
            let summary = match registry_ok {
                Some(true) => {
                    "no static busybox: fine while a registry answers, needed to build the lab \
                     images offline"
                }
                _ => "no static busybox: needed to build the lab images when no registry answers",
            };
            Check::warn("busybox", summary, Some(INSTALL_BUSYBOX.to_string()))
        }
    }
}

/// Stale lab images, each with whether it is missing (`true`) or out of date (`false`).
pub(super) async fn stale_images(docker: &Docker) -> Result<Vec<(&'static str, bool)>> {
    let mut out = Vec::new();
    for tag in images::stale(docker).await? {
        let missing = matches!(docker.inspect_image(tag).await, Err(e) if is_not_found(&e));
        out.push((tag, missing));
    }
    Ok(out)
}

pub(super) fn short(tag: &str) -> &str {
    tag.strip_suffix(":latest").unwrap_or(tag)
}

pub(super) fn images_check(stale: &Result<Vec<(&'static str, bool)>>) -> Check {
    let stale = match stale {
        Ok(s) => s,
        Err(e) => {
            return Check::warn(
                "images",
                format!(
                    "the lab images could not be checked: {}",
                    one_line(&e.to_string())
                ),
                Some("`docker image ls workbook/*` lists them".to_string()),
            )
        }
    };
    if stale.is_empty() {
        let all: Vec<&str> = images::ALL.iter().map(|t| short(t)).collect();
        return Check::ok(
            "images",
            format!("lab images present and up to date: {}", all.join(", ")),
        );
    }
    let missing: Vec<&str> = stale.iter().filter(|s| s.1).map(|s| short(s.0)).collect();
    let outdated: Vec<&str> = stale.iter().filter(|s| !s.1).map(|s| short(s.0)).collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing: {}", missing.join(", ")));
    }
    if !outdated.is_empty() {
        parts.push(format!("out of date: {}", outdated.join(", ")));
    }
    Check::fail(
        "images",
        format!("lab images {}", parts.join("; ")),
        "`workbook setup` builds them",
    )
}

/// Can lesson 12's `workbook/postgres` be had here: built already, or from a registry, or from
/// the host's PostgreSQL. Only the exercises that declare it need it: a warning at worst.
pub(super) async fn postgres_check(docker: &Docker, registry_ok: bool) -> Check {
    let fresh = images::stale_of(docker, &[images::POSTGRES_IMAGE]).await;
    let host = images::postgres::host_postgres();
    postgres_verdict(fresh.map(|s| s.is_empty()).ok(), registry_ok, &host)
}

fn postgres_verdict(
    fresh: Option<bool>,
    registry_ok: bool,
    host: &Result<images::postgres::HostPostgres>,
) -> Check {
    match (fresh, registry_ok, host) {
        (Some(true), _, _) => Check::ok(
            "postgres",
            "workbook/postgres (lesson 12) is built and up to date",
        ),
        (_, true, _) => Check::ok(
            "postgres",
            format!(
                "workbook/postgres (lesson 12) is not built yet: `workbook setup` pulls {}",
                images::postgres::PULL
            ),
        ),
        (_, false, Ok(pg)) => Check::ok(
            "postgres",
            format!(
                "workbook/postgres (lesson 12) is not built yet: `workbook setup` assembles it \
                 offline from {pg}"
            ),
        ),
        (_, false, Err(e)) => Check::warn(
            "postgres",
            "lesson 12 cannot run here: workbook/postgres cannot be made (no registry, and no \
             PostgreSQL on this machine)",
            Some(one_line(&e.to_string()).to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::CheckStatus;
    use crate::docker::images::TOOLS_IMAGE;

    #[test]
    fn registry_and_busybox_combine() {
        let bb: crate::util::error::Result<PathBuf> = Ok("/bin/busybox".into());
        let none: crate::util::error::Result<PathBuf> = Err("no busybox".into());
        let offline: Result<()> = Err("pulling busybox:1.36 took over 8 s".into());
        assert_eq!(
            registry_check(&Ok(()), &none, false).status,
            CheckStatus::Ok
        );
        let c = registry_check(&offline, &bb, false);
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c
            .summary
            .starts_with("offline: lab images are built from the host's static busybox"));
        assert_eq!(
            registry_check(&offline, &none, true).status,
            CheckStatus::Warn
        );
        let c = registry_check(&offline, &none, false);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c
            .fix
            .unwrap()
            .contains("sudo apt-get install busybox-static"));
        assert_eq!(busybox_check(&bb, Some(false)).status, CheckStatus::Ok);
        let c = busybox_check(&none, Some(true));
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c.summary.contains("fine while a registry answers"));
    }

    #[test]
    fn images_say_what_is_missing_and_how_to_build() {
        assert_eq!(images_check(&Ok(vec![])).status, CheckStatus::Ok);
        let c = images_check(&Ok(vec![(TOOLS_IMAGE, true), (images::API_IMAGE, false)]));
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(
            c.summary,
            "lab images missing: workbook/tools; out of date: workbook/ml-api"
        );
        assert!(c.fix.unwrap().contains("workbook setup"));
    }

    #[test]
    fn postgres_says_how_it_would_be_made() {
        let none: Result<images::postgres::HostPostgres> = Err("no PostgreSQL: install it".into());
        assert_eq!(
            postgres_verdict(Some(true), false, &none).status,
            CheckStatus::Ok
        );
        assert!(postgres_verdict(Some(false), true, &none)
            .summary
            .contains("pulls postgres:15"));
        let c = postgres_verdict(Some(false), false, &none);
        assert_eq!(c.status, CheckStatus::Warn);
        assert_eq!(c.fix.as_deref(), Some("no PostgreSQL: install it"));
    }
}
