//! A check command's output through a hostile fake engine (`tests/fake_engine`): an exec whose
//! one output frame claims 4 GiB and never ends is cut at the transport's cap, at once, instead
//! of buffering for the whole exec timeout. One test in its own binary: it points the process's
//! `DOCKER_HOST` at the fake.

mod fake_engine;

use std::time::{Duration, Instant};

use fake_engine::{FakeEngine, Misbehaviour};

#[tokio::test]
async fn an_exec_that_never_stops_printing_is_cut_at_its_cap() {
    let fake = FakeEngine::start();
    // SAFETY: the only test of this binary, before any thread of ours reads the environment.
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
        ok.map(|r| (r.exit_code, r.stdout)),
        Ok((0, "ok\n".to_string()))
    );

    fake.misbehave("POST", "/start", Misbehaviour::EndlessExecOutput);
    let started = Instant::now();
    let err = workbook::docker::exec::run(&engine.docker, "c0ffee", &cmd)
        .await
        .expect_err("an endless output is an error");
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
