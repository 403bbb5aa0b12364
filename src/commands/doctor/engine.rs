//! The endpoint check (which Docker daemon, chosen how, other sockets here) and the engine
//! check (whether it answers, and with what).

use crate::util::error::Result;
use std::path::PathBuf;

use bollard::models::{SystemInfo, SystemVersion};

use super::Check;
use crate::docker::endpoint::{self, Address, Endpoint, Env};

/// The oldest Engine API the workbook is tested with (Docker 20.10).
const MIN_API: (u32, u32) = (1, 41);

/// Sockets on this machine other than the endpoint's: (path, what it usually is).
pub(super) fn other_sockets(env: &Env, endpoint: &Endpoint) -> Vec<(PathBuf, &'static str)> {
    let chosen = match &endpoint.address {
        Address::Unix(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()),
        Address::Tcp(_) | Address::Ssh(_) => PathBuf::new(),
    };
    endpoint::socket_candidates(env)
        .into_iter()
        .map(|s| (s.path, s.what))
        .filter(|(p, _)| p.exists())
        .filter(|(p, _)| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()) != chosen)
        .collect()
}

/// The endpoint and how it was chosen; `None` when none can be used.
pub(super) fn endpoint_check(env: &Env) -> (Check, Option<Endpoint>) {
    match endpoint::resolve(env) {
        Ok(ep) => {
            let others = other_sockets(env, &ep);
            (endpoint_summary(env, &ep, &others), Some(ep))
        }
        Err(e) => (endpoint_error(env, &e.to_string()), None),
    }
}

fn endpoint_summary(env: &Env, ep: &Endpoint, others: &[(PathBuf, &str)]) -> Check {
    let how = if ep.source == "DOCKER_HOST" {
        "set by DOCKER_HOST".to_string()
    } else if ep.source.starts_with("docker context") {
        let from = if env.docker_context.is_some() {
            "DOCKER_CONTEXT".to_string()
        } else {
            "the current context in the docker CLI's config.json".to_string()
        };
        format!("from the {} ({from})", ep.source)
    } else {
        format!(
            "{}, as neither DOCKER_HOST nor a docker context is set",
            ep.source
        )
    };
    let mut summary = format!("Docker endpoint {}: {how}", ep.url());
    if !others.is_empty() {
        let list: Vec<String> = others
            .iter()
            .map(|(p, what)| format!("{} ({what})", p.display()))
            .collect();
        summary.push_str(&format!("; other sockets here: {}", list.join(", ")));
    }
    Check::ok("endpoint", summary)
}

/// A DOCKER_HOST or docker context workbook cannot use.
fn endpoint_error(env: &Env, error: &str) -> Check {
    let first = error.lines().next().unwrap_or(error);
    let summary = first
        .split(". Point ")
        .next()
        .and_then(|s| s.split(": run `").next())
        .unwrap_or(first)
        .trim_end_matches('.');
    let fix = if env.docker_host.is_some() {
        "`unset DOCKER_HOST` to use the default socket, or point it at a socket or tcp:// address: \
         `export DOCKER_HOST=unix:///var/run/docker.sock`"
    } else if env.docker_context.is_some() {
        "`unset DOCKER_CONTEXT` (or `docker context ls` to pick one that exists)"
    } else {
        "`docker context use default` (or `docker context ls` to pick another)"
    };
    Check::fail("endpoint", summary, fix)
}

fn start_docker(ep: &Endpoint) -> String {
    if ep.source.contains("rootless") {
        "start Docker: `systemctl --user start docker`".to_string()
    } else if ep.source.contains("Desktop") {
        "start Docker Desktop (open the app), then run `workbook doctor` again".to_string()
    } else {
        "start Docker: `sudo systemctl start docker` (or open Docker Desktop)".to_string()
    }
}

/// Why the daemon did not answer, and what fixes it. `error` is [`engine::connect`]'s message.
pub(super) fn unreachable_check(ep: &Endpoint, error: &str, others: &[(PathBuf, &str)]) -> Check {
    let at = format!("cannot reach the Docker daemon at {ep}");
    let alternative = others
        .first()
        .map(|(p, what)| format!("`export DOCKER_HOST=unix://{}` ({what})", p.display()));
    let (why, fix) = match &ep.address {
        Address::Unix(path) if !path.exists() => {
            let why = format!("the socket {} does not exist", path.display());
            let fix = match (ep.source.as_str(), alternative) {
                ("DOCKER_HOST", Some(alt)) => {
                    format!("{alt}, or `unset DOCKER_HOST` to use the default socket")
                }
                ("DOCKER_HOST", None) => format!(
                    "`unset DOCKER_HOST` (it points at no socket), then {}",
                    start_docker(ep)
                ),
                (s, _) if s.starts_with("docker context") => {
                    format!("{}, or `docker context use default`", start_docker(ep))
                }
                _ => start_docker(ep),
            };
            (why, fix)
        }
        Address::Unix(path) if error.contains("ermission denied") => (
            format!("permission denied on the socket {}", path.display()),
            "let your user use Docker: `sudo usermod -aG docker $USER`, then log out and back in \
             (or `newgrp docker`)"
                .to_string(),
        ),
        Address::Unix(path) if error.contains("onnection refused") => (
            format!("nothing answers on the socket {}", path.display()),
            start_docker(ep),
        ),
        _ if error.contains("did not answer within") => (
            "it accepted the connection but did not answer".to_string(),
            "restart Docker: `sudo systemctl restart docker` (or restart Docker Desktop); \
             `docker info` shows when it answers again"
                .to_string(),
        ),
        // TLS and ssh: the connection's own message says the cause and the fix.
        _ if ep.tls.is_some()
            || matches!(ep.address, Address::Ssh(_))
            || error.contains("wants TLS") =>
        {
            let mut lines = error.lines();
            let why = first_reason(lines.next().unwrap_or(error));
            let fix = lines.collect::<Vec<_>>().join(" ");
            let fix = if fix.is_empty() {
                "check that `docker info` works with the same settings".to_string()
            } else {
                fix
            };
            (why, fix)
        }
        Address::Tcp(host) => (
            first_reason(error),
            format!(
                "check that a daemon listens on tcp://{host}, or `unset DOCKER_HOST` to use this \
                 machine's Docker"
            ),
        ),
        Address::Unix(_) => (first_reason(error), start_docker(ep)),
        Address::Ssh(_) => (
            first_reason(error),
            "check that `docker info` works with the same DOCKER_HOST".to_string(),
        ),
    };
    Check::fail("engine", format!("{at}: {why}"), fix)
}

/// The cause in [`engine::connect`]'s message, without its "cannot reach ..." prefix and fix.
fn first_reason(error: &str) -> String {
    let first = error.lines().next().unwrap_or(error);
    let reason = match first.find(": ") {
        Some(i) if first.starts_with("cannot reach") => &first[i + 2..],
        _ => first,
    };
    reason.trim_end_matches('.').to_string()
}

/// "1.41" → (1, 41).
fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

pub(super) fn engine_check(version: &Result<SystemVersion>, info: &Result<SystemInfo>) -> Check {
    let v = match version {
        Ok(v) => v,
        Err(e) => {
            return Check::warn(
                "engine",
                format!("the Docker daemon answers, but its version could not be read: {e}"),
                Some("`docker version` shows whether the daemon is healthy".to_string()),
            )
        }
    };
    let unknown = || "?".to_string();
    let mut parts = vec![format!(
        "API {}",
        v.api_version.clone().unwrap_or_else(unknown)
    )];
    parts.push(format!(
        "{}/{}",
        v.os.clone().unwrap_or_else(unknown),
        v.arch.clone().unwrap_or_else(unknown)
    ));
    if let Ok(info) = info {
        if let Some(os) = info.operating_system.as_deref().filter(|s| !s.is_empty()) {
            parts.push(os.to_string());
        }
        if let Some(driver) = info.driver.as_deref() {
            parts.push(format!("storage driver {driver}"));
        }
        let rootless = info
            .security_options
            .iter()
            .flatten()
            .any(|o| o.contains("name=rootless"));
        if rootless {
            parts.push("rootless".to_string());
        }
    }
    let facts = crate::checks::snapshot::EngineFacts::from_version(v);
    if facts.podman {
        parts.push(
            "its Docker-compatible API: volumes are read by a started helper, and a step that \
             needs a size on a local volume is shown as not available there"
                .to_string(),
        );
    }
    let summary = format!("{} answers: {}", facts.name, parts.join(", "));
    match v.api_version.as_deref().and_then(parse_api) {
        Some(api) if api < MIN_API => Check::warn(
            "engine",
            format!(
                "{summary}; the workbook is tested on Docker 20.10 (API {}.{}) and newer",
                MIN_API.0, MIN_API.1
            ),
            Some("upgrade Docker: https://docs.docker.com/engine/install/".to_string()),
        ),
        _ => Check::ok("engine", summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::tests::ep;
    use crate::commands::doctor::CheckStatus;

    #[test]
    fn a_missing_socket_names_the_path_and_a_fix() {
        let e = ep(
            Address::Unix("/nonexistent/docker.sock".into()),
            "DOCKER_HOST",
        );
        let msg = "cannot reach the Docker daemon at unix:///nonexistent/docker.sock (from DOCKER_HOST): error trying to connect: No such file or directory.\nis Docker running?";
        let c = unreachable_check(&e, msg, &[]);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.starts_with("cannot reach the Docker daemon at"));
        assert!(c
            .summary
            .contains("the socket /nonexistent/docker.sock does not exist"));
        assert!(c.fix.as_deref().unwrap().contains("unset DOCKER_HOST"));
        let other = [(
            PathBuf::from("/run/user/1000/docker.sock"),
            "rootless Docker",
        )];
        let c = unreachable_check(&e, msg, &other);
        assert!(c
            .fix
            .unwrap()
            .starts_with("`export DOCKER_HOST=unix:///run/user/1000/docker.sock`"));
    }

    #[test]
    fn unreachable_fixes_follow_the_cause() {
        // An existing path stands in for a socket.
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        std::fs::write(&sock, "").unwrap();
        let e = ep(Address::Unix(sock.clone()), "the default socket");
        let denied = unreachable_check(
            &e,
            "cannot reach ...: Permission denied (os error 13).",
            &[],
        );
        assert!(denied
            .fix
            .unwrap()
            .contains("sudo usermod -aG docker $USER"));
        let refused = unreachable_check(&e, "cannot reach ...: Connection refused", &[]);
        assert!(refused.fix.unwrap().contains("sudo systemctl start docker"));
        let rootless = ep(Address::Unix(sock), "the rootless Docker socket");
        let refused = unreachable_check(&rootless, "Connection refused", &[]);
        assert!(refused
            .fix
            .unwrap()
            .contains("systemctl --user start docker"));
        let slow = unreachable_check(
            &e,
            "the Docker daemon at x did not answer within 60 s.",
            &[],
        );
        assert!(slow.fix.unwrap().contains("restart"));
        let tcp = ep(Address::Tcp("10.0.0.5:2375".into()), "DOCKER_HOST");
        let c = unreachable_check(
            &tcp,
            "cannot reach the Docker daemon at tcp://10.0.0.5:2375 (from DOCKER_HOST): connection timed out.\ncheck",
            &[],
        );
        assert!(
            c.summary.ends_with(": connection timed out"),
            "{}",
            c.summary
        );
        assert!(c.fix.unwrap().contains("tcp://10.0.0.5:2375"));
    }

    #[test]
    fn endpoint_says_how_it_was_chosen() {
        let env = Env::default();
        let c = endpoint_summary(
            &env,
            &ep(
                Address::Unix("/var/run/docker.sock".into()),
                "the default socket",
            ),
            &[(
                PathBuf::from("/run/user/1000/docker.sock"),
                "rootless Docker",
            )],
        );
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(c.summary.contains("unix:///var/run/docker.sock"));
        assert!(c
            .summary
            .contains("neither DOCKER_HOST nor a docker context"));
        assert!(c
            .summary
            .contains("/run/user/1000/docker.sock (rootless Docker)"));
        let c = endpoint_summary(&env, &ep(Address::Tcp("h:2375".into()), "DOCKER_HOST"), &[]);
        assert_eq!(
            c.summary,
            "Docker endpoint tcp://h:2375: set by DOCKER_HOST"
        );
        let bad = Env {
            docker_host: Some("ssh://me@box:port".into()),
            ..Env::default()
        };
        let (c, endpoint) = endpoint_check(&bad);
        assert!(endpoint.is_none());
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("ssh://me@box:port"));
        assert!(!c.summary.contains("Point"));
        assert!(c.fix.unwrap().contains("unset DOCKER_HOST"));
        let gone = Env {
            docker_context: Some("gone".into()),
            docker_config: Some("/nonexistent".into()),
            ..Env::default()
        };
        let (c, endpoint) = endpoint_check(&gone);
        assert!(endpoint.is_none());
        assert!(c.summary.contains("`gone`"), "{}", c.summary);
        assert!(c.fix.unwrap().contains("unset DOCKER_CONTEXT"));
    }

    #[test]
    fn api_versions_parse() {
        assert_eq!(parse_api("1.41"), Some((1, 41)));
        assert_eq!(parse_api("1.9"), Some((1, 9)));
        assert!(parse_api("1.9") < Some(MIN_API));
        assert_eq!(parse_api("x"), None);
    }
}
