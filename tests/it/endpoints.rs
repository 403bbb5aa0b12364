//! Endpoints beyond the local socket, on loopback: a TLS proxy (socat, certificates made here with
//! the openssl CLI) in front of the daemon's socket, graded through DOCKER_TLS_VERIFY +
//! DOCKER_CERT_PATH and through a docker context holding the TLS material; the plain message
//! when TLS is not set; a certificate error for a wrong CA. The tools come from .ci/run; without
//! them the tests say they did not run, but under CI they fail.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, doctor_check as check, workbook};

/// `tool` on PATH, else `None` (a printed reason) or, under CI, a failure.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide {tool} (see .ci/run)"
        );
        eprintln!("not run: {tool} is not installed");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `script` with sh in `dir`, which must succeed.
fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .args(["-ec", script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`; and a second
/// CA (`other-ca.pem`) that signed neither.
fn make_certs(dir: &Path) {
    sh(
        dir,
        r#"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other-ca-key.pem -out other-ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server-key.pem -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext -out server-cert.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout key.pem -out client.csr 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' > client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile client.ext -out cert.pem 2>/dev/null
        mkdir client wrong
        cp ca.pem cert.pem key.pem client/
        cp other-ca.pem wrong/ca.pem; cp cert.pem key.pem wrong/
        "#,
    );
}

/// Kills the child when dropped.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// socat's TLS listener on `port`, verifying client certificates, in front of the daemon.
fn tls_proxy(dir: &Path, port: u16) -> Proxy {
    socat_proxy(
        format!(
            "openssl-listen:{port},bind=127.0.0.1,reuseaddr,fork,cert={d}/server-cert.pem,key={d}/server-key.pem,cafile={d}/ca.pem,verify=1",
            d = dir.display()
        ),
        port,
    )
}

/// socat listening as `listen` on 127.0.0.1:`port`, forwarding to the daemon's socket; returns
/// once the port answers.
fn socat_proxy(listen: String, port: u16) -> Proxy {
    let child = Command::new("socat")
        .arg(listen)
        .arg("UNIX-CONNECT:/var/run/docker.sock")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "socat never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Proxy(child)
}

fn doctor(envs: &[(&str, &str)]) -> (Option<i32>, serde_json::Value) {
    let mut cmd = workbook();
    cmd.env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.args(["doctor", "--json"]).output().unwrap();
    (out.status.code(), util::json_stdout(&out))
}

/// `verify 01-named-volumes` with `envs`: it must pass with no problem.
fn verify_01_passes(envs: &[(&str, &str)]) {
    let mut cmd = workbook();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["verify", "01-named-volumes", "--json", "--yes"])
        .output()
        .unwrap();
    let v = util::json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        v["exercises"][0]["problems"],
        serde_json::json!([]),
        "{v:#}"
    );
}

#[test]
fn tls_endpoints_are_spoken_to_and_their_faults_named() {
    if !have("socat") || !have("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let port = free_port();
    let _proxy = tls_proxy(dir.path(), port);
    let host = format!("tcp://127.0.0.1:{port}");
    let client = dir.path().join("client");
    let client = client.to_str().unwrap();
    let _daemon = util::daemon();

    // DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: the engine answers through TLS, and exercise 01
    // verifies (set up, solved, graded) through it.
    let tls = [
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", client),
    ];
    let (code, report) = doctor(&tls);
    assert_eq!(check(&report, "engine")["status"], "ok", "{report:#}");
    assert_ne!(code, Some(2), "{report:#}");
    verify_01_passes(&tls);

    // A docker context holding the same TLS material.
    let config = dir.path().join("docker-config");
    let digest = workbook::docker::endpoint::context_digest("tls-test");
    let meta = config.join("contexts/meta").join(&digest);
    let material = config.join("contexts/tls").join(&digest).join("docker");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(&material).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(
            r#"{{"Name":"tls-test","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
        ),
    )
    .unwrap();
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::copy(dir.path().join("client").join(f), material.join(f)).unwrap();
    }
    let (_, report) = doctor(&[
        ("DOCKER_CONFIG", config.to_str().unwrap()),
        ("DOCKER_CONTEXT", "tls-test"),
    ]);
    assert_eq!(check(&report, "engine")["status"], "ok", "{report:#}");
    assert!(
        check(&report, "endpoint")["summary"]
            .as_str()
            .unwrap()
            .contains("tls-test"),
        "{report:#}"
    );

    // Without DOCKER_TLS_VERIFY: the plain message, never ✓.
    let (code, report) = doctor(&[("DOCKER_HOST", host.as_str())]);
    assert_eq!(code, Some(2), "{report:#}");
    let engine = check(&report, "engine");
    assert_eq!(engine["status"], "fail", "{report:#}");
    let said = format!("{} {}", engine["summary"], engine["fix"]);
    assert!(said.contains("wants TLS"), "{said}");
    assert!(said.contains("DOCKER_TLS_VERIFY=1"), "{said}");

    // A CA that did not sign the daemon's certificate.
    let wrong = dir.path().join("wrong");
    let (code, report) = doctor(&[
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", wrong.to_str().unwrap()),
    ]);
    assert_eq!(code, Some(2), "{report:#}");
    let engine = check(&report, "engine");
    let said = format!("{} {}", engine["summary"], engine["fix"]);
    assert!(said.contains("certificate verify failed"), "{said}");
    assert!(said.contains("ca.pem"), "{said}");

    // No client certificate: the daemon's refusal is named (socat verify=1).
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    std::fs::copy(dir.path().join("ca.pem"), bare.join("ca.pem")).unwrap();
    let (code, report) = doctor(&[
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", bare.to_str().unwrap()),
    ]);
    assert_eq!(code, Some(2), "{report:#}");
    assert_eq!(check(&report, "engine")["status"], "fail", "{report:#}");
}

/// A local sshd on 127.0.0.1 (its own host key, config and authorized key, root login by key),
/// and `DOCKER_HOST=ssh://root@127.0.0.1:PORT`: ssh runs `docker system dial-stdio` on the
/// "remote" side, which is this machine. The test's ssh client settings (its key, no host key
/// check) come from an `ssh` first on PATH that adds `-F` to the real one.
#[test]
fn an_ssh_endpoint_is_spoken_to() {
    if !have("ssh") || !Path::new("/usr/sbin/sshd").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide sshd (see .ci/run)"
        );
        eprintln!("not run: no /usr/sbin/sshd");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let port = free_port();
    sh(
        dir.path(),
        &format!(
            r#"
            ssh-keygen -q -t ed25519 -N '' -f host_key
            ssh-keygen -q -t ed25519 -N '' -f client_key
            cp client_key.pub authorized_keys
            chmod 600 authorized_keys
            mkdir -p /run/sshd
            cat > sshd_config <<CONF
ListenAddress 127.0.0.1:{port}
HostKey {d}/host_key
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
StrictModes no
PidFile none
CONF
            cat > ssh_config <<CONF
Host *
  IdentityFile {d}/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CONF
            mkdir bin
            printf '#!/bin/sh\nexec /usr/bin/ssh -F {d}/ssh_config "$@"\n' > bin/ssh
            chmod +x bin/ssh
            "#
        ),
    );
    let sshd = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.path().join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _sshd = Proxy(sshd);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sshd never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let path = format!("{}/bin:{}", d, std::env::var("PATH").unwrap_or_default());
    let host = format!("ssh://root@127.0.0.1:{port}");
    let _daemon = util::daemon();
    let (code, report) = doctor(&[("DOCKER_HOST", host.as_str()), ("PATH", path.as_str())]);
    assert_eq!(check(&report, "engine")["status"], "ok", "{report:#}");
    assert_ne!(code, Some(2), "{report:#}");
    let started = Instant::now();
    verify_01_passes(&[("DOCKER_HOST", host.as_str()), ("PATH", path.as_str())]);
    eprintln!(
        "verify 01 over ssh: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A key sshd does not know: what ssh said, and the fix.
    std::fs::write(dir.path().join("authorized_keys"), "").unwrap();
    let (code, report) = doctor(&[("DOCKER_HOST", host.as_str()), ("PATH", path.as_str())]);
    assert_eq!(code, Some(2), "{report:#}");
    let engine = check(&report, "engine");
    let said = format!("{} {}", engine["summary"], engine["fix"]);
    assert!(said.contains("Permission denied"), "{said}");
    assert!(said.contains("ssh-copy-id"), "{said}");
}

/// A plain TCP listener (socat) in front of the daemon's socket: a `tcp://` endpoint.
fn tcp_proxy(port: u16) -> Proxy {
    socat_proxy(
        format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"),
        port,
    )
}

/// `check 02-bind-mounts --json` through `tcp://127.0.0.1:port`, in a fresh workspace in `dir`;
/// `private`: in a mount namespace of its own where `dir` is a tmpfs the daemon cannot see, so
/// the engine is, for this process, on another machine.
fn check_02_over_tcp(dir: &Path, port: u16, private: bool) -> serde_json::Value {
    let wb = env!("CARGO_BIN_EXE_workbook");
    let script = format!(
        r#"set -e
        {mount}
        cd "$1"
        "$2" init ws >/dev/null
        cd ws
        exec "$2" check 02-bind-mounts --json"#,
        mount = if private {
            r#"mount -t tmpfs tmpfs "$1""#
        } else {
            ""
        }
    );
    let mut cmd = if private {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c");
        c
    };
    let out = cmd
        .arg(&script)
        .arg("sh")
        .arg(dir)
        .arg(wb)
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
        .env_remove("WORKBOOK_WORKSPACE")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("WORKBOOK_ENGINE_SEES_HOST")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    util::json_stdout(&out)
}

/// Whether this process may make a mount namespace (root, or a sandbox that allows it).
fn can_unshare() -> bool {
    let ok = Command::new("unshare")
        .args(["--mount", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must allow `unshare --mount` (it runs as root)"
        );
        eprintln!("not run: `unshare --mount` is not allowed here");
    }
    ok
}

#[test]
fn an_engine_that_cannot_see_this_machines_folders_is_said_so_instead_of_failing() {
    if !have("socat") || !have("unshare") || !can_unshare() {
        return;
    }
    workbook().arg("setup").assert().success();
    let port = free_port();
    let _proxy = tcp_proxy(port);
    let status = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["status"].as_str().unwrap().to_string(),
                    s["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // A tcp:// engine that sees this machine's files (it is this machine): graded as ever,
    // unsolved steps fail.
    let seen = tempfile::tempdir().unwrap();
    let v = check_02_over_tcp(seen.path(), port, false);
    for (s, m) in status(&v) {
        assert_eq!(s, "fail", "{m}");
    }
    // The same engine, from a process whose folders it cannot see: each step that compares
    // with this machine's files says why it cannot be graded, and what to do.
    let unseen = tempfile::tempdir().unwrap();
    let v = check_02_over_tcp(unseen.path(), port, true);
    let steps = status(&v);
    assert!(!steps.is_empty());
    for (s, m) in &steps {
        assert_eq!(s, "unavailable", "{v:#}");
        assert!(
            m.contains("cannot be graded on a remote engine")
                && m.contains(&format!("tcp://127.0.0.1:{port}"))
                && m.contains("unset DOCKER_HOST"),
            "{m}"
        );
    }
}
