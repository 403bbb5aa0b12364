//! `workbook classroom join URL CODE --name NAME [--yes]`: says exactly what every grading
//! will send, asks once, joins, and stores the enrolment in the workspace.

use std::path::Path;

use crate::checks::Status;
use crate::classroom::client::{self, Enrolment};
use crate::classroom::http::ServerUrl;
use crate::classroom::record::clean_name;
use crate::commands::context::{confirm, require_workspace, CmdResult};
use crate::curriculum::catalog::Catalog;
use crate::grading::grade::{Report, StepReport};
use crate::ui::output::outln;
use crate::ui::safe_text;

pub struct JoinArgs {
    pub url: String,
    pub code: String,
    pub name: String,
    pub yes: bool,
}

impl JoinArgs {
    pub async fn run(self, cat: &Catalog, explicit: Option<&Path>) -> CmdResult {
        let ws = require_workspace(explicit)?;
        let _lock = ws.lock()?;
        if let Some(e) = Enrolment::load(&ws)? {
            return Err(format!(
                "this workspace has already joined the classroom at {} as \"{}\": run \
                 `workbook classroom leave` first to join another",
                safe_text::line(&e.url),
                safe_text::line(&e.name)
            )
            .into());
        }
        let url = ServerUrl::parse(&self.url)?;
        let name = clean_name(&self.name)?;
        let ex = cat
            .exercises()?
            .first()
            .ok_or("this workbook has no exercises")?;
        let example = Report {
            version: 1,
            exercise: ex.slug.clone(),
            status: Status::Fail,
            steps: ex
                .steps()
                .iter()
                .enumerate()
                .map(|(i, s)| StepReport {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    status: if i == 0 { Status::Pass } else { Status::Fail },
                    message: String::new(),
                })
                .collect(),
        };
        eprintln!(
            "Joining the classroom at {} as \"{}\".",
            url.base(),
            safe_text::line(&name)
        );
        eprintln!(
            "From now on, after each grading (`check`, `next`, `watch`), this workspace sends the \
             instructor one record like this:"
        );
        eprintln!("{}", client::example(&example));
        eprintln!(
            "That is all: the exercise, each step's id and verdict, the hints you used, the \
             workbook's version and the time, with the name above. Never your files, paths, \
             container or volume names, messages, or anything read from Docker. \
             `workbook classroom leave` stops it and asks the server to forget you."
        );
        if !confirm("Join?", self.yes)? {
            eprintln!("Not joined: nothing was sent.");
            return Ok(1);
        }
        let enrolment = client::join(&url, &self.code, &name).await?;
        enrolment.save(&ws)?;
        outln(&format!(
            "Joined the classroom at {} as \"{}\". Your next grading goes to the instructor.",
            url.base(),
            safe_text::line(&enrolment.name)
        ));
        Ok(0)
    }
}
