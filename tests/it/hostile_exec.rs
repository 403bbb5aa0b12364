//! A check command's output through a hostile fake engine (`tests/fake_engine`): an exec whose
//! one output frame claims 4 GiB and never ends is cut at the transport's cap, at once, instead
//! of buffering for the whole exec timeout. It points its process's `DOCKER_HOST` at the fake,
//! which every other test of this binary (and their children) would inherit: so the test runs
//! again in a process of its own, this binary run with a filter for just this test.

use std::time::{Duration, Instant};

use crate::util::fake_engine::{FakeEngine, Misbehaviour};

/// Set in the process of its own that runs the test.
const ALONE: &str = "WORKBOOK_TEST_ALONE";
const THIS_TEST: &str = "hostile_exec::an_exec_that_never_stops_printing_is_cut_at_its_cap";

/// Runs the test `name` of this binary in a child process, alone, and passes on its result.
fn in_a_process_of_its_own(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} in a process of its own: {:?}",
        out.status
    );
}

#[tokio::test]
async fn an_exec_that_never_stops_printing_is_cut_at_its_cap() {
    if std::env::var_os(ALONE).is_none() {
        return in_a_process_of_its_own(THIS_TEST);
    }
    let fake = FakeEngine::start();
    // SAFETY: the only test this process runs (see above), before any thread of ours reads the
    // environment.
    unsafe {
        std::env::set_var("DOCKER_HOST", fake.docker_host());
        std::env::set_var("WORKBOOK_DOCKER_TIMEOUT", "5");
    }
    let engine = workbook::docker::engine::connect()
        .await
        .expect("the fake answers");
    let cmd = ["cat", "/model.bin"].map(String::from);

    // A well-behaved exec first: the fake's answer is read as the daemon's would be.
    let ok = workbook::docker::exec::run(&engine.docker, "c0ffee", &cmd).await;
    assert_eq!(
        ok.map(|r| (r.exit_code, r.stdout))
            .map_err(|e| e.to_string()),
        Ok((0, "ok\n".to_string()))
    );

    fake.misbehave("POST", "/start", Misbehaviour::EndlessExecOutput);
    let started = Instant::now();
    let err = workbook::docker::exec::run(&engine.docker, "c0ffee", &cmd)
        .await
        .expect_err("an endless output is an error")
        .to_string();
    let took = started.elapsed();
    assert!(
        err.contains("sent more than 16 MiB for POST /exec/eeeeeeeeeeee/start"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: the output was read until the exec timeout"
    );
}
