//! The classroom server under a workshop's load: ATTENDEES simulated attendees (default 300)
//! each post a record every INTERVAL seconds (default 2) for SECS seconds (default 60) to a
//! `workbook classroom serve` of this build on 127.0.0.1, while one dashboard listens to the
//! server-sent events. Loopback only, a bounded loop.
//!
//! It prints: ingest latency (post sent → answer read) p50/p90/p99/max, the time from a post
//! to the dashboard's event for that record (p50/p99), posts answered and refused, and the
//! server's memory (VmRSS before, VmHWM peak, VmRSS after). See BENCHMARKS.md.
//!
//! Usage: cargo bench --bench classroom [-- --attendees N --interval S --secs S]
//! (`WORKBOOK_BIN=PATH` uses that binary instead of target/release/workbook.)

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

struct Args {
    attendees: usize,
    interval: f64,
    secs: f64,
}

fn args() -> Args {
    let mut a = Args {
        attendees: 300,
        interval: 2.0,
        secs: 60.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().and_then(|v| v.parse::<f64>().ok());
        match k.as_str() {
            "--attendees" => a.attendees = v().unwrap_or(300.0) as usize,
            "--interval" => a.interval = v().unwrap_or(2.0),
            "--secs" => a.secs = v().unwrap_or(60.0),
            // `cargo bench` passes --bench.
            _ => {}
        }
    }
    a
}

fn binary() -> String {
    if let Ok(b) = std::env::var("WORKBOOK_BIN") {
        return b;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "workbook"])
        .current_dir(root)
        .status()
        .expect("cargo build --release");
    assert!(status.success());
    format!("{root}/target/release/workbook")
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(port: u16) -> Sender {
    let s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(s))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn post(
    sender: &mut Sender,
    port: u16,
    path: &str,
    token: Option<&str>,
    body: String,
) -> (u16, Bytes) {
    let mut req = Request::post(path)
        .header("host", format!("127.0.0.1:{port}"))
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    sender.ready().await.unwrap();
    let answer = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (
        status,
        answer.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let bin = binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench.sqlite");
    let mut server = Command::new(&bin)
        .args(["classroom", "serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("workbook classroom serve");
    let pid = server.id();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let (mut port, mut code, mut key) = (0u16, String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("workbook classroom join ") {
            let mut w = rest.split_whitespace();
            port = w
                .next()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            code = w.next().unwrap().to_string();
        }
        if let Some(i) = line.find("/?key=") {
            key = line[i + 6..].trim().to_string();
        }
        if port != 0 && !key.is_empty() {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let rss_before = proc_kib(pid, "VmRSS:");

    // The exercises' step ids, from the embedded catalog.
    let cat = workbook::curriculum::catalog::Catalog::embedded().unwrap();
    let exercises: Vec<(String, Vec<String>)> = cat
        .exercises()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e.slug.clone(),
                e.steps().iter().map(|s| s.id.clone()).collect(),
            )
        })
        .collect();

    // Everyone joins.
    let mut tokens = Vec::new();
    let mut sender = connect(port).await;
    for i in 0..a.attendees {
        let body = serde_json::json!({"code": code, "name": format!("Attendee {i:03}"), "version": "bench"});
        let (status, b) = post(&mut sender, port, "/api/join", None, body.to_string()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&b));
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        tokens.push((
            v["attendee"].as_u64().unwrap(),
            v["token"].as_str().unwrap().to_string(),
        ));
    }

    // One dashboard listens.
    let sent_at: Arc<Mutex<HashMap<(u64, u64), Instant>>> = Arc::default();
    let event_lat: Arc<Mutex<Vec<f64>>> = Arc::default();
    {
        let (sent_at, event_lat) = (sent_at.clone(), event_lat.clone());
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(format!("GET /events?key={key} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        tokio::spawn(async move {
            let mut r = tokio::io::BufReader::new(s).lines();
            while let Ok(Some(line)) = r.next_line().await {
                let Some(d) = line.strip_prefix("data: ") else {
                    continue;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(d) else {
                    continue;
                };
                let (Some(id), Some(seq)) = (v["attendee"]["id"].as_u64(), v["seq"].as_u64())
                else {
                    continue;
                };
                if let Some(t) = sent_at.lock().unwrap().remove(&(id, seq)) {
                    event_lat
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ingest: Arc<Mutex<Vec<f64>>> = Arc::default();
    let refused: Arc<Mutex<HashMap<u16, u64>>> = Arc::default();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.secs);
    let interval = Duration::from_secs_f64(a.interval);
    let mut tasks = Vec::new();
    for (i, (id, token)) in tokens.into_iter().enumerate() {
        let (ingest, refused, sent_at, exercises) = (
            ingest.clone(),
            refused.clone(),
            sent_at.clone(),
            exercises.clone(),
        );
        // Spread over the interval, as a room's gradings are.
        let offset = interval.mul_f64(i as f64 / a.attendees as f64);
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(port).await;
            let mut next = start + offset;
            let mut seq = 0u64;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                seq += 1;
                let (slug, steps) = &exercises[(seq as usize / 10 + i) % exercises.len()];
                let passed = (seq as usize) % (steps.len() + 1);
                let steps: Vec<_> = steps
                    .iter()
                    .enumerate()
                    .map(|(k, s)| serde_json::json!({"id": s, "status": if k < passed {"pass"} else {"fail"}}))
                    .collect();
                let body = serde_json::json!({"records": [{"seq": seq, "exercise": slug, "steps": steps,
                    "hints_used": 0, "version": "bench", "graded_at": 1_800_000_000u64 + seq}]});
                let t = Instant::now();
                sent_at.lock().unwrap().insert((id, seq), t);
                let (status, _) = post(&mut sender, port, "/api/records", Some(&token), body.to_string()).await;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if status == 200 {
                    ingest.lock().unwrap().push(ms);
                } else {
                    *refused.lock().unwrap().entry(status).or_default() += 1;
                }
            }
        }));
    }
    let mut peak_rss = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        peak_rss = peak_rss.max(proc_kib(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hwm = proc_kib(pid, "VmHWM:");
    let rss_after = proc_kib(pid, "VmRSS:");
    let elapsed = start.elapsed().as_secs_f64();
    let _ = server.kill();
    let _ = server.wait();

    let mut ing = ingest.lock().unwrap().clone();
    ing.sort_by(f64::total_cmp);
    let mut ev = event_lat.lock().unwrap().clone();
    ev.sort_by(f64::total_cmp);
    let missed = sent_at.lock().unwrap().len();
    println!(
        "classroom: {} attendees, a post every {} s each, {:.1} s",
        a.attendees, a.interval, elapsed
    );
    println!(
        "posts answered 200: {} ({:.0}/s); refused: {:?}",
        ing.len(),
        ing.len() as f64 / elapsed,
        refused.lock().unwrap()
    );
    println!(
        "ingest latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        pct(&ing, 0.5),
        pct(&ing, 0.9),
        pct(&ing, 0.99),
        ing.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "post to dashboard event ms: p50 {:.2}  p99 {:.2}  max {:.2}  ({} events, {} posts without one)",
        pct(&ev, 0.5),
        pct(&ev, 0.99),
        ev.last().copied().unwrap_or(f64::NAN),
        ev.len(),
        missed
    );
    println!(
        "server memory: VmRSS {:.1} MiB before, peak {:.1} MiB (VmHWM {:.1} MiB), {:.1} MiB after; data file {:.1} MiB",
        rss_before as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0
    );
}
