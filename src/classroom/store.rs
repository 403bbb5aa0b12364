//! The classroom's state in one SQLite file: the join code, the dashboard's key, the attendees
//! (a name and the SHA-256 of their token, never the token) and every record they sent. Each
//! change is one transaction, so a server that is stopped or killed loses nothing it answered;
//! a restart reads it all back into a [`Room`].

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::classroom::record::Record;
use crate::classroom::room::{Attendee, ExerciseInfo, Room};
use crate::util::error::Result;

/// The file `serve` and `status` use without `--data`, in the folder they run in.
pub const DEFAULT_FILE: &str = "workbook-classroom.sqlite";
const SCHEMA: &str = "1";

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// An attendee as stored.
#[derive(Debug, Clone)]
pub struct StoredAttendee {
    pub id: u64,
    pub name: String,
    pub token_hash: String,
    pub joined_at: u64,
}

/// The SHA-256 of a token, in hex: what the store keeps and looks tokens up by.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sql_error(path: &Path, what: &str, e: rusqlite::Error) -> crate::util::error::Error {
    format!(
        "the classroom's data file {}: cannot {what}: {e}",
        path.display()
    )
    .into()
}

impl Store {
    /// Opens (or creates) the data file and its tables.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| sql_error(path, "open it", e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS attendees (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     name TEXT NOT NULL,
                     token_sha256 TEXT NOT NULL UNIQUE,
                     joined_at INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS records (
                     attendee INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
                     seq INTEGER NOT NULL,
                     exercise TEXT NOT NULL,
                     record TEXT NOT NULL,
                     received_at INTEGER NOT NULL,
                     PRIMARY KEY (attendee, seq));",
            )
            .map_err(|e| sql_error(path, "set up its tables (is it a classroom file?)", e))?;
        match store.meta("schema")? {
            None => store.set_meta("schema", SCHEMA)?,
            Some(v) if v == SCHEMA => {}
            Some(v) => {
                return Err(format!(
                    "the classroom's data file {} has format {v}; this workbook reads format \
                     {SCHEMA}: use the workbook that wrote it, or another --data file",
                    path.display()
                )
                .into())
            }
        }
        Ok(store)
    }

    /// Opens an existing data file without writing to it (`workbook classroom status`, also
    /// while the server runs).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(format!(
                "no classroom data at {}: start one with `workbook classroom serve` in that \
                 folder, or name its file with --data FILE",
                path.display()
            )
            .into());
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sql_error(path, "open it", e))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| sql_error(&self.path, "read it", e))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| sql_error(&self.path, "write it", e))
    }

    /// Adds an attendee; their id.
    pub fn add_attendee(&self, name: &str, token_hash: &str, joined_at: u64) -> Result<u64> {
        self.conn
            .execute(
                "INSERT INTO attendees (name, token_sha256, joined_at) VALUES (?1, ?2, ?3)",
                params![name, token_hash, joined_at as i64],
            )
            .map_err(|e| sql_error(&self.path, "write it", e))?;
        Ok(self.conn.last_insert_rowid() as u64)
    }

    /// Forgets an attendee and every record of theirs.
    pub fn remove_attendee(&self, id: u64) -> Result<()> {
        self.conn
            .execute("DELETE FROM attendees WHERE id = ?1", [id as i64])
            .map(|_| ())
            .map_err(|e| sql_error(&self.path, "write it", e))
    }

    pub fn attendees(&self) -> Result<Vec<StoredAttendee>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, token_sha256, joined_at FROM attendees ORDER BY id")
            .map_err(|e| sql_error(&self.path, "read it", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredAttendee {
                    id: r.get::<_, i64>(0)? as u64,
                    name: r.get(1)?,
                    token_hash: r.get(2)?,
                    joined_at: r.get::<_, i64>(3)? as u64,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| sql_error(&self.path, "read it", e))?;
        Ok(rows)
    }

    /// Keeps the records of attendee `id` received at `received`, in one transaction; for each,
    /// whether it is new (`false`: that attendee's record of that number was already kept).
    pub fn add_records(&mut self, id: u64, records: &[Record], received: u64) -> Result<Vec<bool>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sql_error(&path, "write it", e))?;
        let mut fresh = Vec::with_capacity(records.len());
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO records (attendee, seq, exercise, record, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| sql_error(&path, "write it", e))?;
            for r in records {
                let json = serde_json::to_string(r).unwrap_or_default();
                let n = stmt
                    .execute(params![
                        id as i64,
                        r.seq as i64,
                        r.exercise,
                        json,
                        received as i64
                    ])
                    .map_err(|e| sql_error(&path, "write it", e))?;
                fresh.push(n == 1);
            }
        }
        tx.commit().map_err(|e| sql_error(&path, "write it", e))?;
        Ok(fresh)
    }

    /// How many records are kept.
    pub fn record_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sql_error(&self.path, "read it", e))
    }

    /// The room the file holds: every attendee, every record replayed in order.
    pub fn room(&self, exercises: Vec<ExerciseInfo>) -> Result<Room> {
        let mut room = Room::new(exercises);
        for a in self.attendees()? {
            room.add(Attendee::new(a.id, a.name, a.joined_at));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT attendee, record, received_at FROM records ORDER BY attendee, seq")
            .map_err(|e| sql_error(&self.path, "read it", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .map_err(|e| sql_error(&self.path, "read it", e))?;
        for row in rows {
            let (id, json, received) = row.map_err(|e| sql_error(&self.path, "read it", e))?;
            // A record that no longer parses (written by a later version) is history only.
            if let Ok(r) = serde_json::from_str::<Record>(&json) {
                room.apply(id, &r, received);
            }
        }
        Ok(room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classroom::record::{StepRecord, StepStatus};
    use crate::classroom::room::StepInfo;

    fn exercises() -> Vec<ExerciseInfo> {
        vec![ExerciseInfo {
            slug: "01-a".into(),
            title: "A".into(),
            steps: vec![StepInfo {
                id: "one".into(),
                title: "One".into(),
            }],
        }]
    }

    fn rec(seq: u64, status: StepStatus) -> Record {
        Record {
            seq,
            exercise: "01-a".into(),
            steps: vec![StepRecord {
                id: "one".into(),
                status,
            }],
            hints_used: 0,
            version: "0.1.0".into(),
            graded_at: 100 + seq,
        }
    }

    #[test]
    fn a_reopened_file_holds_everything_and_duplicates_are_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            s.set_meta("join_code", "ABCDEF").unwrap();
            let id = s.add_attendee("Ada", &token_hash("t"), 5).unwrap();
            let fresh = s
                .add_records(id, &[rec(1, StepStatus::Fail), rec(2, StepStatus::Pass)], 9)
                .unwrap();
            assert_eq!(fresh, vec![true, true]);
            let again = s.add_records(id, &[rec(2, StepStatus::Pass)], 10).unwrap();
            assert_eq!(again, vec![false]);
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.meta("join_code").unwrap().as_deref(), Some("ABCDEF"));
        assert_eq!(s.record_count().unwrap(), 2);
        let room = s.room(exercises()).unwrap();
        let v = room.view(20, 600);
        assert_eq!(v.attendees.len(), 1);
        assert_eq!(v.done, vec![1]);
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(ro.attendees().unwrap()[0].token_hash, token_hash("t"));
        s.remove_attendee(1).unwrap();
        assert_eq!(s.record_count().unwrap(), 0);
    }

    #[test]
    fn a_file_that_is_not_a_classroom_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, "not sqlite at all, just text").unwrap();
        let e = Store::open(&path).err().unwrap().to_string();
        assert!(e.contains("classroom's data file"), "{e}");
        assert!(Store::open_read_only(&dir.path().join("none")).is_err());
    }
}
