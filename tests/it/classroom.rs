//! `workbook classroom`: a real server on 127.0.0.1, real workspaces that join it and grade,
//! the offline queue, a restart on the same SQLite file, and every kind of bad input.

use std::time::Duration;

use serde_json::{json, Value};

use crate::util::classroom::{data_file, request, Events, Server};
use crate::util::{daemon, init_workspace, workbook};

fn attendee<'a>(state: &'a Value, name: &str) -> &'a Value {
    state["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no attendee {name} in {state}"))
}

fn cell<'a>(a: &'a Value, slug: &str) -> &'a Value {
    a["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["exercise"] == slug)
        .unwrap()
}

fn record(seq: u64, exercise: &str, steps: &[(&str, &str)]) -> Value {
    json!({
        "seq": seq,
        "exercise": exercise,
        "steps": steps.iter().map(|(id, s)| json!({"id": id, "status": s})).collect::<Vec<_>>(),
        "hints_used": 0,
        "version": "test",
        "graded_at": 1_800_000_000u64 + seq,
    })
}

fn batch(records: &[Value]) -> Vec<u8> {
    json!({ "records": records }).to_string().into_bytes()
}

/// Serve, join, grade, see the record; the server goes away, gradings queue, a restart on the
/// same file keeps everything, and the queue goes out in order; leave forgets the attendee.
#[test]
fn a_workshop_survives_the_network_and_a_restart() {
    let _daemon = daemon();
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path());
    let server = Server::start(&data, 0, &[]);
    assert!(server.banner.contains("0 attendees"), "{}", server.banner);
    let (_ws_dir, ws) = init_workspace();

    // A wrong code: refused, nothing stored.
    let wrong = workbook()
        .current_dir(&ws)
        .args([
            "classroom",
            "join",
            &server.url,
            "AAAA-AA",
            "--name",
            "Ada",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("join code is not this classroom's"),
        "{stderr}"
    );
    assert_eq!(server.state()["attendees"].as_array().unwrap().len(), 0);
    // Without --yes on a non-interactive input it asks nothing and sends nothing.
    let unasked = workbook()
        .current_dir(&ws)
        .args([
            "classroom",
            "join",
            &server.url,
            &server.code,
            "--name",
            "Ada",
        ])
        .output()
        .unwrap();
    assert_eq!(unasked.status.code(), Some(2));
    assert_eq!(server.state()["attendees"].as_array().unwrap().len(), 0);

    // The join says what it will send.
    let joined = workbook()
        .current_dir(&ws)
        .args([
            "classroom",
            "join",
            &server.url,
            &server.code.to_lowercase(),
            "--name",
            "Ada",
            "--yes",
        ])
        .output()
        .unwrap();
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let said = String::from_utf8_lossy(&joined.stderr);
    assert!(
        said.contains("\"hints_used\"") && said.contains("Never your files"),
        "{said}"
    );
    assert_eq!(server.state()["attendees"].as_array().unwrap().len(), 1);

    // A grading goes to the server with each step's verdict.
    let check = workbook()
        .current_dir(&ws)
        .args(["check", "01", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    let state = server.state();
    let ada = attendee(&state, "Ada");
    let c = cell(ada, "01-named-volumes");
    assert_ne!(c["state"], "none", "{ada}");
    let sent: Vec<(&Value, &Value)> = c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (&s["id"], &s["status"]))
        .collect();
    let graded: Vec<(&Value, &Value)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (&s["id"], &s["status"]))
        .collect();
    assert_eq!(sent, graded);

    // The server goes away: gradings still grade, and their records wait in the workspace.
    let port = server.port;
    let (stopped, said) = server.stop();
    assert!(
        stopped.success() && said.contains("Classroom closed: 1 attendee kept"),
        "{said}"
    );
    for ex in ["01", "02"] {
        let out = workbook()
            .current_dir(&ws)
            .args(["check", ex])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("wait in the workspace") || err.contains("waits in the workspace"),
            "{err}"
        );
    }
    let enrolment: Value =
        serde_json::from_slice(&std::fs::read(ws.join(".workbook/classroom.json")).unwrap())
            .unwrap();
    let queued: Vec<u64> = enrolment["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(queued, vec![2, 3]);

    // A restart on the same file keeps the attendee, the record and the code.
    let server = Server::start(&data, port, &[]);
    assert!(
        server.banner.contains("1 attendee, 1 record kept"),
        "{}",
        server.banner
    );
    let synced = workbook()
        .current_dir(&ws)
        .args(["classroom", "sync"])
        .output()
        .unwrap();
    assert!(synced.status.success(), "{synced:?}");
    assert!(String::from_utf8_lossy(&synced.stdout).contains("Sent 2 records"));
    let state = server.state();
    let ada = attendee(&state, "Ada");
    assert_ne!(cell(ada, "02-bind-mounts")["state"], "none", "{ada}");
    let again = workbook()
        .current_dir(&ws)
        .args(["classroom", "sync"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("Nothing waits"));

    // `next` and `watch` send their gradings as `check` does.
    for args in [&["next"][..], &["watch", "--max-regrades", "0"][..]] {
        let out = workbook()
            .current_dir(&ws)
            .args(args)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {out:?}"
        );
    }
    let enrolment: Value =
        serde_json::from_slice(&std::fs::read(ws.join(".workbook/classroom.json")).unwrap())
            .unwrap();
    assert_eq!(enrolment["next_seq"], 6, "{enrolment}");
    assert_eq!(enrolment["queue"], json!([]), "{enrolment}");

    // The terminal view reads the same file.
    let status = workbook()
        .args(["classroom", "status", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && text.contains("1 attendee, 5 records") && text.contains("Ada"),
        "{text}"
    );

    // Leaving forgets the attendee on the server and stops the sending.
    let left = workbook()
        .current_dir(&ws)
        .args(["classroom", "leave"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&left.stdout).contains("the server forgot you"),
        "{left:?}"
    );
    assert!(!ws.join(".workbook/classroom.json").exists());
    assert_eq!(server.state()["attendees"].as_array().unwrap().len(), 0);
    let quiet = workbook()
        .current_dir(&ws)
        .args(["check", "01"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("classroom"));
}

#[test]
fn wrong_codes_and_tokens_bad_bodies_and_floods_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&data_file(dir.path()), 0, &[]);
    let join = |code: &str, name: &str| {
        server.post(
            "/api/join",
            None,
            json!({"code": code, "name": name, "version": "t"})
                .to_string()
                .as_bytes(),
        )
    };
    let wrong = join("ZZZZ-ZZ", "Eve");
    assert_eq!(wrong.status, 401);
    assert!(wrong.json()["error"]
        .as_str()
        .unwrap()
        .contains("join code"));
    let (_, token) = server.join("Ada");
    assert_eq!(join(&server.code, "   ").status, 422, "an empty name");
    assert_eq!(
        join(&server.code, &"x".repeat(61)).status,
        422,
        "a long name"
    );

    let ok = [("create-volume", "pass"), ("write-file", "fail")];
    let post = |token: Option<&str>, body: &[u8]| server.post("/api/records", token, body);
    assert_eq!(
        post(None, &batch(&[record(1, "01-named-volumes", &ok)])).status,
        401
    );
    assert_eq!(
        post(
            Some("wbt_nope"),
            &batch(&[record(1, "01-named-volumes", &ok)])
        )
        .status,
        401
    );
    let unknown = post(Some(&token), &batch(&[record(1, "99-nothing", &ok)]));
    assert_eq!(unknown.status, 422);
    assert!(unknown.text().contains("no exercise"), "{}", unknown.text());
    let step = post(
        Some(&token),
        &batch(&[record(1, "01-named-volumes", &[("nope", "pass")])]),
    );
    assert_eq!(step.status, 422);
    assert!(step.text().contains("no step `nope`"));
    let malformed = post(Some(&token), b"{\"records\": [");
    assert_eq!(malformed.status, 400, "{}", malformed.text());
    let extra = post(Some(&token), br#"{"records":[{"seq":1,"exercise":"01-named-volumes","steps":[],"hints_used":0,"version":"t","graded_at":1,"path":"/home/ada"}]}"#);
    assert_eq!(
        extra.status,
        422,
        "a field a workbook never sends: {}",
        extra.text()
    );
    let big = vec![b' '; 70 * 1024];
    let oversized = post(Some(&token), &big);
    assert_eq!(oversized.status, 413, "{}", oversized.text());
    let state = server.state();
    assert!(
        state["attendees"][0]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "none"),
        "nothing refused was stored: {state}"
    );

    // In a batch, a record that can never be kept does not cost the others.
    let mixed = post(
        Some(&token),
        &batch(&[
            record(7, "99-nothing", &ok),
            record(8, "01-named-volumes", &ok),
        ]),
    );
    assert_eq!(mixed.status, 200, "{}", mixed.text());
    assert_eq!(mixed.json()["stored"], json!([8]));
    assert_eq!(mixed.json()["rejected"][0]["seq"], 7);

    // A record sent twice is kept once.
    let first = post(Some(&token), &batch(&[record(1, "01-named-volumes", &ok)]));
    assert_eq!(first.json()["stored"], json!([1]));
    let dup = post(Some(&token), &batch(&[record(1, "01-named-volumes", &ok)]));
    assert_eq!(dup.json()["duplicates"], json!([1]));

    // A flood from one attendee is slowed down; another attendee is not.
    let (_, other) = server.join("Bob");
    let mut limited = None;
    for seq in 2..80 {
        let a = post(
            Some(&token),
            &batch(&[record(seq, "01-named-volumes", &ok)]),
        );
        if a.status == 429 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200);
    }
    let limited = limited.expect("a flood is rate-limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        post(Some(&other), &batch(&[record(1, "01-named-volumes", &ok)])).status,
        200
    );

    // Guessing codes is slowed down too.
    let statuses: Vec<u16> = (0..15).map(|_| join("QQQQ-QQ", "Mallory").status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");

    // The dashboard needs its key.
    assert_eq!(server.get("/").status, 401);
    assert_eq!(server.get("/api/state?key=wrong").status, 401);
    assert_eq!(server.get("/export.csv").status, 401);
    assert_eq!(server.page().status, 200);
    let wrong_cookie = request(
        server.port,
        "GET",
        "/",
        &[("Cookie", "workbook_key=nope")],
        b"",
    );
    assert_eq!(wrong_cookie.status, 401);
}

#[test]
fn names_show_as_text_and_the_dashboard_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&data_file(dir.path()), 0, &[]);
    let mut events = Events::open(&server);
    let (id, token) = server.join("<script>alert(1)</script>");
    let joined = events.next("attendee");
    assert_eq!(joined["attendee"]["id"], id);
    // Opened with its key, the page keeps it in a cookie and leaves it out of the address.
    let opened = server.get_keyed("/");
    assert_eq!(opened.status, 303, "{}", opened.text());
    assert_eq!(opened.header("location").as_deref(), Some("/"));
    let cookie = opened.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.contains(&server.key) && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let html = server.page();
    assert_eq!(html.status, 200);
    assert!(html.text().contains(&format!(
        "workbook classroom join {} {}",
        server.url, server.code
    )));
    let page = html.text();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    let csp = html.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // A record reaches the dashboard as an event.
    let sent = std::time::Instant::now();
    let a = server.post(
        "/api/records",
        Some(&token),
        &batch(&[record(
            1,
            "03-tmpfs",
            &[("scratch-tmpfs", "pass"), ("cache-limit", "fail")],
        )]),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let event = events.next("attendee");
    assert_eq!(event["seq"], 1);
    let c = cell(&event["attendee"], "03-tmpfs");
    assert_eq!(
        (c["state"].as_str(), c["passed"].as_u64()),
        (Some("working"), Some(1))
    );
    assert!(sent.elapsed() < Duration::from_secs(5));

    // The exports hold the same.
    let csv = server.get_keyed("/export.csv").text();
    assert!(csv.starts_with("attendee,name,exercise,step,status"));
    assert!(csv.contains("03-tmpfs,cache-limit,fail"), "{csv}");
    let exported = server.get_keyed("/export.json").json();
    assert_eq!(
        exported["attendees"][0]["name"],
        "<script>alert(1)</script>"
    );
}

#[test]
fn a_new_code_locks_out_the_old_one_but_not_those_who_joined() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path());
    let server = Server::start(&data, 0, &[]);
    let (old_code, key) = (server.code.clone(), server.key.clone());
    let (_, token) = server.join("Ada");
    let port = server.port;
    server.stop();
    let server = Server::start(&data, port, &["--new-code"]);
    assert_ne!(server.code, old_code);
    assert_eq!(server.key, key, "the dashboard's address stays");
    assert!(server.banner.contains("new join code"), "{}", server.banner);
    let old = request(
        server.port,
        "POST",
        "/api/join",
        &[("Content-Type", "application/json")],
        json!({"code": old_code, "name": "Eve", "version": "t"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(old.status, 401);
    let still = server.post(
        "/api/records",
        Some(&token),
        &batch(&[record(1, "01-named-volumes", &[("create-volume", "pass")])]),
    );
    assert_eq!(still.status, 200, "{}", still.text());
}

#[test]
fn status_without_a_classroom_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = workbook()
        .current_dir(dir.path())
        .args(["classroom", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("workbook classroom serve"));
    let bad = workbook()
        .current_dir(dir.path())
        .args([
            "classroom",
            "join",
            "https://x:1",
            "AAAA-AA",
            "--name",
            "A",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

const NAMES: [&str; 30] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
    "Margaret Hamilton",
    "Dennis Ritchie",
    "Radia Perlman",
    "Linus Torvalds",
    "Sophie Wilson",
    "Guido van Rossum",
    "Hedy Lamarr",
    "John Backus",
    "Katherine Johnson",
    "Niklaus Wirth",
    "Adele Goldberg",
    "Tim Berners-Lee",
    "Jean Sammet",
    "Bjarne Stroustrup",
    "Karen Spärck Jones",
    "Leslie Lamport",
    "Annie Easley",
    "Brian Kernighan",
    "Mary Kenneth Keller",
    "Yukihiro Matsumoto",
    "Shafi Goldwasser",
    "<script>alert(1)</script>",
];

/// Where attendee `i` of the scripted workshop is: exercises done, and steps passed in the
/// next one; every seventh has been failing the same step for 25 minutes.
fn script(i: usize) -> (usize, usize, bool) {
    (i % 6, i % 3, i % 7 == 3)
}

/// The attributes of each `<td class="cell …">` of attendee `id`'s row: (exercise, state).
fn row_cells(dom: &str, id: u64) -> Vec<(String, String)> {
    let start = dom
        .find(&format!("data-attendee=\"{id}\""))
        .unwrap_or_else(|| panic!("no row for attendee {id}"));
    let row = &dom[start..start + dom[start..].find("</tr>").unwrap()];
    let attr = |tag: &str, name: &str| -> String {
        let k = format!("{name}=\"");
        let i = tag.find(&k).unwrap_or_else(|| panic!("no {name} in {tag}")) + k.len();
        tag[i..i + tag[i..].find('"').unwrap()].to_string()
    };
    row.split("<td ")
        .skip(1)
        .map(|td| &td[..td.find('>').unwrap()])
        .filter(|tag| tag.contains("data-exercise"))
        .map(|tag| (attr(tag, "data-exercise"), attr(tag, "data-state")))
        .collect()
}

/// A workshop of 30 scripted attendees (every state on the grid, some stuck, a hostile name),
/// then the dashboard opened in headless Chromium: the grid it renders shows each attendee's
/// real state, names are text, and a screenshot lands in target/classroom-screenshots/.
#[test]
fn the_dashboard_shows_a_workshop_of_thirty_in_a_browser() {
    let cat = workbook::curriculum::catalog::Catalog::embedded().unwrap();
    let exercises = cat.exercises().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&data_file(dir.path()), 0, &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut ids = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let (id, token) = server.join(name);
        ids.push(id);
        let (done, passed, stuck) = script(i);
        let mut records = Vec::new();
        let mut seq = 0;
        let mut rec = |ex: &workbook::curriculum::exercise::Exercise, pass: usize, at: u64| {
            seq += 1;
            let steps: Vec<Value> = ex
                .steps()
                .iter()
                .enumerate()
                .map(|(k, s)| json!({"id": s.id, "status": if k < pass { "pass" } else { "fail" }}))
                .collect();
            json!({"seq": seq, "exercise": ex.slug, "steps": steps, "hints_used": i % 3,
                   "version": "0.1.0", "graded_at": at})
        };
        for ex in &exercises[..done] {
            records.push(rec(ex, ex.steps().len(), now - 3600));
        }
        let current = &exercises[done];
        let passed = passed.min(current.steps().len() - 1);
        if stuck {
            records.push(rec(current, passed, now - 25 * 60));
        }
        records.push(rec(current, passed, now - 30));
        let a = server.post("/api/records", Some(&token), &batch(&records));
        assert_eq!(a.status, 200, "{}", a.text());
    }

    let Some(chromium) = crate::book::chromium() else {
        return;
    };
    let url = format!("{}/?key={}", server.url, server.key);
    let profile = tempfile::tempdir().unwrap();
    let dom = crate::book::run_for(
        crate::book::chromium_cmd(&chromium, profile.path()).args(["--dump-dom", &url]),
        Duration::from_secs(120),
    );
    assert!(
        dom.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("data-rendered="),
        "the dashboard's script did not render: {dom}"
    );
    for (i, id) in ids.iter().enumerate() {
        let (done, _, _) = script(i);
        let cells = row_cells(&dom, *id);
        assert_eq!(cells.len(), exercises.len());
        for (k, (slug, state)) in cells.iter().enumerate() {
            assert_eq!(slug, &exercises[k].slug);
            let want = match k.cmp(&done) {
                std::cmp::Ordering::Less => "done",
                std::cmp::Ordering::Equal => "working",
                std::cmp::Ordering::Greater => "none",
            };
            assert_eq!(state, want, "{}, exercise {slug}", NAMES[i]);
        }
    }
    // The stuck attendees are listed as stuck, and the hostile name is text.
    let stuck_list = &dom[dom.find("id=\"stuck\"").unwrap()..];
    let stuck_list = &stuck_list[..stuck_list.find("</ul>").unwrap()];
    for (i, name) in NAMES.iter().enumerate() {
        let listed = stuck_list.contains(&format!(
            "<b>{}</b>",
            name.replace('<', "&lt;").replace('>', "&gt;")
        ));
        assert_eq!(
            listed,
            script(i).2,
            "{name} in the stuck list: {stuck_list}"
        );
    }
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains("<script>alert"));

    let shots =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/classroom-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let out = crate::book::run_for(
        crate::book::chromium_cmd(&chromium, profile.path())
            .arg(format!("--screenshot={}", shot.display()))
            .args(["--window-size=1400,1250", &url]),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success() && shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("screenshot: {}", shot.display());
}

/// A classroom holds at most 1,000 attendees: a script joining with the code gets a 403 then.
#[test]
fn a_full_classroom_refuses_more_joins() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&data_file(dir.path()), 0, &[]);
    let body = |i: usize| {
        json!({"code": server.code, "name": format!("bot {i}"), "version": "t"}).to_string()
    };
    for i in 0..1000 {
        let a = server.post("/api/join", None, body(i).as_bytes());
        assert_eq!(a.status, 200, "join {i}: {}", a.text());
    }
    let full = server.post("/api/join", None, body(1000).as_bytes());
    assert_eq!(full.status, 403);
    assert!(
        full.text().contains("this classroom is full"),
        "{}",
        full.text()
    );
}
