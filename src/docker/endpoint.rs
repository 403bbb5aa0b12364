//! Which Docker daemon to talk to, chosen the way the docker CLI chooses:
//! `DOCKER_HOST`, else the current docker context (`DOCKER_CONTEXT` or `currentContext` in
//! `~/.docker/config.json`), else the platform's default socket (rootful, rootless, Desktop).

use crate::util::error::Result;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    /// `tcp://host:port`: plain HTTP, or HTTPS when the endpoint has [`Tls`].
    Tcp(String),
    /// `ssh://[user@]host[:port][/socket]`: HTTP over `ssh … docker system dial-stdio`.
    Ssh(Ssh),
}

/// An ssh endpoint, as the docker CLI's ssh connection helper reads `ssh://` URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssh {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The daemon's socket on the remote host (`ssh://host/run/docker.sock`); else its default.
    pub socket: Option<String>,
}

impl Ssh {
    /// The arguments of `ssh` that give a connection to the daemon, the docker CLI's own
    /// (`connhelper`): no tty, a connect timeout, and `docker system dial-stdio` on the far side;
    /// `BatchMode` so that a password or passphrase prompt fails at once instead of waiting on
    /// the terminal of a grading.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-T"]
            .map(String::from)
            .to_vec();
        if let Some(user) = &self.user {
            a.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(port) = self.port {
            a.extend(["-p".to_string(), port.to_string()]);
        }
        a.extend(["--".to_string(), self.host.clone(), "docker".to_string()]);
        if let Some(socket) = &self.socket {
            a.push(format!("--host=unix://{socket}"));
        }
        a.extend(["system".to_string(), "dial-stdio".to_string()]);
        a
    }
}

impl std::fmt::Display for Ssh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ssh://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if let Some(s) = &self.socket {
            f.write_str(s)?;
        }
        Ok(())
    }
}

/// The TLS of a `tcp://` endpoint: the files found (a missing client certificate or key is left
/// out, as the docker CLI does), and whether the daemon's certificate is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The folder the files were looked for in.
    pub dir: PathBuf,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Verify the daemon's certificate (DOCKER_TLS_VERIFY; a context without SkipTLSVerify).
    pub verify: bool,
    /// Where the settings came from, for people: "DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", ...
    pub from: String,
}

impl Tls {
    /// The files of `dir` (`ca.pem`, `cert.pem`, `key.pem`) that exist.
    fn in_dir(dir: &Path, verify: bool, from: String) -> Tls {
        let file = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
        Tls {
            dir: dir.to_path_buf(),
            ca: file("ca.pem"),
            cert: file("cert.pem"),
            key: file("key.pem"),
            verify,
            from,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: Address,
    /// How it was chosen, for people: "DOCKER_HOST", "docker context `desktop-linux`", ...
    pub source: String,
    /// TLS, for a `tcp://` address only.
    pub tls: Option<Tls>,
}

impl Endpoint {
    /// Reached over the network (`tcp://`, `ssh://`): the engine may run on another machine.
    pub fn is_remote(&self) -> bool {
        matches!(self.address, Address::Tcp(_) | Address::Ssh(_))
    }

    /// The address as DOCKER_HOST would say it: `unix:///…`, `tcp://…`, `ssh://…`.
    pub fn url(&self) -> String {
        match &self.address {
            Address::Unix(p) => format!("unix://{}", p.display()),
            Address::Tcp(h) => format!("tcp://{h}"),
            Address::Ssh(s) => s.to_string(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tls = match &self.tls {
            Some(t) if t.verify => ", TLS",
            Some(_) => ", TLS without verification",
            None => "",
        };
        write!(f, "{} (from {}{tls})", self.url(), self.source)
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
    /// DOCKER_TLS_VERIFY: any value but empty turns verification on, as in the docker CLI.
    pub docker_tls_verify: Option<String>,
    /// DOCKER_TLS: TLS without verification.
    pub docker_tls: Option<String>,
    pub docker_cert_path: Option<PathBuf>,
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
            docker_tls_verify: var("DOCKER_TLS_VERIFY"),
            docker_tls: var("DOCKER_TLS"),
            docker_cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
        }
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }

    /// The TLS that DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH ask for, if any.
    fn env_tls(&self) -> Option<Tls> {
        let verify = self.docker_tls_verify.is_some();
        if !verify && self.docker_tls.is_none() {
            return None;
        }
        let (dir, from_dir) = match &self.docker_cert_path {
            Some(d) => (d.clone(), "DOCKER_CERT_PATH".to_string()),
            None => {
                let d = self
                    .config_dir()
                    .unwrap_or_else(|| PathBuf::from(".docker"));
                let shown = format!("{} (DOCKER_CERT_PATH unset)", d.display());
                (d, shown)
            }
        };
        let set = if verify {
            "DOCKER_TLS_VERIFY"
        } else {
            "DOCKER_TLS"
        };
        Some(Tls::in_dir(&dir, verify, format!("{set} and {from_dir}")))
    }
}

pub fn resolve(env: &Env) -> Result<Endpoint> {
    if let Some(host) = &env.docker_host {
        return parse_host(host, "DOCKER_HOST", env.env_tls());
    }
    if let Some(ctx) = context(env)? {
        return parse_host(
            &ctx.host,
            &format!("docker context `{}`", ctx.name),
            ctx.tls,
        );
    }
    Ok(default_socket(env))
}

/// `host` as an endpoint; `tls` applies to a `tcp://` address only (as in the docker CLI).
fn parse_host(host: &str, source: &str, tls: Option<Tls>) -> Result<Endpoint> {
    let address = if let Some(path) = host.strip_prefix("unix://") {
        Address::Unix(PathBuf::from(path))
    } else if let Some(addr) = host.strip_prefix("tcp://") {
        let addr = addr.trim_end_matches('/');
        if addr.is_empty() {
            return Err(format!(
                "{source} is `{host}`, which names no host: write it as tcp://HOST:PORT, e.g. \
                 `export DOCKER_HOST=tcp://127.0.0.1:2376`"
            )
            .into());
        }
        // The docker CLI's default ports: 2376 with TLS, 2375 without.
        let has_port = match addr.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                h.ends_with(']') || !h.contains(':')
            }
            _ => false,
        };
        let addr = if has_port {
            addr.to_string()
        } else if tls.is_some() {
            format!("{addr}:2376")
        } else {
            format!("{addr}:2375")
        };
        Address::Tcp(addr)
    } else if let Some(rest) = host.strip_prefix("ssh://") {
        Address::Ssh(parse_ssh(rest, host, source)?)
    } else if host.starts_with('/') {
        Address::Unix(PathBuf::from(host))
    } else {
        return Err(format!(
            "{source} is `{host}`, which workbook cannot use: it speaks to unix:// sockets, tcp:// \
             (HTTP, or HTTPS with DOCKER_TLS_VERIFY) and ssh://. Point {source} at one of those, \
             e.g. `export DOCKER_HOST=unix:///var/run/docker.sock`"
        )
        .into());
    };
    let tls = match address {
        Address::Tcp(_) => tls,
        _ => None,
    };
    Ok(Endpoint {
        address,
        source: source.to_string(),
        tls,
    })
}

/// `[user@]host[:port][/socket]` (after `ssh://`).
fn parse_ssh(rest: &str, host: &str, source: &str) -> Result<Ssh> {
    let bad = |why: &str| -> crate::util::error::Error {
        format!(
            "{source} is `{host}`, which is not an ssh endpoint workbook can use: {why}. Write it \
             as ssh://USER@HOST[:PORT], e.g. `export DOCKER_HOST=ssh://me@build-box`"
        )
        .into()
    };
    if rest.contains('?') || rest.contains('#') {
        return Err(bad("it has a query or fragment"));
    }
    let (authority, socket) = match rest.find('/') {
        Some(i) if i + 1 < rest.len() => (&rest[..i], Some(rest[i..].to_string())),
        Some(i) => (&rest[..i], None),
        None => (rest, None),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, authority),
    };
    if user.as_deref().is_some_and(|u| u.contains(':')) {
        return Err(bad(
            "a password in the URL is not supported (use an ssh key)",
        ));
    }
    let port_of = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| bad("its port is not a number"))
    };
    let (name, port) = if let Some(inner) = hostport.strip_prefix('[') {
        // [v6]:port
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("an unclosed `[`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(port_of(p)?),
            None if after.is_empty() => None,
            None => return Err(bad("text after `]`")),
        };
        (h.to_string(), port)
    } else if hostport.matches(':').count() > 1 {
        (hostport.to_string(), None)
    } else if let Some((h, p)) = hostport.split_once(':') {
        (h.to_string(), Some(port_of(p)?))
    } else {
        (hostport.to_string(), None)
    };
    if name.is_empty() || name.starts_with('-') {
        return Err(bad("it names no host"));
    }
    Ok(Ssh {
        user,
        host: name,
        port,
        socket,
    })
}

/// A docker context's endpoint: its name, host and TLS.
struct Context {
    name: String,
    host: String,
    tls: Option<Tls>,
}

/// The docker context in use, if it is not `default`.
fn context(env: &Env) -> Result<Option<Context>> {
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
    // Context folders are named by the SHA-256 of the name, both the metadata and the TLS
    // material; the name is also inside meta.json.
    let contexts = dir.join("contexts");
    let meta_root = contexts.join("meta");
    let digest = context_digest(&name);
    let mut folders = vec![meta_root.join(&digest)];
    folders.extend(
        std::fs::read_dir(&meta_root)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path()),
    );
    for folder in folders {
        let Ok(text) = std::fs::read_to_string(folder.join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if meta.get("Name").and_then(|n| n.as_str()) != Some(name.as_str()) {
            continue;
        }
        let Some(host) = meta
            .pointer("/Endpoints/docker/Host")
            .and_then(|h| h.as_str())
        else {
            continue;
        };
        let skip_verify = meta
            .pointer("/Endpoints/docker/SkipTLSVerify")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let digest_dir = folder
            .file_name()
            .map(|f| f.to_os_string())
            .unwrap_or_else(|| digest.clone().into());
        let tls_dir = contexts.join("tls").join(digest_dir).join("docker");
        let tls = Tls::in_dir(
            &tls_dir,
            !skip_verify,
            format!("the TLS material of docker context `{name}`"),
        );
        // As the docker CLI: TLS when the context holds TLS material or skips verification.
        let uses_tls = skip_verify || tls.ca.is_some() || tls.cert.is_some() || tls.key.is_some();
        return Ok(Some(Context {
            name,
            host: host.to_string(),
            tls: uses_tls.then_some(tls),
        }));
    }
    Err(format!(
        "the docker context `{name}` is selected but was not found under {}: \
         run `docker context use default` or `docker context ls`",
        meta_root.display()
    )
    .into())
}

/// The folder name of a docker context: the hex SHA-256 of its name.
pub fn context_digest(name: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
        tls: None,
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
            docker_host: Some("ssh://me@box:2222/run/docker.sock".into()),
            ..Env::default()
        };
        let ep = resolve(&env).unwrap();
        let Address::Ssh(ssh) = &ep.address else {
            panic!("{ep:?}")
        };
        assert_eq!(ssh.to_string(), "ssh://me@box:2222/run/docker.sock");
        assert_eq!(
            ssh.args().join(" "),
            "-o BatchMode=yes -o ConnectTimeout=30 -T -l me -p 2222 -- box docker \
             --host=unix:///run/docker.sock system dial-stdio"
        );
        for bad in ["ssh://", "ssh://me:pw@box", "ssh://box:port", "ftp://box"] {
            let env = Env {
                docker_host: Some(bad.into()),
                ..Env::default()
            };
            let e = resolve(&env).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn tls_from_the_environment_applies_to_tcp_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let env = Env {
            docker_host: Some("tcp://127.0.0.1".into()),
            docker_tls_verify: Some("1".into()),
            docker_cert_path: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        let ep = resolve(&env).unwrap();
        // The docker CLI's TLS port when none is given.
        assert_eq!(ep.address, Address::Tcp("127.0.0.1:2376".into()));
        let tls = ep.tls.clone().unwrap();
        assert!(tls.verify);
        assert_eq!(tls.ca, Some(dir.path().join("ca.pem")));
        assert_eq!(tls.key, Some(dir.path().join("key.pem")));
        assert!(ep.to_string().ends_with("(from DOCKER_HOST, TLS)"), "{ep}");
        // A missing client certificate is left out, as the docker CLI does.
        std::fs::remove_file(dir.path().join("cert.pem")).unwrap();
        assert_eq!(resolve(&env).unwrap().tls.unwrap().cert, None);
        // Without TLS, the plain port; on a socket, no TLS.
        let plain = Env {
            docker_tls_verify: None,
            ..env.clone()
        };
        let ep = resolve(&plain).unwrap();
        assert_eq!(
            (ep.address, ep.tls),
            (Address::Tcp("127.0.0.1:2375".into()), None)
        );
        let unix = Env {
            docker_host: Some("unix:///x.sock".into()),
            ..env
        };
        assert_eq!(resolve(&unix).unwrap().tls, None);
    }

    #[test]
    fn a_contexts_tls_material_is_found_by_the_digest_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let digest = context_digest("remote");
        // sha256("remote"), as `docker context create remote` names its folders.
        assert_eq!(
            digest,
            "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"
        );
        let meta = dir.path().join("contexts/meta").join(&digest);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2376","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        let env = Env {
            docker_config: Some(dir.path().to_path_buf()),
            docker_context: Some("remote".into()),
            // Ignored under a context, as in the docker CLI.
            docker_tls_verify: Some("1".into()),
            docker_cert_path: Some("/nonexistent".into()),
            ..Env::default()
        };
        // No TLS material, no SkipTLSVerify: plain HTTP.
        assert_eq!(resolve(&env).unwrap().tls, None);
        let tls_dir = dir.path().join("contexts/tls").join(&digest).join("docker");
        std::fs::create_dir_all(&tls_dir).unwrap();
        std::fs::write(tls_dir.join("ca.pem"), "x").unwrap();
        let ep = resolve(&env).unwrap();
        let tls = ep.tls.unwrap();
        assert_eq!(tls.ca, Some(tls_dir.join("ca.pem")));
        assert_eq!((tls.cert, tls.verify), (None, true));
        assert!(tls.from.contains("`remote`"));
        // SkipTLSVerify: TLS, nothing verified.
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2376","SkipTLSVerify":true}}}"#,
        )
        .unwrap();
        std::fs::remove_file(tls_dir.join("ca.pem")).unwrap();
        let tls = resolve(&env).unwrap().tls.unwrap();
        assert!(!tls.verify);
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
