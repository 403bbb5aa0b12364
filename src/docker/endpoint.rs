//! Which Docker daemon to talk to, chosen the way the docker CLI chooses:
//! `DOCKER_HOST`, else the current docker context (`DOCKER_CONTEXT` or `currentContext` in
//! `~/.docker/config.json`), else the platform's default socket (rootful, rootless, Desktop).

use crate::util::error::Result;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    /// `tcp://host:port`, spoken as plain HTTP.
    Tcp(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: Address,
    /// How it was chosen, for people: "DOCKER_HOST", "docker context `desktop-linux`", ...
    pub source: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.address {
            Address::Unix(p) => write!(f, "unix://{} (from {})", p.display(), self.source),
            Address::Tcp(h) => write!(f, "tcp://{h} (from {})", self.source),
        }
    }
}

/// What the resolution reads from the environment; a struct so tests can give their own.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub docker_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
        }
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }
}

pub fn resolve(env: &Env) -> Result<Endpoint> {
    if let Some(host) = &env.docker_host {
        return parse_host(host, "DOCKER_HOST");
    }
    if let Some((name, host)) = context_host(env)? {
        return parse_host(&host, &format!("docker context `{name}`"));
    }
    Ok(default_socket(env))
}

fn parse_host(host: &str, source: &str) -> Result<Endpoint> {
    let address = if let Some(path) = host.strip_prefix("unix://") {
        Address::Unix(PathBuf::from(path))
    } else if let Some(addr) = host.strip_prefix("tcp://") {
        Address::Tcp(addr.trim_end_matches('/').to_string())
    } else if host.starts_with('/') {
        Address::Unix(PathBuf::from(host))
    } else {
        return Err(format!(
            "{source} is `{host}`, which workbook cannot use: it speaks to unix:// sockets and tcp:// \
             (plain HTTP). Point {source} at one of those, e.g. `export DOCKER_HOST=unix:///var/run/docker.sock`"
        ).into());
    };
    Ok(Endpoint {
        address,
        source: source.to_string(),
    })
}

/// The docker context in use, if it is not `default`: its name and endpoint host.
fn context_host(env: &Env) -> Result<Option<(String, String)>> {
    let Some(dir) = env.config_dir() else {
        return Ok(None);
    };
    let name = match &env.docker_context {
        Some(n) => n.clone(),
        None => match std::fs::read_to_string(dir.join("config.json")) {
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => match v.get("currentContext").and_then(|c| c.as_str()) {
                    Some(n) if !n.is_empty() => n.to_string(),
                    _ => return Ok(None),
                },
                Err(_) => return Ok(None),
            },
            Err(_) => return Ok(None),
        },
    };
    if name == "default" {
        return Ok(None);
    }
    // Context folders are named by a digest of the name; the name is also inside meta.json.
    let meta_root = dir.join("contexts").join("meta");
    let entries = std::fs::read_dir(&meta_root)
        .into_iter()
        .flatten()
        .flatten();
    for entry in entries {
        let Ok(text) = std::fs::read_to_string(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if meta.get("Name").and_then(|n| n.as_str()) == Some(name.as_str()) {
            if let Some(host) = meta
                .pointer("/Endpoints/docker/Host")
                .and_then(|h| h.as_str())
            {
                return Ok(Some((name, host.to_string())));
            }
        }
    }
    Err(format!(
        "the docker context `{name}` is selected but was not found under {}: \
         run `docker context use default` or `docker context ls`",
        meta_root.display()
    )
    .into())
}

/// A socket the default resolution looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub path: PathBuf,
    /// How an endpoint found there is described ([`Endpoint::source`]).
    pub source: &'static str,
    /// What it usually is, for people: "rootful Docker", "rootless Docker", "Docker Desktop".
    pub what: &'static str,
}

/// The sockets the default resolution looks at, in its order: rootful, rootless, Docker
/// Desktop (two places). The first that exists is the default endpoint.
pub fn socket_candidates(env: &Env) -> Vec<Socket> {
    let socket = |path: PathBuf, source, what| Socket { path, source, what };
    let mut c = vec![socket(
        PathBuf::from(ROOTFUL_SOCKET),
        "the default socket",
        "rootful Docker",
    )];
    if let Some(run) = &env.xdg_runtime_dir {
        c.push(socket(
            run.join("docker.sock"),
            "the rootless Docker socket",
            "rootless Docker",
        ));
    }
    if let Some(home) = &env.home {
        for at in [".docker/run/docker.sock", ".docker/desktop/docker.sock"] {
            c.push(socket(
                home.join(at),
                "the Docker Desktop socket",
                "Docker Desktop",
            ));
        }
    }
    c
}

const ROOTFUL_SOCKET: &str = "/var/run/docker.sock";

fn default_socket(env: &Env) -> Endpoint {
    let (path, source) = socket_candidates(env)
        .into_iter()
        .find(|s| s.path.exists())
        .map(|s| (s.path, s.source))
        .unwrap_or((PathBuf::from(ROOTFUL_SOCKET), "the default socket"));
    Endpoint {
        address: Address::Unix(path),
        source: source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_wins() {
        let env = Env {
            docker_host: Some("tcp://127.0.0.1:2375".into()),
            ..Env::default()
        };
        let ep = resolve(&env).unwrap();
        assert_eq!(ep.address, Address::Tcp("127.0.0.1:2375".into()));
        assert_eq!(ep.source, "DOCKER_HOST");
        let env = Env {
            docker_host: Some("ssh://me@box".into()),
            ..Env::default()
        };
        assert!(resolve(&env)
            .unwrap_err()
            .to_string()
            .contains("ssh://me@box"));
    }

    #[test]
    fn reads_the_current_context() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"desk"}"#,
        )
        .unwrap();
        let meta = dir.path().join("contexts/meta/abc123");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"desk","Endpoints":{"docker":{"Host":"unix:///tmp/desk.sock"}}}"#,
        )
        .unwrap();
        let env = Env {
            docker_config: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        let ep = resolve(&env).unwrap();
        assert_eq!(ep.address, Address::Unix("/tmp/desk.sock".into()));
        assert_eq!(ep.source, "docker context `desk`");

        let env = Env {
            docker_context: Some("gone".into()),
            ..env
        };
        assert!(resolve(&env)
            .unwrap_err()
            .to_string()
            .contains("docker context use default"));
    }

    #[test]
    fn falls_back_to_the_default_socket() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env {
            home: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        let ep = resolve(&env).unwrap();
        assert!(matches!(ep.address, Address::Unix(_)));
    }

    #[test]
    fn socket_candidates_in_resolution_order() {
        let env = Env {
            home: Some("/home/me".into()),
            xdg_runtime_dir: Some("/run/user/1000".into()),
            ..Env::default()
        };
        let c: Vec<(String, &str, &str)> = socket_candidates(&env)
            .into_iter()
            .map(|s| (s.path.display().to_string(), s.source, s.what))
            .collect();
        assert_eq!(
            c,
            [
                (
                    "/var/run/docker.sock".to_string(),
                    "the default socket",
                    "rootful Docker"
                ),
                (
                    "/run/user/1000/docker.sock".to_string(),
                    "the rootless Docker socket",
                    "rootless Docker"
                ),
                (
                    "/home/me/.docker/run/docker.sock".to_string(),
                    "the Docker Desktop socket",
                    "Docker Desktop"
                ),
                (
                    "/home/me/.docker/desktop/docker.sock".to_string(),
                    "the Docker Desktop socket",
                    "Docker Desktop"
                ),
            ]
        );
    }
}
