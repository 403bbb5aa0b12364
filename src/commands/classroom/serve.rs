//! `workbook classroom serve`: opens the classroom (its SQLite file, its join code and
//! dashboard key, made on the first start and kept), listens where it is told, prints the join
//! command for the attendees and the dashboard's address for the instructor, and serves until
//! Ctrl-C. It touches no Docker and needs no root.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;

use console::style;

use crate::classroom::server::{self, Classroom};
use crate::classroom::store::{Store, DEFAULT_FILE};
use crate::classroom::{room, secret};
use crate::commands::context::CmdResult;
use crate::curriculum::catalog::Catalog;
use crate::ui::output::outln;

pub struct ServeArgs {
    pub listen: SocketAddr,
    pub data: Option<PathBuf>,
    pub new_code: bool,
    /// Minutes.
    pub stuck_after: u64,
}

/// This machine's address on its network (the one a route out leaves from; no packet is sent).
fn lan_address() -> Option<IpAddr> {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

fn url_of(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
    }
}

impl ServeArgs {
    pub async fn run(self, cat: &Catalog) -> CmdResult {
        let path = self.data.unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        let store = Store::open(&path)?;
        let fresh = store.meta("join_code")?.is_none();
        if fresh || self.new_code {
            store.set_meta("join_code", &secret::join_code()?)?;
        }
        if store.meta("dashboard_key")?.is_none() {
            store.set_meta("dashboard_key", &secret::key()?)?;
        }
        let room = store.room(super::exercises(cat)?)?;
        let (attendees, records) = (room.len(), store.record_count()?);
        let code = store.meta("join_code")?.unwrap_or_default();
        let key = store.meta("dashboard_key")?.unwrap_or_default();
        let shown = std::fs::canonicalize(&path).unwrap_or(path.clone());
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|e| {
                format!(
                    "cannot listen on {}: {e}. Another program may be there: pick another port \
                     with --listen ADDR:PORT (e.g. --listen 0.0.0.0:7301)",
                    self.listen
                )
            })?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let port = addr.port();
        let (attendee_ip, own_ip) = if addr.ip().is_unspecified() {
            (
                lan_address().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
            )
        } else {
            (addr.ip(), addr.ip())
        };
        let join_url = url_of(attendee_ip, port);
        let classroom = Arc::new(Classroom::new(
            store,
            room,
            self.stuck_after * 60,
            join_url.clone(),
        )?);
        outln(&format!(
            "{} listening on {addr} (data: {}; {} attendee{}, {} record{} kept){}",
            style("Classroom").bold(),
            shown.display(),
            attendees,
            if attendees == 1 { "" } else { "s" },
            records,
            if records == 1 { "" } else { "s" },
            if self.new_code && !fresh {
                "; a new join code: the old one no longer lets anyone join"
            } else {
                ""
            }
        ));
        if addr.ip().is_loopback() {
            outln("Only this machine can reach it (a loopback address): attendees on other machines need --listen 0.0.0.0:PORT.");
        }
        outln("Your dashboard (keep this address to yourself; once opened, the browser can be projected):");
        outln(&format!("    {}/?key={key}", url_of(own_ip, port)));
        outln("Attendees join with:");
        outln(&format!(
            "    workbook classroom join {join_url} {code} --name \"YOUR NAME\""
        ));
        let again = if path.as_os_str() == DEFAULT_FILE {
            String::new()
        } else {
            format!(" --data {}", path.display())
        };
        outln(&format!(
            "Stuck: failing the same step for {} or more. In a terminal: `workbook classroom status{again}`.",
            room::duration(self.stuck_after * 60),
        ));
        outln("Ctrl-C stops it; started again with the same data file, it keeps every attendee and record.");
        let closing = classroom.clone();
        tokio::select! {
            served = server::serve(listener, classroom) => {
                served.map_err(|e| format!("the classroom server stopped: {e}"))?;
            }
            // Ctrl-C is how a classroom ends: every answer given is in the data file already.
            _ = crate::util::signals::shutdown() => {
                let room = closing.view();
                eprintln!(
                    "Classroom closed: {} attendee{} kept in {}; `workbook classroom serve{}` opens it again.",
                    room.attendees.len(),
                    if room.attendees.len() == 1 { "" } else { "s" },
                    shown.display(),
                    again
                );
            }
        }
        Ok(0)
    }
}
