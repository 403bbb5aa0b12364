//! `workbook classroom leave`: asks the server to forget this attendee and their records, and
//! removes the enrolment (with the records still waiting) from the workspace.

use std::path::Path;

use crate::classroom::client::{self, Enrolment};
use crate::commands::context::{require_workspace, CmdResult};
use crate::ui::output::outln;
use crate::ui::safe_text;

pub async fn run(explicit: Option<&Path>) -> CmdResult {
    let ws = require_workspace(explicit)?;
    // Under the workspace lock: no grading sends while the enrolment goes.
    let _lock = ws.lock()?;
    let e = match Enrolment::load(&ws) {
        Ok(Some(e)) => e,
        Ok(None) => {
            outln("This workspace has not joined a classroom: nothing to leave.");
            return Ok(0);
        }
        Err(err) => {
            client::remove(&ws)?;
            outln(&format!(
                "Removed the enrolment, which could not be read ({}); the server was not told: \
                 it keeps what it had. Nothing is sent any more.",
                safe_text::line(&err.to_string())
            ));
            return Ok(0);
        }
    };
    let url = safe_text::line(&e.url).into_owned();
    let server = match client::forget(&e).await {
        Ok(true) => "the server forgot you and your records".to_string(),
        Ok(false) => "the server did not know this workspace any more".to_string(),
        Err(why) => format!(
            "the server could not be asked to forget you ({}); it keeps what it had",
            safe_text::line(&why)
        ),
    };
    client::remove(&ws)?;
    let waiting = if e.queue.is_empty() {
        String::new()
    } else {
        format!(
            "; {} record{} that had not gone out were discarded",
            e.queue.len(),
            if e.queue.len() == 1 { "" } else { "s" }
        )
    };
    outln(&format!(
        "Left the classroom at {url}: {server}{waiting}. Nothing is sent any more."
    ));
    Ok(0)
}
