//! The attendee's side: the enrolment a join stores in the workspace
//! (`.workbook/classroom.json`: the server's address, the attendee token, the records not
//! delivered yet), and the sending after each grading.
//!
//! Sending never slows or changes a grading: it happens after the verdict is recorded, within
//! [`AFTER_GRADING`]; when the server does not answer, the records wait in the file (in order,
//! each numbered, identical runs folded) and go out with a later grading, or with
//! `workbook classroom sync`; for [`BACKOFF`] after a failure no grading even tries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::classroom::http::{self, Failure, ServerUrl};
use crate::classroom::record::{Batch, BatchAnswer, JoinAnswer, JoinRequest, Record, MAX_BATCH};
use crate::grading::grade::Report;
use crate::learner::progress::Progress;
use crate::learner::workspace::{Workspace, STATE_DIR};
use crate::util::clock::now;
use crate::util::error::Result;

const FILE: &str = "classroom.json";
const VERSION: u32 = 1;
/// How long a grading waits for the server.
pub const AFTER_GRADING: Duration = Duration::from_millis(1500);
/// How long `join`, `sync` and `leave` wait.
pub const ASKED: Duration = Duration::from_secs(5);
/// After the server did not answer, gradings queue without trying for this long.
pub const BACKOFF: u64 = 20;
/// At most this many records wait; the oldest go first when more do.
pub const MAX_QUEUE: usize = 2000;

/// A workspace's enrolment in a classroom.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrolment {
    pub version: u32,
    pub url: String,
    pub name: String,
    pub attendee: u64,
    pub token: String,
    pub joined_at: u64,
    /// The number of the next record.
    pub next_seq: u64,
    /// Records not delivered yet, oldest first.
    #[serde(default)]
    pub queue: Vec<Record>,
    /// Unix seconds before which a grading does not try the server.
    #[serde(default)]
    pub retry_after: u64,
    /// Records dropped because the queue was full.
    #[serde(default)]
    pub dropped: u64,
}

pub fn path(ws: &Workspace) -> PathBuf {
    ws.root.join(STATE_DIR).join(FILE)
}

impl Enrolment {
    /// The workspace's enrolment, `None` when it has not joined.
    pub fn load(ws: &Workspace) -> Result<Option<Enrolment>> {
        let p = path(ws);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(crate::util::error::Error::io(
                    format!("cannot read {}", p.display()),
                    e,
                ))
            }
        };
        let e: Enrolment = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is unreadable ({e}): `workbook classroom leave` removes it; then join again",
                p.display()
            )
        })?;
        Ok(Some(e))
    }

    /// Writes it atomically (a file only its owner reads: it holds the token).
    pub fn save(&self, ws: &Workspace) -> Result<()> {
        let p = path(ws);
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::util::fs::write_atomically(&p, &bytes)
            .map_err(|e| crate::util::error::Error::io(format!("cannot write {}", p.display()), e))
    }

    pub fn server(&self) -> Result<ServerUrl> {
        ServerUrl::parse(&self.url).map_err(Into::into)
    }

    /// Queues the record of `report`: a third identical record in a row replaces the second,
    /// so a run of identical gradings keeps its first and last.
    pub fn queue(&mut self, report: &Report, hints_used: u32, at: u64) {
        let r = Record::of(self.next_seq, report, hints_used, at);
        self.next_seq += 1;
        let n = self.queue.len();
        if n >= 2 && self.queue[n - 1].same_verdicts(&r) && self.queue[n - 2].same_verdicts(&r) {
            self.queue[n - 1] = r;
        } else {
            self.queue.push(r);
        }
        if self.queue.len() > MAX_QUEUE {
            let over = self.queue.len() - MAX_QUEUE;
            self.queue.drain(..over);
            self.dropped += over as u64;
        }
    }
}

/// What became of the records after a grading or a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The workspace has not joined a classroom.
    NotEnrolled,
    /// Every record is with the server.
    Sent(usize),
    /// `waiting` records wait in the workspace, because of `why`.
    Queued { waiting: usize, why: String },
    /// The server refused the records for good (`why`); they were dropped, or (a token it
    /// does not know) wait until the attendee joins again.
    Refused { why: String },
}

impl Delivery {
    /// A line for the attendee, or `None` when there is nothing to say.
    pub fn line(&self) -> Option<String> {
        match self {
            Delivery::NotEnrolled | Delivery::Sent(_) => None,
            Delivery::Queued { waiting, why } => Some(format!(
                "classroom: {waiting} record{} wait{} in the workspace ({why}); they go out with a later grading, or now with `workbook classroom sync`",
                if *waiting == 1 { "" } else { "s" },
                if *waiting == 1 { "s" } else { "" },
            )),
            Delivery::Refused { why } => Some(format!("classroom: {why}")),
        }
    }
}

/// The most bytes of records in one post (the server takes 64 KiB).
const BATCH_BYTES: usize = 48 * 1024;

/// The first records of `queue` that make one post: at most [`MAX_BATCH`] and [`BATCH_BYTES`]
/// (always at least one).
fn next_batch(queue: &[Record]) -> usize {
    let mut bytes = 0;
    let mut n = 0;
    for r in queue.iter().take(MAX_BATCH) {
        bytes += serde_json::to_vec(r).map_or(0, |v| v.len()) + 1;
        if n > 0 && bytes > BATCH_BYTES {
            break;
        }
        n += 1;
    }
    n
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Sends what waits, in order, in batches, all within `within`; stops at the first failure.
async fn deliver(e: &mut Enrolment, within: Duration) -> Delivery {
    let url = match e.server() {
        Ok(u) => u,
        Err(err) => {
            return Delivery::Refused {
                why: err.to_string(),
            }
        }
    };
    let deadline = tokio::time::Instant::now() + within;
    let mut sent = 0;
    let mut refused: Vec<String> = Vec::new();
    while !e.queue.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Delivery::Queued {
                waiting: e.queue.len(),
                why: format!(
                    "{sent} sent, the rest did not fit in {} ms",
                    within.as_millis()
                ),
            };
        }
        let n = next_batch(&e.queue);
        let body = serde_json::to_vec(&Batch {
            records: e.queue[..n].to_vec(),
        })
        .unwrap_or_default();
        let answer = match http::post(&url, "/api/records", Some(&e.token), body, left).await {
            Ok(a) => a,
            Err(f) => {
                e.retry_after = now() + BACKOFF;
                let why = match f {
                    Failure::Unreachable(s) | Failure::Garbled(s) => s,
                };
                return Delivery::Queued {
                    waiting: e.queue.len(),
                    why,
                };
            }
        };
        match answer.status.as_u16() {
            200 => {
                let ok: BatchAnswer = serde_json::from_slice(&answer.body).unwrap_or_default();
                let done: std::collections::HashSet<u64> = ok
                    .stored
                    .iter()
                    .chain(&ok.duplicates)
                    .chain(ok.rejected.iter().map(|r| &r.seq))
                    .copied()
                    .collect();
                if let Some(r) = ok.rejected.first() {
                    refused.push(format!(
                        "the server refused {} record{}: {}",
                        ok.rejected.len(),
                        plural(ok.rejected.len()),
                        crate::ui::safe_text::line(&r.error)
                    ));
                }
                let before = e.queue.len();
                e.queue.retain(|r| !done.contains(&r.seq));
                sent += before - e.queue.len();
                if before == e.queue.len() {
                    // An answer that acknowledged nothing: try again later rather than loop.
                    e.retry_after = now() + BACKOFF;
                    return Delivery::Queued {
                        waiting: e.queue.len(),
                        why: "the server acknowledged none of them".into(),
                    };
                }
                e.retry_after = 0;
            }
            429 => {
                e.retry_after = now() + answer.retry_after.unwrap_or(BACKOFF).clamp(1, 600);
                return Delivery::Queued {
                    waiting: e.queue.len(),
                    why: answer.error_text(),
                };
            }
            401 => {
                e.retry_after = now() + BACKOFF;
                return Delivery::Refused {
                    why: format!(
                        "{} ({} record{} waiting)",
                        answer.error_text(),
                        e.queue.len(),
                        plural(e.queue.len())
                    ),
                };
            }
            // Records this server can never take (another pack, a classroom that keeps no more):
            // they are dropped, and the attendee is told why.
            400 | 403 | 413 | 422 => {
                let dropped = e.queue.drain(..n).count();
                refused.push(format!(
                    "the server refused {dropped} record{}: {}",
                    plural(dropped),
                    answer.error_text()
                ));
            }
            _ => {
                e.retry_after = now() + BACKOFF;
                return Delivery::Queued {
                    waiting: e.queue.len(),
                    why: answer.error_text(),
                };
            }
        }
    }
    match refused.into_iter().next() {
        Some(why) => Delivery::Refused { why },
        None => Delivery::Sent(sent),
    }
}

/// After a grading: queues a record per report and sends what waits, unless the server failed
/// moments ago. The caller holds the workspace lock. Never an error: what went wrong is the
/// [`Delivery`].
pub async fn after_grading(ws: &Workspace, progress: &Progress, reports: &[&Report]) -> Delivery {
    let mut e = match Enrolment::load(ws) {
        Ok(Some(e)) => e,
        Ok(None) => return Delivery::NotEnrolled,
        Err(err) => {
            return Delivery::Refused {
                why: err.to_string(),
            }
        }
    };
    let at = now();
    for r in reports {
        let hints = progress.exercise(&r.exercise).map_or(0, |p| p.hints_used);
        e.queue(r, hints, at);
    }
    let d = if at < e.retry_after {
        Delivery::Queued {
            waiting: e.queue.len(),
            why: "the server did not answer, or asked to wait, moments ago".into(),
        }
    } else {
        deliver(&mut e, AFTER_GRADING).await
    };
    if let Err(err) = e.save(ws) {
        return Delivery::Refused {
            why: err.to_string(),
        };
    }
    d
}

/// Sends what waits now (`workbook classroom sync`).
pub async fn sync(ws: &Workspace) -> Result<(Enrolment, Delivery)> {
    let Some(mut e) = Enrolment::load(ws)? else {
        return Ok((dummy(), Delivery::NotEnrolled));
    };
    let d = deliver(&mut e, ASKED).await;
    e.save(ws)?;
    Ok((e, d))
}

fn dummy() -> Enrolment {
    Enrolment {
        version: VERSION,
        url: String::new(),
        name: String::new(),
        attendee: 0,
        token: String::new(),
        joined_at: 0,
        next_seq: 1,
        queue: Vec::new(),
        retry_after: 0,
        dropped: 0,
    }
}

/// Joins the classroom at `url` with `code` as `name`: the enrolment to store.
pub async fn join(url: &ServerUrl, code: &str, name: &str) -> Result<Enrolment> {
    let body = serde_json::to_vec(&JoinRequest {
        code: code.to_string(),
        name: name.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
    .unwrap_or_default();
    let answer = http::post(url, "/api/join", None, body, ASKED)
        .await
        .map_err(|f| {
            format!(
                "{f}. Is `workbook classroom serve` running there, and is this the address it \
                 printed? (Both machines must be on the same network.)"
            )
        })?;
    if answer.status != hyper::StatusCode::OK {
        return Err(format!(
            "the classroom at {} refused the join: {}",
            url.base(),
            answer.error_text()
        )
        .into());
    }
    let a: JoinAnswer = serde_json::from_slice(&answer.body).map_err(|e| {
        format!(
            "{} answered, but not as a workbook classroom ({e}): is it the address \
             `workbook classroom serve` printed?",
            url.base()
        )
    })?;
    Ok(Enrolment {
        version: VERSION,
        url: url.base(),
        name: a.name,
        attendee: a.attendee,
        token: a.token,
        joined_at: now(),
        next_seq: 1,
        queue: Vec::new(),
        retry_after: 0,
        dropped: 0,
    })
}

/// Asks the server to forget this attendee: `Ok(true)` when it did, `Ok(false)` when it did
/// not know the token, `Err` when it could not be asked.
pub async fn forget(e: &Enrolment) -> std::result::Result<bool, String> {
    let url = e.server().map_err(|e| e.to_string())?;
    let a = http::post(&url, "/api/leave", Some(&e.token), b"{}".to_vec(), ASKED)
        .await
        .map_err(|f| f.to_string())?;
    match a.status.as_u16() {
        200 => Ok(true),
        401 => Ok(false),
        _ => Err(a.error_text()),
    }
}

/// Removes the enrolment file.
pub fn remove(ws: &Workspace) -> Result<bool> {
    let p: &Path = &path(ws);
    match std::fs::remove_file(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::util::error::Error::io(
            format!("cannot remove {}", p.display()),
            e,
        )),
    }
}

/// A record as `join` shows it before asking: what every grading will send.
pub fn example(report: &Report) -> String {
    serde_json::to_string_pretty(&Record::of(1, report, 0, now())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::grading::grade::StepReport;

    fn report(status: Status) -> Report {
        Report {
            version: 1,
            exercise: "01-a".into(),
            status,
            steps: vec![StepReport {
                id: "one".into(),
                title: "One".into(),
                status,
                message: "the volume ml-data at /var/lib/secret".into(),
            }],
        }
    }

    #[test]
    fn identical_runs_fold_to_their_first_and_last() {
        let mut e = dummy();
        for at in 1..=5 {
            e.queue(&report(Status::Fail), 0, at);
        }
        e.queue(&report(Status::Pass), 0, 6);
        let seen: Vec<(u64, u64)> = e.queue.iter().map(|r| (r.seq, r.graded_at)).collect();
        assert_eq!(seen, vec![(1, 1), (5, 5), (6, 6)]);
        assert_eq!(e.next_seq, 7);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut e = dummy();
        for i in 0..(MAX_QUEUE as u64 + 10) {
            e.queue(
                &report(if i % 2 == 0 {
                    Status::Pass
                } else {
                    Status::Fail
                }),
                0,
                i,
            );
        }
        assert_eq!(e.queue.len(), MAX_QUEUE);
        assert_eq!(e.dropped, 10);
        assert_eq!(e.queue[0].seq, 11);
    }

    #[test]
    fn a_record_carries_no_message_nor_name() {
        let text = example(&report(Status::Fail));
        assert!(
            !text.contains("ml-data") && !text.contains("/var/lib"),
            "{text}"
        );
        assert!(text.contains("\"status\": \"fail\""));
    }
}
