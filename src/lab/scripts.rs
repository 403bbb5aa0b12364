//! Running exercise scripts (solutions, variants, mistakes) the way a learner would type them.
//!
//! Scripts say `docker compose ...`. Where only Compose v1 is installed (`docker-compose`, no
//! CLI plugin), a small shell prelude routes `docker compose` to it, so one script serves both.

use crate::util::error::{Error, Result};
use std::path::Path;

/// Prepended to every script the workbook runs.
pub const PRELUDE: &str = r#"set -e
docker() {
    if [ "${1:-}" = compose ]; then
        shift
        if [ -z "${WORKBOOK_COMPOSE_V1:-}" ]; then
            if command docker compose version >/dev/null 2>&1; then WORKBOOK_COMPOSE_V1=no; else WORKBOOK_COMPOSE_V1=yes; fi
        fi
        if [ "$WORKBOOK_COMPOSE_V1" = yes ]; then command docker-compose "$@"; else command docker compose "$@"; fi
    else
        command docker "$@"
    fi
}
"#;

/// The script with the prelude, ready for `sh -c`.
pub fn with_prelude(script: &str) -> String {
    format!("{PRELUDE}{script}")
}

/// Runs a script in `dir` (stdin, stdout and stderr are the caller's); returns its exit code.
pub async fn run(script: &str, dir: &Path) -> Result<i32> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(with_prelude(script))
        .current_dir(dir)
        .status()
        .await
        .map_err(|e| Error::io("cannot run sh", e))?;
    Ok(status.code().unwrap_or(2))
}

/// Runs a script in `dir`, capturing its combined output; returns (exit code, output).
pub async fn run_captured(script: &str, dir: &Path) -> Result<(i32, String)> {
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{}", with_prelude(script)))
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| Error::io("cannot run sh", e))?;
    Ok((
        out.status.code().unwrap_or(2),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}
