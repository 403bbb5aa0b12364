//! Helpers shared by the integration tests (`mod common;` in each that needs them; not every
//! test file uses every helper).
#![allow(dead_code)]

/// The daemon the tests grade, with the lab images built (offline, from the host's busybox,
/// when they are missing or stale).
pub async fn lab_engine() -> workbook::docker::engine::Engine {
    let engine = workbook::docker::engine::connect()
        .await
        .expect("the test daemon answers");
    let stale = workbook::docker::images::stale(&engine.docker)
        .await
        .unwrap();
    if !stale.is_empty() {
        let opts = workbook::docker::images::SetupOptions {
            offline: true,
            force: false,
            quiet: true,
        };
        workbook::docker::images::setup(&engine.docker, &opts)
            .await
            .unwrap();
    }
    engine
}

/// `cmd` started as from an interactive terminal: SIGINT, SIGTERM and SIGHUP at their default
/// dispositions, whatever this test process inherited. A background job of a non-interactive
/// shell starts with SIGINT ignored, one under `nohup` with SIGHUP ignored, and the workbook, as
/// a well-behaved program does, keeps an ignored signal ignored: tests that send signals must
/// not depend on how `cargo test` itself was started. (A test that wants one ignored sets it in
/// a `pre_exec` of its own, which runs after this one.)
pub fn as_from_a_terminal(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: `signal` is async-signal-safe; this runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}
