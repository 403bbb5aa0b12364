//! A classroom server of this build on 127.0.0.1 for the tests (killed when dropped), and a
//! small HTTP/1.1 client over std's TcpStream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::workbook_process;

pub struct Server {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub code: String,
    pub key: String,
    /// What it printed before serving.
    pub banner: String,
}

impl Server {
    /// `workbook classroom serve --listen 127.0.0.1:PORT --data DATA EXTRA...` (PORT 0: any).
    pub fn start(data: &Path, port: u16, extra: &[&str]) -> Server {
        let mut child = workbook_process()
            .args(["classroom", "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("workbook classroom serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = String::new();
        let (mut url, mut code, mut key) = (None, None, None);
        while key.is_none() || url.is_none() {
            let Some(Ok(line)) = lines.next() else {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("the server ended before its banner:\n{banner}\n{err}");
            };
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.trim().strip_prefix("workbook classroom join ") {
                let mut words = rest.split_whitespace();
                url = words.next().map(str::to_string);
                code = words.next().map(str::to_string);
            }
            if let Some(i) = line.find("/?key=") {
                key = Some(line[i + 6..].trim().to_string());
            }
        }
        // Keep reading what it prints so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let url = url.expect("a join command in the banner");
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Server {
            child,
            port,
            url,
            code: code.expect("a join code"),
            key: key.unwrap(),
            banner,
        }
    }

    /// Stops it as Ctrl-C would and waits for it: how it ended and what it said on stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        self.kill();
        let mut said = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut said);
        }
        (self.child.wait().expect("the server's status"), said)
    }

    fn kill(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        interrupt(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn get(&self, path: &str) -> Answer {
        request(self.port, "GET", path, &[], b"")
    }

    /// The dashboard page, with the key in its cookie (as a browser has it after `/?key=`).
    pub fn page(&self) -> Answer {
        let cookie = format!("workbook_key={}", self.key);
        request(self.port, "GET", "/", &[("Cookie", cookie.as_str())], b"")
    }

    /// `path` with the dashboard's key.
    pub fn get_keyed(&self, path: &str) -> Answer {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.get(&format!("{path}{sep}key={}", self.key))
    }

    /// `/api/state` as JSON.
    pub fn state(&self) -> serde_json::Value {
        let a = self.get_keyed("/api/state");
        assert_eq!(a.status, 200, "{}", a.text());
        a.json()
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &[u8]) -> Answer {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        request(self.port, "POST", path, &headers, body)
    }

    /// Joins through the API: (attendee id, token).
    pub fn join(&self, name: &str) -> (u64, String) {
        let body = serde_json::json!({"code": self.code, "name": name, "version": "test"});
        let a = self.post("/api/join", None, body.to_string().as_bytes());
        assert_eq!(a.status, 200, "{}", a.text());
        let v = a.json();
        (
            v["attendee"].as_u64().unwrap(),
            v["token"].as_str().unwrap().to_string(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn interrupt(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// One request with `Connection: close`; the whole answer (chunked bodies decoded).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A body the server refuses early may meet a closed connection: that is its answer.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {}", String::from_utf8_lossy(raw)));
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let mut body = raw[split + 4..].to_vec();
    if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .unwrap_or(0);
            if n == 0 || rest.len() < eol + 2 + n {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[(eol + 4 + n).min(rest.len())..];
        }
        body = out;
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// A connection to `/events`, read line by line.
pub struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    pub fn open(server: &Server) -> Events {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /events?key={} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
            server.key
        )
        .unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.contains(" 200 "), "events: {line}");
        Events { reader }
    }

    /// The data of the next event named `name` (within the read timeout).
    pub fn next(&mut self, name: &str) -> serde_json::Value {
        let mut current = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("an event in time");
            assert!(n > 0, "the event stream ended");
            let line = line.trim_end();
            if let Some(e) = line.strip_prefix("event: ") {
                current = e.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                if current == name {
                    return serde_json::from_str(d).unwrap();
                }
            }
        }
    }
}

/// The classroom's data file in `dir`.
pub fn data_file(dir: &Path) -> PathBuf {
    dir.join("classroom.sqlite")
}
