//! A fake Docker Engine for tests: a unix socket that speaks just enough HTTP/1.1 for the
//! requests `workbook check 01` and `workbook watch` make, answering like a healthy daemon
//! with volume `ml-data` holding `hello.txt` ("persisted"), and misbehaving on the requests a
//! test names ([`Misbehaviour`]). Every request is logged, and the containers created and not
//! yet deleted are kept, so a test can assert that a probe was removed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};

/// How the fake answers a request that a rule picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Sends the status line and headers (a body of 100 bytes announced), two bytes, then nothing.
    HeadersThenStall,
    /// A JSON array that never ends (chunked), as fast as the client reads.
    EndlessJson,
    /// `500` with a body that never ends.
    EndlessBodyError,
    /// An archive whose one file claims 8 GiB and whose bytes never end.
    EndlessTar,
    /// An archive sent one byte at a time, a byte every so often.
    SlowTar(Duration),
    /// An event stream whose one line never ends.
    EventsLongline,
    /// An event stream of lines that are not JSON, a few a second.
    EventsGarbage,
    /// An event stream of relevant container events, as fast as the client reads.
    EventsFlood,
    /// An exec whose output is one frame that claims 4 GiB and never ends.
    EndlessExecOutput,
}

/// Which requests a misbehaviour applies to: the method and a part of the path.
#[derive(Debug, Clone)]
struct Rule {
    method: String,
    path_contains: String,
    how: Misbehaviour,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Without the query.
    pub path: String,
    /// When it came (no test reads it now).
    #[allow(dead_code)]
    pub at: Instant,
}

#[derive(Default)]
struct State {
    /// What `hello.txt` in `ml-data` holds; `None`: "persisted" (exercise 01 passes).
    hello: Mutex<Option<Vec<u8>>>,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Request>>,
    /// Containers created and not deleted: id → labels.
    live: Mutex<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    next_id: AtomicU64,
}

pub struct FakeEngine {
    pub socket: PathBuf,
    state: Arc<State>,
    _dir: tempfile::TempDir,
}

impl FakeEngine {
    /// Listens on a socket in a temporary folder, on a thread of its own.
    pub fn start() -> FakeEngine {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let state = Arc::new(State::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (path, st) = (socket.clone(), state.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = UnixListener::bind(&path).unwrap();
                ready_tx.send(()).unwrap();
                while let Ok((conn, _)) = listener.accept().await {
                    tokio::spawn(serve(conn, st.clone()));
                }
            });
        });
        ready_rx.recv().unwrap();
        FakeEngine {
            socket,
            state,
            _dir: dir,
        }
    }

    /// `DOCKER_HOST` for the fake.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `hello.txt` holds something else than "persisted": exercise 01's second step fails (and
    /// `watch` goes on watching).
    pub fn unsolved(&self) {
        *self.state.hello.lock().unwrap() = Some(b"not yet\n".to_vec());
    }

    /// From now on, requests of `method` whose path contains `path_contains` misbehave.
    pub fn misbehave(&self, method: &str, path_contains: &str, how: Misbehaviour) {
        self.state.rules.lock().unwrap().push(Rule {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            how,
        });
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.log.lock().unwrap().clone()
    }

    /// Whether a request of `method` whose path contains `path_contains` came.
    pub fn saw(&self, method: &str, path_contains: &str) -> bool {
        self.requests()
            .iter()
            .any(|r| r.method == method && r.path.contains(path_contains))
    }

    /// Ids of the containers created and not deleted.
    pub fn live_containers(&self) -> Vec<String> {
        self.state.live.lock().unwrap().keys().cloned().collect()
    }

    /// How many containers were created.
    pub fn created(&self) -> usize {
        self.state.next_id.load(Ordering::SeqCst) as usize
    }

    /// Requests as lines, for failure messages.
    pub fn transcript(&self) -> String {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A parsed request head.
struct Head {
    method: String,
    path: String,
    /// The query, percent-decoded: name → value.
    query: Vec<(String, String)>,
    content_length: usize,
    chunked: bool,
}

/// Serves one connection: requests one after the other (keep-alive).
async fn serve(conn: UnixStream, state: Arc<State>) {
    let (mut rd, mut wr) = conn.into_split();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(head) = read_head(&mut rd, &mut buf).await else {
            return;
        };
        let Some(body) = read_body(&mut rd, &mut buf, &head).await else {
            return;
        };
        state.log.lock().unwrap().push(Request {
            method: head.method.clone(),
            path: head.path.clone(),
            at: Instant::now(),
        });
        let rule = state
            .rules
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.method == head.method && head.path.contains(&r.path_contains))
            .map(|r| r.how);
        let keep = match rule {
            Some(how) => {
                misbehave(how, &mut rd, &mut wr).await;
                false
            }
            None => answer(&head, &body, &state, &mut rd, &mut wr).await,
        };
        if !keep {
            return;
        }
    }
}

async fn read_head(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> Option<Head> {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 8192];
        let n = rd.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.to_string();
    let query = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let (mut content_length, mut chunked) = (0, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => content_length = value.trim().parse().unwrap_or(0),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    Some(Head {
        method,
        path,
        query,
        content_length,
        chunked,
    })
}

/// `a%20b+c` → `a b c`.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `labels` pass the `label` filters of a container list (`key` or `key=value`).
fn labels_match(
    labels: &serde_json::Map<String, serde_json::Value>,
    filters: &serde_json::Value,
) -> bool {
    let wanted = filters.get("label").and_then(|l| l.as_array());
    wanted
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str())
        .all(|w| match w.split_once('=') {
            Some((k, v)) => labels.get(k).and_then(|x| x.as_str()) == Some(v),
            None => labels.contains_key(w),
        })
}

/// Reads the request body.
async fn read_body(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>, head: &Head) -> Option<Vec<u8>> {
    async fn fill(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>, want: usize) -> Option<()> {
        while buf.len() < want {
            let mut chunk = [0u8; 8192];
            let n = rd.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(())
    }
    let mut body = Vec::new();
    if head.chunked {
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                fill(rd, buf, buf.len() + 1).await?;
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            buf.drain(..line_end + 2);
            fill(rd, buf, size + 2).await?;
            body.extend(buf.drain(..size + 2).take(size));
            if size == 0 {
                return Some(body);
            }
        }
    }
    fill(rd, buf, head.content_length).await?;
    body.extend(buf.drain(..head.content_length));
    Some(body)
}

async fn respond(wr: &mut OwnedWriteHalf, status: &str, ctype: &str, body: &[u8]) -> bool {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nApi-Version: 1.41\r\n\r\n",
        body.len()
    );
    wr.write_all(head.as_bytes()).await.is_ok() && wr.write_all(body).await.is_ok()
}

fn json(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

/// What a healthy daemon answers. `false` when the connection ends here.
async fn answer(
    head: &Head,
    body: &[u8],
    state: &State,
    rd: &mut OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
) -> bool {
    let parts: Vec<&str> = head.path.trim_start_matches('/').split('/').collect();
    let (method, parts) = (head.method.as_str(), parts.as_slice());
    match (method, parts) {
        ("GET" | "HEAD", ["_ping"]) => respond(wr, "200 OK", "text/plain", b"OK").await,
        ("GET", ["volumes"]) => {
            let volume = serde_json::json!({
                "Name": "ml-data", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/ml-data/_data",
                "CreatedAt": "2024-01-01T00:00:00Z", "Labels": {}, "Scope": "local", "Options": {}
            });
            let body = json(serde_json::json!({ "Volumes": [volume], "Warnings": [] }));
            respond(wr, "200 OK", "application/json", &body).await
        }
        ("GET", ["containers", "json"]) => {
            // The workbook's own helpers (probes) are the only containers.
            let filters: serde_json::Value = head
                .query
                .iter()
                .find(|(k, _)| k == "filters")
                .and_then(|(_, v)| serde_json::from_str(v).ok())
                .unwrap_or_default();
            let list: Vec<serde_json::Value> = state
                .live
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, labels)| labels_match(labels, &filters))
                .map(|(id, labels)| {
                    serde_json::json!({
                        "Id": id, "Names": [format!("/probe-{}", &id[56..])], "Image": "workbook/tools",
                        "ImageID": "sha256:0", "Command": "true", "Created": 1_700_000_000,
                        "State": "created", "Status": "Created", "Labels": labels, "Mounts": []
                    })
                })
                .collect();
            respond(wr, "200 OK", "application/json", &json(list.into())).await
        }
        ("POST", ["containers", "create"]) => {
            let n = state.next_id.fetch_add(1, Ordering::SeqCst);
            let id = format!("{n:064x}");
            let labels = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|b| b.get("Labels").and_then(|l| l.as_object()).cloned())
                .unwrap_or_default();
            state.live.lock().unwrap().insert(id.clone(), labels);
            let body = json(serde_json::json!({ "Id": id, "Warnings": [] }));
            respond(wr, "201 Created", "application/json", &body).await
        }
        ("GET", ["containers", id, "archive"]) => {
            if !state.live.lock().unwrap().contains_key(*id) {
                let body =
                    json(serde_json::json!({ "message": format!("No such container: {id}") }));
                return respond(wr, "404 Not Found", "application/json", &body).await;
            }
            let hello = state.hello.lock().unwrap().clone();
            let data = hello.unwrap_or_else(|| b"persisted\n".to_vec());
            respond(wr, "200 OK", "application/x-tar", &hello_tar(&data)).await
        }
        ("DELETE", ["containers", id]) => {
            if state.live.lock().unwrap().remove(*id).is_some() {
                respond(wr, "204 No Content", "text/plain", b"").await
            } else {
                let body =
                    json(serde_json::json!({ "message": format!("No such container: {id}") }));
                respond(wr, "404 Not Found", "application/json", &body).await
            }
        }
        ("POST", ["containers", _, "exec"]) => {
            let body = json(serde_json::json!({ "Id": "e".repeat(64) }));
            respond(wr, "201 Created", "application/json", &body).await
        }
        ("POST", ["exec", _, "start"]) => {
            // Hijacked: one frame of stdout, then the end of the stream.
            let mut out = upgrade_head().into_bytes();
            out.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 3]);
            out.extend_from_slice(b"ok\n");
            let _ = wr.write_all(&out).await;
            false
        }
        ("GET", ["exec", _, "json"]) => {
            let body =
                json(serde_json::json!({ "ExitCode": 0, "Running": false, "ID": "e".repeat(64) }));
            respond(wr, "200 OK", "application/json", &body).await
        }
        ("GET", ["events"]) => {
            // A quiet daemon: the stream stays open, with no event, until the client goes.
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if wr.write_all(head.as_bytes()).await.is_ok() {
                until_closed(rd).await;
            }
            false
        }
        _ => {
            let body = json(serde_json::json!({
                "message": format!("fake engine: no route for {method} {}", head.path)
            }));
            respond(wr, "404 Not Found", "application/json", &body).await
        }
    }
}

/// The head of an exec's answer: the connection becomes the process's output.
fn upgrade_head() -> String {
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n\
     Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        .to_string()
}

/// The archive of `hello.txt` holding `data`.
fn hello_tar(data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(1000);
    h.set_gid(1000);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    b.append_data(&mut h, "hello.txt", data).unwrap();
    b.into_inner().unwrap()
}

/// Waits until the client closes its end.
async fn until_closed<R: AsyncRead + Unpin>(rd: &mut R) {
    let mut sink = [0u8; 1024];
    while let Ok(n) = rd.read(&mut sink).await {
        if n == 0 {
            return;
        }
    }
}

async fn chunk(wr: &mut OwnedWriteHalf, data: &[u8]) -> bool {
    let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
    framed.extend_from_slice(data);
    framed.extend_from_slice(b"\r\n");
    wr.write_all(&framed).await.is_ok()
}

async fn start_chunked(wr: &mut OwnedWriteHalf, status: &str, ctype: &str) -> bool {
    let head =
        format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n\r\n");
    wr.write_all(head.as_bytes()).await.is_ok()
}

/// Sends `data` as chunks until the client goes away (or stops reading for good).
async fn endless(wr: &mut OwnedWriteHalf, data: &[u8]) {
    while chunk(wr, data).await {}
}

async fn misbehave(how: Misbehaviour, rd: &mut OwnedReadHalf, wr: &mut OwnedWriteHalf) {
    match how {
        Misbehaviour::HeadersThenStall => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"";
            if wr.write_all(head.as_bytes()).await.is_ok() {
                until_closed(rd).await;
            }
        }
        Misbehaviour::EndlessJson => {
            if start_chunked(wr, "200 OK", "application/json").await && chunk(wr, b"[").await {
                let item = serde_json::json!({
                    "Id": "x".repeat(64), "Names": ["/n"], "State": "running", "Labels": {}
                });
                let mut blob = Vec::new();
                for _ in 0..2000 {
                    blob.extend_from_slice(&json(item.clone()));
                    blob.push(b',');
                }
                endless(wr, &blob).await;
            }
        }
        Misbehaviour::EndlessBodyError => {
            if start_chunked(wr, "500 Internal Server Error", "application/json").await {
                endless(wr, &[b'A'; 65536]).await;
            }
        }
        Misbehaviour::EndlessTar => {
            if start_chunked(wr, "200 OK", "application/x-tar").await {
                let mut h = tar::Header::new_gnu();
                h.set_path("big").unwrap();
                h.set_size(8 << 30);
                h.set_mode(0o644);
                h.set_uid(0);
                h.set_gid(0);
                h.set_mtime(1_700_000_000);
                h.set_cksum();
                if chunk(wr, h.as_bytes()).await {
                    endless(wr, &[1u8; 65536]).await;
                }
            }
        }
        Misbehaviour::SlowTar(every) => {
            if start_chunked(wr, "200 OK", "application/x-tar").await {
                while chunk(wr, b"\0").await {
                    tokio::time::sleep(every).await;
                }
            }
        }
        Misbehaviour::EventsLongline => {
            // A string that never ends: no newline, no parse error, ever.
            let opening = b"{\"Type\":\"container\",\"Action\":\"";
            if start_chunked(wr, "200 OK", "application/json").await && chunk(wr, opening).await {
                endless(wr, &[b'x'; 65536]).await;
            }
        }
        Misbehaviour::EventsGarbage => {
            if start_chunked(wr, "200 OK", "application/json").await {
                while chunk(wr, b"{\"Type\": garbage}\n").await {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        Misbehaviour::EndlessExecOutput => {
            let mut head = upgrade_head().into_bytes();
            head.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
            if wr.write_all(&head).await.is_ok() {
                let blob = [b'y'; 65536];
                while wr.write_all(&blob).await.is_ok() {}
            }
        }
        Misbehaviour::EventsFlood => {
            if start_chunked(wr, "200 OK", "application/json").await {
                loop {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap();
                    let event = serde_json::json!({
                        "Type": "container", "Action": "start",
                        "Actor": { "ID": "abc", "Attributes": {} },
                        "time": now.as_secs(), "timeNano": now.as_nanos() as u64,
                    });
                    let mut line = json(event);
                    line.push(b'\n');
                    if !chunk(wr, &line.repeat(100)).await {
                        break;
                    }
                }
            }
        }
    }
}
