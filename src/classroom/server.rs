//! `workbook classroom serve`'s HTTP server (axum): attendees join with the code and post
//! their records; the instructor's dashboard reads the room, live through server-sent events.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/join` | an attendee, with the join code | a token (401 on a wrong code) |
//! | `POST /api/records` | `Authorization: Bearer TOKEN` | a batch of records (401, 413, 400, 422, 429) |
//! | `POST /api/leave` | `Authorization: Bearer TOKEN` | forgets the attendee and their records |
//! | `GET /?key=KEY` | the instructor | the dashboard |
//! | `GET /api/state?key=KEY` | the instructor | the room as JSON |
//! | `GET /events?key=KEY` | the instructor | server-sent events: `attendee`, `left` |
//! | `GET /export.csv?key=KEY`, `/export.json?key=KEY` | the instructor | the room to keep |
//!
//! Every string an attendee sent is escaped where the dashboard shows it
//! ([`crate::classroom::dashboard`]); bodies are size-limited; every refusal is
//! `{"error": "..."}`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::classroom::dashboard;
use crate::classroom::limit::Limiter;
use crate::classroom::record::{
    clean_name, normalize_code, Batch, BatchAnswer, ErrorAnswer, JoinAnswer, JoinRequest, Rejected,
    MAX_BATCH, PROTOCOL,
};
use crate::classroom::room::{self, Attendee, Room};
use crate::classroom::secret;
use crate::classroom::store::{token_hash, Store};
use crate::util::clock::now;

/// The largest join body accepted.
pub const JOIN_LIMIT: usize = 4 * 1024;
/// The largest records body accepted (a full batch of the longest exercise is under 20 KiB).
pub const RECORDS_LIMIT: usize = 64 * 1024;
/// At most this many attendees in one classroom (a workshop has up to a few hundred).
pub const MAX_ATTENDEES: usize = 1000;
/// At most this many records kept per attendee (a day of gradings is a few hundred).
pub const MAX_RECORDS: u64 = 5000;

/// What the handlers share.
pub struct Classroom {
    store: Mutex<Store>,
    room: Mutex<Room>,
    /// The exercises records are checked against (the room's, which never change).
    exercises: Vec<room::ExerciseInfo>,
    /// SHA-256 of a token → attendee id.
    tokens: Mutex<std::collections::HashMap<String, u64>>,
    join_code: String,
    /// The address attendees join (`http://10.0.0.5:7300`), as the dashboard shows it.
    join_url: String,
    key: String,
    stuck_after: u64,
    events: broadcast::Sender<Arc<str>>,
    posts: Mutex<Limiter<u64>>,
    failures: Mutex<Limiter<IpAddr>>,
    /// Joins per address (the instructor's own machine, a loopback address, is not limited).
    joins: Mutex<Limiter<IpAddr>>,
}

impl Classroom {
    /// The classroom of `store` (its code, key and attendees).
    pub fn new(
        store: Store,
        room: Room,
        stuck_after: u64,
        join_url: String,
    ) -> crate::util::error::Result<Classroom> {
        let join_code = store
            .meta("join_code")?
            .ok_or("the classroom's data file has no join code")?;
        let key = store
            .meta("dashboard_key")?
            .ok_or("the classroom's data file has no dashboard key")?;
        let tokens = store
            .attendees()?
            .into_iter()
            .map(|a| (a.token_hash, a.id))
            .collect();
        let (events, _) = broadcast::channel(1024);
        Ok(Classroom {
            exercises: room.exercises.clone(),
            store: Mutex::new(store),
            room: Mutex::new(room),
            tokens: Mutex::new(tokens),
            join_code,
            join_url,
            key,
            stuck_after,
            events,
            // Posting every grading is far below this; a flood is not.
            posts: Mutex::new(Limiter::new(30, 2.0)),
            // Ten wrong codes or tokens, then one every six seconds, per address.
            failures: Mutex::new(Limiter::new(10, 1.0 / 6.0)),
            // A room behind one address joins in a burst; a script making attendees does not.
            joins: Mutex::new(Limiter::new(100, 0.5)),
        })
    }

    /// The room as JSON, as the dashboard and `/api/state` show it now.
    pub fn view(&self) -> room::RoomView {
        lock(&self.room).view(now(), self.stuck_after)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A refusal: `{"error": text}` with `status`.
fn refuse(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(ErrorAnswer { error: text.into() })).into_response()
}

/// The server's own failure (its data file, its random source): said on the instructor's
/// terminal, and only that it happened to the attendee (no path of the instructor's).
fn internal(e: &dyn std::fmt::Display) -> Response {
    eprintln!("classroom: {}", crate::ui::safe_text::line(&e.to_string()));
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the classroom server could not keep this (the instructor's terminal says why); it is tried again later",
    )
}

fn too_many(wait: std::time::Duration, what: &str) -> Response {
    let secs = wait.as_secs().max(1);
    let mut r = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        format!("{what}: wait {secs} s and try again"),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// A body that could not be read as JSON: its own status (400 syntax, 413 too large, 415 not
/// JSON, 422 wrong fields) and what was wrong.
fn bad_body(e: JsonRejection, limit: usize) -> Response {
    let status = e.status();
    let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the request body is larger than the {limit} bytes this server accepts")
    } else {
        format!(
            "the request body is not what this server reads: {}",
            e.body_text()
        )
    };
    refuse(status, text)
}

/// Refused while an address has failed too often (wrong codes or tokens).
fn check_failures(c: &Classroom, ip: IpAddr) -> Result<(), Box<Response>> {
    if lock(&c.failures).allows(&ip, Instant::now()) {
        Ok(())
    } else {
        Err(Box::new(too_many(
            std::time::Duration::from_secs(6),
            "too many wrong join codes or tokens from this address",
        )))
    }
}

fn count_failure(c: &Classroom, ip: IpAddr) {
    let _ = lock(&c.failures).take(&ip, Instant::now());
}

async fn join(
    State(c): State<Arc<Classroom>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<JoinRequest>, JsonRejection>,
) -> Response {
    if let Err(r) = check_failures(&c, peer.ip()) {
        return *r;
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e, JOIN_LIMIT),
    };
    if !secret::same(&normalize_code(&req.code), &normalize_code(&c.join_code)) {
        count_failure(&c, peer.ip());
        return refuse(
            StatusCode::UNAUTHORIZED,
            "that join code is not this classroom's: ask the instructor for the code on screen",
        );
    }
    let name = match clean_name(&req.name) {
        Ok(n) => n,
        Err(e) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    if !peer.ip().is_loopback() {
        if let Err(wait) = lock(&c.joins).take(&peer.ip(), Instant::now()) {
            return too_many(wait, "too many joins from this address");
        }
    }
    if lock(&c.room).len() >= MAX_ATTENDEES {
        return refuse(
            StatusCode::FORBIDDEN,
            format!("this classroom is full ({MAX_ATTENDEES} attendees): ask the instructor"),
        );
    }
    let token = match secret::token() {
        Ok(t) => t,
        Err(e) => return internal(&e),
    };
    let hash = token_hash(&token);
    let joined = now();
    let id = match lock(&c.store).add_attendee(&name, &hash, joined) {
        Ok(id) => id,
        Err(e) => return internal(&e),
    };
    lock(&c.tokens).insert(hash, id);
    lock(&c.room).add(Attendee::new(id, name.clone(), joined));
    publish(&c, id, 0);
    Json(JoinAnswer {
        protocol: PROTOCOL,
        attendee: id,
        name,
        token,
    })
    .into_response()
}

/// The attendee a request's `Authorization: Bearer TOKEN` stands for.
fn attendee(c: &Classroom, headers: &HeaderMap, ip: IpAddr) -> Result<u64, Box<Response>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let known = token.and_then(|t| lock(&c.tokens).get(&token_hash(t)).copied());
    if let Some(id) = known {
        return Ok(id);
    }
    // Only requests without a valid token count against the address.
    check_failures(c, ip)?;
    let Some(token) = token else {
        count_failure(c, ip);
        return Err(Box::new(refuse(
            StatusCode::UNAUTHORIZED,
            "no attendee token: join first (`workbook classroom join URL CODE --name NAME`)",
        )));
    };
    let _ = token;
    count_failure(c, ip);
    Err(Box::new(refuse(
        StatusCode::UNAUTHORIZED,
        "this classroom does not know this workspace's token (it left, or the server was \
         started with another data file): `workbook classroom leave`, then join again",
    )))
}

async fn records(
    State(c): State<Arc<Classroom>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Batch>, JsonRejection>,
) -> Response {
    let id = match attendee(&c, &headers, peer.ip()) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    if let Err(wait) = lock(&c.posts).take(&id, Instant::now()) {
        return too_many(wait, "too many posts from this attendee");
    }
    let Json(batch) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e, RECORDS_LIMIT),
    };
    if batch.records.is_empty() || batch.records.len() > MAX_BATCH {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("a post carries 1 to {MAX_BATCH} records"),
        );
    }
    let mut answer = BatchAnswer::default();
    let mut valid = Vec::with_capacity(batch.records.len());
    for r in batch.records {
        match room::validate(&c.exercises, &r) {
            Ok(()) => valid.push(r),
            Err(e) => answer.rejected.push(Rejected {
                seq: r.seq,
                error: e,
            }),
        }
    }
    if valid.is_empty() {
        // Nothing to keep: the first reason is the answer.
        let why = answer.rejected.swap_remove(0).error;
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    if lock(&c.room).records_of(id) + valid.len() as u64 > MAX_RECORDS {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "this attendee has sent {MAX_RECORDS} records, the most a classroom keeps for one"
            ),
        );
    }
    let received = now();
    let fresh = match lock(&c.store).add_records(id, &valid, received) {
        Ok(f) => f,
        Err(e) => return internal(&e),
    };
    {
        let mut room = lock(&c.room);
        for (r, new) in valid.iter().zip(&fresh) {
            if *new {
                room.apply(id, r, received);
                answer.stored.push(r.seq);
            } else {
                answer.duplicates.push(r.seq);
            }
        }
    }
    if !answer.stored.is_empty() {
        let last = answer.stored.iter().copied().max().unwrap_or(0);
        publish(&c, id, last);
    }
    Json(answer).into_response()
}

async fn leave(
    State(c): State<Arc<Classroom>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let id = match attendee(&c, &headers, peer.ip()) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    // The token stops working first; ids are never reused (AUTOINCREMENT).
    lock(&c.tokens).retain(|_, v| *v != id);
    lock(&c.room).remove(id);
    if let Err(e) = lock(&c.store).remove_attendee(id) {
        return internal(&e);
    }
    let _ = c
        .events
        .send(Arc::from(serde_json::json!({"left": id}).to_string()));
    Json(serde_json::json!({"left": id})).into_response()
}

/// Tells the dashboards that attendee `id` changed (`seq`: the last record applied).
fn publish(c: &Classroom, id: u64, seq: u64) {
    if c.events.receiver_count() == 0 {
        return;
    }
    let at = now();
    let (attendee, (hot_steps, done)) = {
        let room = lock(&c.room);
        let Some(a) = room.attendee_view(id, at, c.stuck_after) else {
            return;
        };
        (a, room.summary(at, c.stuck_after))
    };
    let event = serde_json::json!({
        "attendee": attendee,
        "seq": seq,
        "hot_steps": hot_steps,
        "done": done,
        "generated_at": at,
    });
    let _ = c.events.send(Arc::from(event.to_string()));
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

/// The cookie the dashboard's key lives in once the page was opened with `?key=`.
const KEY_COOKIE: &str = "workbook_key";

fn cookie_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(KEY_COOKIE)?.strip_prefix('='))
}

/// The instructor's requests: the key in `?key=` or in the cookie.
fn instructor(c: &Classroom, q: &KeyQuery, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let given = q.key.as_deref().or_else(|| cookie_key(headers));
    match given {
        Some(k) if secret::same(k, &c.key) => Ok(()),
        _ => Err(Box::new(
            (StatusCode::UNAUTHORIZED, Html(dashboard::needs_key())).into_response(),
        )),
    }
}

/// The dashboard. Opened with `?key=`, it keeps the key in a cookie (HttpOnly, this site only)
/// and sends the browser to `/`: the address bar of a projected browser shows no key.
async fn page(
    State(c): State<Arc<Classroom>>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = instructor(&c, &q, &headers) {
        return *r;
    }
    if q.key.is_some() {
        let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{KEY_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
            c.key
        )) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    let mut r = Html(dashboard::page(&c.view(), &c.join_url, &c.join_code)).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'",
        ),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        dashboard::SCRIPT,
    )
        .into_response()
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        dashboard::STYLE,
    )
        .into_response()
}

async fn state(
    State(c): State<Arc<Classroom>>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = instructor(&c, &q, &headers) {
        return *r;
    }
    Json(c.view()).into_response()
}

async fn export_csv(
    State(c): State<Arc<Classroom>>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = instructor(&c, &q, &headers) {
        return *r;
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"classroom.csv\"",
            ),
        ],
        room::csv(&c.view()),
    )
        .into_response()
}

async fn export_json(
    State(c): State<Arc<Classroom>>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = instructor(&c, &q, &headers) {
        return *r;
    }
    (
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"classroom.json\"",
        )],
        Json(c.view()),
    )
        .into_response()
}

async fn events(
    State(c): State<Arc<Classroom>>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = instructor(&c, &q, &headers) {
        return *r;
    }
    let rx = c.events.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(data) => {
                let name = if data.starts_with("{\"left\"") {
                    "left"
                } else {
                    "attendee"
                };
                Event::default().event(name).data(&*data)
            }
            // This dashboard fell behind: it reads the whole room again.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("reload").data("{}")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(event), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn not_found() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "no such page: the dashboard is the address `workbook classroom serve` printed",
    )
}

/// The server's routes.
pub fn app(c: Arc<Classroom>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/dashboard.js", get(script))
        .route("/dashboard.css", get(style))
        .route("/api/state", get(state))
        .route("/events", get(events))
        .route("/export.csv", get(export_csv))
        .route("/export.json", get(export_json))
        .route(
            "/api/join",
            post(join).layer(DefaultBodyLimit::max(JOIN_LIMIT)),
        )
        .route(
            "/api/records",
            post(records).layer(DefaultBodyLimit::max(RECORDS_LIMIT)),
        )
        .route("/api/leave", post(leave))
        .fallback(not_found)
        .with_state(c)
}

/// Serves `c` on `listener` until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, c: Arc<Classroom>) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(c).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
