//! `kind = "sql-dump"`: a file in the exercise folder is a plain-SQL `pg_dump` of a database
//! holding a table and its rows. The file is read as data (its header, the table's definition,
//! the rows of its `COPY` block or `INSERT`s), never run.

use crate::util::error::Result;
use std::io::Read;

use serde::Deserialize;

use super::{Judged, Kind, Verdict};
use crate::checks::snapshot::{Needs, Snapshot};
use crate::util::hostfile::{self, Refusal};

/// A dump bigger than this is not read further (the lessons' dumps are a few KiB).
const READ_LIMIT: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlDump {
    /// Relative to the exercise folder.
    pub path: String,
    /// The compose service running the database (for the command in a fix).
    pub service: String,
    pub database: String,
    #[serde(default = "postgres")]
    pub user: String,
    /// The table (in schema `public`) the dump must define.
    pub table: String,
    /// Rows the table must hold: the values of its first columns, as `psql` prints them.
    #[serde(default)]
    pub rows: Vec<Vec<String>>,
}

fn postgres() -> String {
    "postgres".to_string()
}

impl Kind for SqlDump {
    fn validate(&self) -> Result<()> {
        if self.path.starts_with('/') || self.path.split('/').any(|p| p == "..") {
            return Err(format!(
                "sql-dump path `{}` must stay inside the exercise folder",
                self.path
            )
            .into());
        }
        Ok(())
    }

    // The dump reaches this machine through `exec`'s output and the learner's shell: a remote
    // engine that sees none of this machine's files grades it all the same.

    fn needs(&self, _needs: &mut Needs) {}

    fn judge(&self, snap: &Snapshot) -> Judged {
        let path = &self.path;
        let expected = format!(
            "{path}: a plain-SQL pg_dump of database {} with table {} and its rows",
            self.database, self.table
        );
        let mut bytes = Vec::new();
        let read = hostfile::open(&snap.exercise_dir, path).and_then(|f| {
            f.file
                .take(READ_LIMIT)
                .read_to_end(&mut bytes)
                .map_err(Refusal::Io)
        });
        match read {
            Ok(_) => {}
            Err(Refusal::Missing) => {
                return Ok(Verdict::fail(
                    expected,
                    format!("{path} does not exist"),
                    format!("in this folder: `{}`", self.command()),
                ))
            }
            Err(Refusal::Io(e)) => {
                return Ok(Verdict::error(format!("cannot read {path}: {e}")));
            }
            Err(r) => {
                return Ok(Verdict::fail(
                    expected,
                    r.found(path, &snap.exercise_dir),
                    r.fix(),
                ))
            }
        }
        Ok(match self.problem(&bytes) {
            None => Verdict::pass(format!(
                "{path} is a pg_dump of {} with table {} and its {}",
                self.database,
                self.table,
                crate::ui::count::count(self.rows.len() as u64, "row")
            )),
            Some((found, fix)) => Verdict::fail(expected, found, fix),
        })
    }
}

impl SqlDump {
    fn command(&self) -> String {
        format!(
            "docker compose exec -T {} pg_dump -U {} {} > {}",
            self.service, self.user, self.database, self.path
        )
    }

    /// What is wrong with the file's bytes (what was found, how to fix it), if anything.
    fn problem(&self, bytes: &[u8]) -> Option<(String, String)> {
        let path = &self.path;
        let again = format!("Make it again: `{}`", self.command());
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Some((
                format!("{path} is empty: pg_dump wrote nothing into it"),
                format!(
                    "the shell creates the file before the command runs, so a failed pg_dump \
                     leaves it empty; its error went to your terminal (often `role \"root\" does not \
                     exist`: name the user with `-U {}`; or `database … does not exist`). {again}",
                    self.user
                ),
            ));
        }
        if bytes.starts_with(b"PGDMP") {
            return Some((
                format!("{path} is a pg_dump archive in custom format (`-Fc`), not plain SQL"),
                format!(
                    "a custom-format archive is a backup too, but only `pg_restore` reads it; \
                     this step asks for plain SQL, which `psql` loads, so leave out `-Fc`. {again}"
                ),
            ));
        }
        let text = String::from_utf8_lossy(bytes);
        if text.contains("\r\n") {
            return Some((
                format!("{path} has Windows line endings (\\r\\n)"),
                format!(
                    "Compose gave `exec` a terminal (a TTY), which turns every line ending into \
                     \\r\\n; `psql` would then not load the rows. `-T` runs it without one. {again}"
                ),
            ));
        }
        let head: Vec<&str> = text.lines().take(40).collect();
        if !head
            .iter()
            .any(|l| l.trim() == "-- PostgreSQL database dump")
        {
            if head
                .iter()
                .any(|l| l.trim() == "-- PostgreSQL database cluster dump")
            {
                return Some((
                    format!("{path} is a dump of the whole server (`pg_dumpall`)"),
                    format!(
                        "this step asks for one database, {}, dumped with `pg_dump`. {again}",
                        self.database
                    ),
                ));
            }
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let first: String = crate::ui::safe_text::line(first)
                .chars()
                .take(120)
                .collect();
            return Some((
                format!("{path} is not pg_dump's output: it begins with `{first}`"),
                format!("an error message or another program's output went into the file. {again}"),
            ));
        }
        let table = &self.table;
        let defines = text.lines().any(|l| {
            let l = l.trim();
            l.starts_with(&format!("CREATE TABLE public.{table} ("))
                || l.starts_with(&format!("CREATE TABLE {table} ("))
        });
        if !defines {
            return Some((
                format!("{path} is a dump, but no table {table} is in it"),
                format!(
                    "it is a dump of another database, or of {} before the table was made. \
                     pg_dump dumps the database you name, and without a name the one named like \
                     the user (`postgres`), so name {}. {again}",
                    self.database, self.database
                ),
            ));
        }
        let held = rows_of(&text, table);
        let missing: Vec<&Vec<String>> = self
            .rows
            .iter()
            .filter(|want| !held.iter().any(|row| row.starts_with(want)))
            .collect();
        if !missing.is_empty() {
            let shown: Vec<String> = missing
                .iter()
                .map(|r| format!("({})", r.join(", ")))
                .collect();
            let found = if held.is_empty() {
                format!("{path} defines {table} but holds none of its rows")
            } else {
                format!(
                    "{path} holds {} of {table} but not {}",
                    crate::ui::count::count(held.len() as u64, "row"),
                    shown.join(", ")
                )
            };
            return Some((
                found,
                format!(
                    "a dump holds what the table held when it was made: insert the rows first \
                     (step 2), and dump the data as well as the schema (no `--schema-only`/`-s`). {again}"
                ),
            ));
        }
        None
    }
}

/// The rows of `table` in a dump: the lines of its `COPY … FROM stdin;` block (tab-separated),
/// or the values of its `INSERT INTO` statements (`--inserts`).
fn rows_of(text: &str, table: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let copy = [
        format!("COPY public.{table} "),
        format!("COPY public.{table}("),
        format!("COPY {table} "),
    ];
    let insert = [
        format!("INSERT INTO public.{table} "),
        format!("INSERT INTO {table} "),
    ];
    let mut in_copy = false;
    for line in text.lines() {
        if in_copy {
            if line == "\\." {
                in_copy = false;
            } else {
                rows.push(line.split('\t').map(str::to_string).collect());
            }
            continue;
        }
        if copy.iter().any(|c| line.starts_with(c.as_str())) && line.ends_with("FROM stdin;") {
            in_copy = true;
        } else if insert.iter().any(|i| line.starts_with(i.as_str())) {
            if let Some(values) = line
                .split_once("VALUES (")
                .and_then(|(_, v)| v.strip_suffix(");"))
            {
                rows.push(sql_values(values));
            }
        }
    }
    rows
}

/// `1, 'it''s', 0.81, NULL` → `1`, `it's`, `0.81`, `NULL`.
fn sql_values(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                cur.push('\'');
                chars.next();
            }
            '\'' => quoted = !quoted,
            ',' if !quoted => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> SqlDump {
        SqlDump {
            path: "backup.sql".into(),
            service: "db".into(),
            database: "experiments".into(),
            user: "postgres".into(),
            table: "runs".into(),
            rows: vec![
                vec!["1".into(), "baseline".into(), "0.81".into()],
                vec!["2".into(), "it's".into(), "0.86".into()],
            ],
        }
    }

    const DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET statement_timeout = 0;\n\
        CREATE TABLE public.runs (\n    id integer NOT NULL,\n    model text NOT NULL\n);\n\n\
        COPY public.runs (id, model, accuracy, created_at) FROM stdin;\n\
        1\tbaseline\t0.81\t2026-12-02 17:51:15.1+00\n2\tit's\t0.86\t2026-12-02 17:51:15.1+00\n\\.\n";

    #[test]
    fn a_plain_dump_with_the_rows_passes() {
        assert_eq!(check().problem(DUMP.as_bytes()), None);
        let inserts = DUMP.replace(
            "COPY public.runs (id, model, accuracy, created_at) FROM stdin;\n1\tbaseline\t0.81\t2026-12-02 17:51:15.1+00\n2\tit's\t0.86\t2026-12-02 17:51:15.1+00\n\\.\n",
            "INSERT INTO public.runs VALUES (1, 'baseline', 0.81, '2026-12-02');\nINSERT INTO public.runs VALUES (2, 'it''s', 0.86, '2026-12-02');\n",
        );
        assert_eq!(check().problem(inserts.as_bytes()), None);
    }

    #[test]
    fn each_wrong_dump_gets_its_cause() {
        let found = |bytes: &[u8]| check().problem(bytes).expect("a problem");
        let (f, fix) = found(b"");
        assert!(
            f.contains("is empty") && fix.contains("-U postgres"),
            "{fix}"
        );
        assert!(found(b"PGDMP\x01\x0e").0.contains("custom format"));
        let (f, fix) = found(DUMP.replace('\n', "\r\n").as_bytes());
        assert!(
            f.contains("Windows line endings") && fix.contains("exec -T db"),
            "{fix}"
        );
        let (f, _) = found(b"-- PostgreSQL database cluster dump\n");
        assert!(f.contains("pg_dumpall"));
        let (f, _) = found(b"service \"db\" is not running\n\x1b[31m");
        assert!(
            f.contains("begins with `service \"db\" is not running`"),
            "{f}"
        );
        let other = "--\n-- PostgreSQL database dump\n--\nSET x = 1;\n";
        let (f, fix) = found(other.as_bytes());
        assert!(
            f.contains("no table runs") && fix.contains("without a name"),
            "{fix}"
        );
        let schema_only = DUMP.split("COPY").next().unwrap();
        assert!(found(schema_only.as_bytes())
            .0
            .contains("holds none of its rows"));
        let one_row = DUMP.replace("2\tit's\t0.86\t2026-12-02 17:51:15.1+00\n", "");
        let (f, _) = found(one_row.as_bytes());
        assert!(
            f.contains("holds 1 row of runs but not (2, it's, 0.86)"),
            "{f}"
        );
    }

    #[test]
    fn sql_values_are_split_outside_quotes() {
        assert_eq!(
            sql_values("1, 'a, b', 'it''s', NULL"),
            vec!["1", "a, b", "it's", "NULL"]
        );
    }
}
