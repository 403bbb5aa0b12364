//! The classroom: an instructor's live view of a workshop, opt-in for every attendee.
//!
//! The attendee's side is [`client`] (the enrolment and the records waiting in the workspace,
//! sent after each grading over [`http`]); the instructor's is [`server`] (axum) over [`store`]
//! (SQLite) and [`room`] (the pure model: cells, who is stuck, the steps the room is on), shown
//! by [`dashboard`]. [`record`] is the wire format both speak; [`limit`] and [`secret`] are the
//! server's rate limits and random secrets.
//!
//! The layer sits under `commands/` and over `lab/`: it reads the learner's progress and the
//! grading's reports, and nothing below it knows it exists.

pub mod client;
pub mod dashboard;
pub mod http;
pub mod limit;
pub mod record;
pub mod room;
pub mod secret;
pub mod server;
pub mod store;
