//! `workbook classroom sync`: sends the records waiting in the workspace now (they also go
//! out with the next grading). Exit 0 when none wait, 1 when some still do.

use std::path::Path;

use crate::classroom::client::{self, Delivery};
use crate::commands::context::{require_workspace, CmdResult};
use crate::ui::output::outln;
use crate::ui::safe_text;

pub async fn run(explicit: Option<&Path>) -> CmdResult {
    let ws = require_workspace(explicit)?;
    // Under the workspace lock, as after a grading: the queue has one writer at a time.
    let _lock = ws.lock()?;
    let (e, d) = client::sync(&ws).await?;
    let url = safe_text::line(&e.url).into_owned();
    match d {
        Delivery::NotEnrolled => Err(
            "this workspace has not joined a classroom: `workbook classroom join URL CODE --name NAME`"
                .into(),
        ),
        Delivery::Sent(0) => {
            outln(&format!("Nothing waits: the classroom at {url} has every record."));
            Ok(0)
        }
        Delivery::Sent(n) => {
            outln(&format!(
                "Sent {n} record{} to the classroom at {url}; nothing waits.",
                if n == 1 { "" } else { "s" }
            ));
            Ok(0)
        }
        other => {
            if let Some(line) = other.line() {
                outln(&safe_text::line(&line));
            }
            Ok(i32::from(!e.queue.is_empty()))
        }
    }
}
