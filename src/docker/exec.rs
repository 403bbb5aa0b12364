//! Running a command inside a learner's running container, for checks that must ask the
//! container itself (does the API serve the model?). Only read-only commands are declared by
//! exercises; each run is bounded in time (from the exec's creation to its exit code) and in
//! output: [`OUTPUT_LIMIT`] of each stream is kept, and the transport ends an exec that prints
//! more than [`crate::docker::transport::EXEC_OUTPUT_LIMIT`] in all.

use crate::util::error::Result;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::StreamExt;

use crate::docker::engine::failed;

/// How long a check command may take, from the exec's creation to its exit code.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(15);
/// Output kept per stream.
const OUTPUT_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` in container `id` and collects its exit code and output.
pub async fn run(docker: &Docker, id: &str, command: &[String]) -> Result<ExecResult> {
    let shown = command.join(" ");
    let config = CreateExecOptions {
        cmd: Some(command.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let run = async {
        let created = docker
            .create_exec(id, config)
            .await
            .map_err(|e| failed(&format!("preparing `{shown}` in the container"), e))?;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        match docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| failed(&format!("running `{shown}`"), e))?
        {
            StartExecResults::Attached { mut output, .. } => {
                while let Some(item) = output.next().await {
                    match item
                        .map_err(|e| failed(&format!("reading the output of `{shown}`"), e))?
                    {
                        LogOutput::StdOut { message } if stdout.len() < OUTPUT_LIMIT => {
                            stdout.extend_from_slice(&message)
                        }
                        LogOutput::StdErr { message } if stderr.len() < OUTPUT_LIMIT => {
                            stderr.extend_from_slice(&message)
                        }
                        _ => {}
                    }
                }
            }
            StartExecResults::Detached => {}
        }
        let inspect = docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| failed(&format!("reading the exit code of `{shown}`"), e))?;
        Ok::<ExecResult, String>(ExecResult {
            exit_code: inspect.exit_code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    };
    tokio::time::timeout(EXEC_TIMEOUT, run)
        .await
        .map_err(|_| {
            format!(
                "`{shown}` did not finish within {} s in the container",
                EXEC_TIMEOUT.as_secs()
            )
        })?
        .map_err(Into::into)
}
