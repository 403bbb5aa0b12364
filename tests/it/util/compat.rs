//! `docs/compatibility.md`, the committed table of which exercise verifies on which stack, as a
//! contract of the tests that measure it: each stack's test turns its `workbook verify --json`
//! verdicts into cells ([`cell`]) and compares them with its column ([`expect_column`],
//! [`expect_cells`]), failing with every cell that differs; with `WORKBOOK_BLESS=1` it rewrites
//! its own cells instead and leaves the rest of the file as it was.
//!
//! The table is plain Markdown: a header row (`exercise`, then one column per stack), the
//! separator, a row `engine` (what the column was measured on) and one row per exercise.
//! Everything before and after the table is kept as written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

/// The columns, one per stack, in the doc's order.
pub const DOCKER_COMPOSE_V1: &str = "Docker + Compose v1";
pub const DOCKER_COMPOSE_V2: &str = "Docker + Compose v2";
pub const PODMAN_COMPOSE_V1: &str = "Podman + Compose v1";
pub const COLUMNS: [&str; 3] = [DOCKER_COMPOSE_V1, DOCKER_COMPOSE_V2, PODMAN_COMPOSE_V1];

/// The first header cell, and the row naming the engine each column was measured on.
pub const KEY_HEADER: &str = "exercise";
pub const ENGINE_ROW: &str = "engine";

/// The cell of an exercise a stack's test does not run.
pub const NOT_COVERED: &str = "not covered: uses no Compose";

/// Tests that bless run in parallel threads (the Podman one without the daemon's lock): one
/// read-modify-write of the file at a time.
static FILE: Mutex<()> = Mutex::new(());

pub fn path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/compatibility.md"
    ))
}

/// The doc: the text around the table, and the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    before: String,
    pub header: Vec<String>,
    /// Each row's cells, the row's key (`engine`, an exercise's slug) first.
    pub rows: Vec<Vec<String>>,
    after: String,
}

/// One row of a Markdown table, unescaped: `| a | b \| c |` is `["a", "b | c"]`.
fn split_row(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?;
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => {
                cells.push(cell.trim().to_string());
                cell.clear();
                closed = true;
            }
            c => {
                cell.push(c);
                closed = false;
            }
        }
    }
    if !closed {
        return None;
    }
    Some(cells)
}

fn escape(cell: &str) -> String {
    cell.replace('|', "\\|")
}

fn is_separator(cells: &[String]) -> bool {
    cells.iter().all(|c| {
        let c = c.trim_matches(':');
        !c.is_empty() && c.chars().all(|ch| ch == '-')
    })
}

/// The doc's text split into the text before the table, the table and the text after; an error
/// says what is wrong and where (line numbers from 1).
pub fn parse(text: &str) -> Result<Doc, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with('|'))
        .ok_or("no table (no line starts with `|`)")?;
    let end = lines[start..]
        .iter()
        .position(|l| !l.trim_start().starts_with('|'))
        .map_or(lines.len(), |n| start + n);
    let mut table = Vec::new();
    for (i, line) in lines[start..end].iter().enumerate() {
        let cells = split_row(line)
            .ok_or_else(|| format!("line {}: a table row must end with `|`", start + i + 1))?;
        table.push(cells);
    }
    if table.len() < 2 || !is_separator(&table[1]) {
        return Err(format!(
            "line {}: the table's second row must be its separator (`|---|---|`)",
            start + 2
        ));
    }
    let header = table.remove(0);
    table.remove(0);
    if header.first().map(String::as_str) != Some(KEY_HEADER) {
        return Err(format!(
            "line {}: the table's first header cell must be `{KEY_HEADER}`",
            start + 1
        ));
    }
    for (i, row) in table.iter().enumerate() {
        if row.len() != header.len() {
            return Err(format!(
                "line {}: {} cells, the header has {}",
                start + 3 + i,
                row.len(),
                header.len()
            ));
        }
    }
    if let Some(more) = lines[end..]
        .iter()
        .position(|l| l.trim_start().starts_with('|'))
    {
        return Err(format!(
            "line {}: a second table; the doc has one",
            end + more + 1
        ));
    }
    Ok(Doc {
        before: lines[..start].concat(),
        header,
        rows: table,
        after: lines[end..].concat(),
    })
}

/// The doc's text: what [`parse`] read, with the table written back from its cells.
pub fn render(doc: &Doc) -> String {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = doc.before.clone();
    out.push_str(&row(&doc.header));
    out.push_str(&format!("|{}\n", "---|".repeat(doc.header.len())));
    for r in &doc.rows {
        out.push_str(&row(r));
    }
    out.push_str(&doc.after);
    out
}

impl Doc {
    fn column_index(&self, column: &str) -> Result<usize, String> {
        self.header
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| format!("no column `{column}` (the header is {:?})", self.header))
    }

    /// The cells of `column`, by row key.
    pub fn column(&self, column: &str) -> Result<BTreeMap<String, String>, String> {
        let i = self.column_index(column)?;
        Ok(self
            .rows
            .iter()
            .map(|r| (r[0].clone(), r[i].clone()))
            .collect())
    }

    /// Sets a cell, adding its row (empty elsewhere) when there is none.
    pub fn set(&mut self, column: &str, row: &str, value: &str) -> Result<(), String> {
        let i = self.column_index(column)?;
        let width = self.header.len();
        let r = match self.rows.iter().position(|r| r[0] == row) {
            Some(r) => r,
            None => {
                let mut new = vec![String::new(); width];
                new[0] = row.to_string();
                self.rows.push(new);
                self.rows.len() - 1
            }
        };
        self.rows[r][i] = value.to_string();
        Ok(())
    }
}

/// Why a step is not available, short enough for a cell: the engine's name (the `engine` row
/// has it) and everything after the first clause (the quoted error, what to do instead) left
/// out. "not available on Podman 4.3.1: it refuses a size on a local volume (\"…\") unless…" is
/// "it refuses a size on a local volume".
pub fn short_why(why: &str, engine: &str) -> String {
    let why = why.replace('\n', " ");
    let why = why
        .strip_prefix(&format!("not available on {engine}: "))
        .unwrap_or(&why);
    let end = [" (", ". ", "; "]
        .iter()
        .filter_map(|p| why.find(p))
        .min()
        .unwrap_or(why.len());
    why[..end].trim_end_matches('.').trim().to_string()
}

/// The cell of one exercise's verdict (an element of `verify --json`'s `exercises`):
/// "verified", "verified; step ramdisk not available: it refuses a size on a local volume", or
/// "not verified: N problem(s)".
pub fn cell(verdict: &Value) -> String {
    let problems = verdict["problems"].as_array().map_or(0, Vec::len);
    if problems > 0 {
        return format!("not verified: {problems} problem(s)");
    }
    let engine = verdict["engine"].as_str().unwrap_or_default();
    let mut out = "verified".to_string();
    for u in verdict["unavailable"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "; step {} not available: {}",
            u["step"].as_str().unwrap_or_default(),
            short_why(u["why"].as_str().unwrap_or_default(), engine)
        ));
    }
    out
}

/// The steps a cell says are not available: "…; step X not available: …" is `["X"]`.
pub fn unavailable_steps(cell: &str) -> Vec<String> {
    cell.split("; ")
        .filter_map(|part| part.strip_prefix("step "))
        .filter_map(|rest| rest.split_once(" not available"))
        .map(|(step, _)| step.to_string())
        .collect()
}

/// Whether this run rewrites the columns it measures (`WORKBOOK_BLESS=1`) instead of comparing.
pub fn blessing() -> bool {
    std::env::var("WORKBOOK_BLESS").is_ok_and(|v| v == "1")
}

fn read(path: &Path) -> Result<Doc, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The committed doc (for tests that read it without measuring).
pub fn committed() -> Doc {
    let _file = FILE.lock().unwrap_or_else(|e| e.into_inner());
    read(&path()).unwrap_or_else(|e| panic!("{e}"))
}

/// Which rows of a column a test measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Only these (the others are another test's).
    These,
    /// All of them: a committed row that was not measured is a difference too.
    All,
}

/// Compares `measured` with `column` of the doc at `path`, or with `bless` writes it there
/// instead. The error lists every cell that differs, and how to rewrite the column.
pub fn compare(
    path: &Path,
    bless: bool,
    column: &str,
    measured: &[(String, String)],
    rows: Rows,
    rerun: &str,
) -> Result<(), String> {
    let _file = FILE.lock().unwrap_or_else(|e| e.into_inner());
    let mut doc = read(path)?;
    let committed = doc.column(column)?;
    if bless {
        for (row, value) in measured {
            doc.set(column, row, value)?;
        }
        std::fs::write(path, render(&doc)).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("blessed: column `{column}` of {}", path.display());
        return Ok(());
    }
    let mut diff: Vec<String> = measured
        .iter()
        .filter(|(row, value)| committed.get(row) != Some(value))
        .map(|(row, value)| {
            let was = committed.get(row).map_or("(no such row)", String::as_str);
            format!("  row {row}:\n    committed: {was}\n    measured:  {value}")
        })
        .collect();
    if rows == Rows::All {
        diff.extend(
            committed
                .iter()
                .filter(|(row, _)| !measured.iter().any(|(m, _)| m == *row))
                .map(|(row, was)| {
                    format!("  row {row}:\n    committed: {was}\n    measured:  (not measured)")
                }),
        );
    }
    if diff.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}, column `{column}`, differs from what this run measured:\n{}\n\
         If the change is intended, rewrite the column: WORKBOOK_BLESS=1 {rerun}",
        path.display(),
        diff.join("\n")
    ))
}

/// `measured`'s cells of `column` must be the committed ones (other rows are not compared); with
/// `WORKBOOK_BLESS=1` they are written instead. `rerun` is the command that measures the
/// column, for the message.
pub fn expect_cells(column: &str, measured: &[(String, String)], rerun: &str) {
    compare(&path(), blessing(), column, measured, Rows::These, rerun)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The whole of `column` must be `measured`: every row, none missing, none more.
pub fn expect_column(column: &str, measured: &[(String, String)], rerun: &str) {
    compare(&path(), blessing(), column, measured, Rows::All, rerun)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Title\n\nSome text | with a pipe.\n\n\
        | exercise | A | B |\n\
        |---|:---:|---|\n\
        | engine | Docker Engine 20.10.24 | Podman 4.3.1 |\n\
        | 01-x | verified | verified; step s not available: a \\| b |\n\
        \nAfter.\n";

    #[test]
    fn the_parser_reads_the_table_and_render_gives_it_back() {
        let doc = parse(SAMPLE).unwrap();
        assert_eq!(doc.header, ["exercise", "A", "B"]);
        assert_eq!(doc.rows.len(), 2);
        assert_eq!(doc.rows[1][2], "verified; step s not available: a | b");
        assert_eq!(doc.column("A").unwrap()["engine"], "Docker Engine 20.10.24");
        // The text around the table is kept; the separator is written in one form.
        let again = render(&doc);
        assert!(again.starts_with("# Title\n\nSome text | with a pipe.\n\n| exercise | A | B |\n"));
        assert!(again.contains("|---|---|---|\n"), "{again}");
        assert!(again.ends_with("\nAfter.\n"), "{again}");
        assert_eq!(parse(&again).unwrap(), doc);
    }

    #[test]
    fn setting_a_cell_changes_that_cell_only_and_adds_a_missing_row() {
        let mut doc = parse(SAMPLE).unwrap();
        doc.set("B", "01-x", "verified").unwrap();
        doc.set("A", "02-y", "verified").unwrap();
        assert_eq!(doc.rows[1], ["01-x", "verified", "verified"]);
        assert_eq!(doc.rows[2], ["02-y", "verified", ""]);
        assert!(doc.set("C", "01-x", "verified").is_err());
        let text = render(&doc);
        assert!(text.contains("| 02-y | verified |  |\n"), "{text}");
    }

    #[test]
    fn the_parser_says_what_is_wrong() {
        let e = parse("no table\n").unwrap_err();
        assert!(e.contains("no table"), "{e}");
        let e = parse("| exercise | A |\n| engine | x |\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("separator"), "{e}");
        let e = parse("| exercise | A |\n|---|---|\n| 01 | a | b |\n").unwrap_err();
        assert!(e.contains("line 3: 3 cells, the header has 2"), "{e}");
        let e = parse("| exercise | A |\n|---|---|\n| 01 | a\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("end with"), "{e}");
        let e = parse("| slug | A |\n|---|---|\n").unwrap_err();
        assert!(e.contains("`exercise`"), "{e}");
        let e = parse("| exercise | A |\n|---|---|\n\n| exercise | A |\n|---|---|\n").unwrap_err();
        assert!(e.contains("line 4") && e.contains("second table"), "{e}");
    }

    #[test]
    fn a_verdict_becomes_its_cell() {
        let ok = serde_json::json!({"engine": "Docker Engine 20.10.24", "problems": [], "unavailable": []});
        assert_eq!(cell(&ok), "verified");
        let ramdisk = serde_json::json!({
            "engine": "Podman 4.3.1",
            "problems": [],
            "unavailable": [{"step": "ramdisk", "why": "not available on Podman 4.3.1: it refuses a size on a local volume (\"volume options size and inodes not supported. Filesystem does not support Project Quota\") unless its storage is on XFS. Instead, …"}],
        });
        let c = cell(&ramdisk);
        assert_eq!(
            c,
            "verified; step ramdisk not available: it refuses a size on a local volume"
        );
        assert_eq!(unavailable_steps(&c), ["ramdisk"]);
        assert!(unavailable_steps("verified").is_empty());
        let remote =
            "cannot be graded on a remote engine: the marker is not there. This step needs…";
        assert_eq!(
            short_why(remote, "Docker Engine 20.10.24"),
            "cannot be graded on a remote engine: the marker is not there"
        );
        let bad = serde_json::json!({"engine": "x", "problems": ["a", "b"], "unavailable": []});
        assert_eq!(cell(&bad), "not verified: 2 problem(s)");
    }

    #[test]
    fn compare_lists_every_differing_cell_and_bless_rewrites_only_its_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("compatibility.md");
        std::fs::write(&p, SAMPLE).unwrap();
        let m = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let same = m(&[
            ("engine", "Podman 4.3.1"),
            ("01-x", "verified; step s not available: a | b"),
        ]);
        compare(&p, false, "B", &same, Rows::All, "cargo test").unwrap();
        // A cell that differs, and (whole column) a committed row that was not measured.
        let e = compare(
            &p,
            false,
            "B",
            &m(&[("01-x", "verified")]),
            Rows::All,
            "cargo test -- b::",
        )
        .unwrap_err();
        assert!(
            e.contains("column `B`")
                && e.contains("row 01-x:\n    committed: verified; step s not available: a | b\n    measured:  verified")
                && e.contains("row engine:\n    committed: Podman 4.3.1\n    measured:  (not measured)")
                && e.contains("WORKBOOK_BLESS=1 cargo test -- b::"),
            "{e}"
        );
        // Only the rows measured, when the others are another test's.
        compare(
            &p,
            false,
            "B",
            &m(&[("engine", "Podman 4.3.1")]),
            Rows::These,
            "",
        )
        .unwrap();
        let e = compare(&p, false, "B", &m(&[("02-y", "verified")]), Rows::These, "").unwrap_err();
        assert!(e.contains("committed: (no such row)"), "{e}");
        assert!(compare(&p, false, "C", &same, Rows::These, "")
            .unwrap_err()
            .contains("no column `C`"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            SAMPLE,
            "compare wrote"
        );

        compare(
            &p,
            true,
            "B",
            &m(&[("01-x", "verified"), ("02-y", "verified")]),
            Rows::These,
            "",
        )
        .unwrap();
        let doc = parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(doc.rows[1], ["01-x", "verified", "verified"]);
        assert_eq!(doc.rows[2], ["02-y", "", "verified"]);
        assert_eq!(doc.column("A").unwrap()["engine"], "Docker Engine 20.10.24");
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .starts_with("# Title\n\nSome text | with a pipe.\n"));
    }

    /// The committed doc has one column per stack, the `engine` row and then a row for every
    /// exercise of the catalog, in its order, and no cell is empty.
    #[test]
    fn the_committed_doc_has_a_row_per_exercise_and_a_cell_per_stack() {
        let doc = committed();
        let text = std::fs::read_to_string(path()).unwrap();
        assert_eq!(
            render(&doc),
            text,
            "docs/compatibility.md is not in the form a bless writes (`| a | b |`, `|---|`)"
        );
        let mut header = vec![KEY_HEADER];
        header.extend(COLUMNS);
        assert_eq!(doc.header, header, "docs/compatibility.md's header");
        let mut keys = vec![ENGINE_ROW.to_string()];
        keys.extend(
            workbook::curriculum::catalog::exercises()
                .unwrap()
                .into_iter()
                .map(|e| e.slug),
        );
        let rows: Vec<&String> = doc.rows.iter().map(|r| &r[0]).collect();
        assert_eq!(
            rows,
            keys.iter().collect::<Vec<_>>(),
            "docs/compatibility.md's rows"
        );
        for r in &doc.rows {
            for (h, c) in doc.header.iter().zip(r) {
                assert!(
                    !c.is_empty(),
                    "docs/compatibility.md: row {}, column `{h}` is empty",
                    r[0]
                );
            }
        }
    }
}
