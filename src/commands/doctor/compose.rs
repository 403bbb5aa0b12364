//! The compose check: `docker compose` (v2), else `docker-compose` (v1).

use std::time::Duration;

use super::Check;

/// How long `docker compose version` / `docker-compose version` may take.
const COMPOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What running one Compose command showed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    /// Its first line of output.
    Found(String),
    /// The program is not installed.
    NotInstalled,
    /// It ran and failed, or hung: the first line it printed.
    Failed(String),
}

async fn run_version(program: &str, args: &[&str]) -> Probe {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(COMPOSE_TIMEOUT, cmd.output()).await {
        Err(_) => Probe::Failed(format!("no answer within {} s", COMPOSE_TIMEOUT.as_secs())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Probe::NotInstalled,
        Ok(Err(e)) => Probe::Failed(e.to_string()),
        Ok(Ok(o)) => {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let first = |s: &str| {
                s.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .to_string()
            };
            if o.status.success() && !first(&stdout).is_empty() {
                Probe::Found(first(&stdout))
            } else {
                let said = first(&stderr);
                Probe::Failed(if said.is_empty() {
                    format!("exit status {}", o.status)
                } else {
                    said
                })
            }
        }
    }
}

pub(super) async fn compose_check() -> Check {
    let (plugin, v1) = tokio::join!(
        run_version("docker", &["compose", "version"]),
        run_version("docker-compose", &["version"]),
    );
    compose_verdict(&plugin, &v1)
}

fn compose_verdict(plugin: &Probe, v1: &Probe) -> Check {
    match (plugin, v1) {
        (Probe::Found(v), _) => Check::ok("compose", format!("`docker compose` works: {v}")),
        (_, Probe::Found(v)) => Check::ok(
            "compose",
            format!(
                "`docker-compose` works: {v} (v1; the exercises accept it, `docker compose` v2 is \
                 the current one)"
            ),
        ),
        (Probe::NotInstalled, _) => Check::fail(
            "compose",
            "the docker CLI is not installed, and no `docker-compose` either: the exercises use both",
            "install Docker with its CLI and Compose plugin: https://docs.docker.com/engine/install/ \
             (Debian/Ubuntu: `sudo apt-get install docker-ce-cli docker-compose-plugin`)",
        ),
        (Probe::Failed(why), _) => Check::fail(
            "compose",
            format!(
                "Docker Compose is not available: `docker compose version` said \"{why}\", and \
                 `docker-compose` is not installed"
            ),
            "`sudo apt-get install docker-compose-plugin` (from Docker's apt repository; Debian's \
             own package is `docker-compose`), or Docker Desktop, which includes it",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::CheckStatus;

    #[test]
    fn compose_prefers_the_plugin_and_explains_absence() {
        let v2 = Probe::Found("Docker Compose version v2.27.0".into());
        let v1 = Probe::Found("docker-compose version 1.29.2, build unknown".into());
        let unknown = Probe::Failed("docker: unknown command: docker compose".into());
        assert!(compose_verdict(&v2, &Probe::NotInstalled)
            .summary
            .contains("v2.27.0"));
        let c = compose_verdict(&unknown, &v1);
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(c.summary.contains("1.29.2"));
        let c = compose_verdict(&unknown, &Probe::NotInstalled);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("unknown command"));
        assert!(c.fix.unwrap().contains("docker-compose-plugin"));
        let c = compose_verdict(&Probe::NotInstalled, &Probe::NotInstalled);
        assert!(c.summary.contains("docker CLI is not installed"));
    }
}
