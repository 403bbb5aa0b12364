//! Helpers shared by the integration tests (`mod common;` in each that needs them).

/// The daemon the tests grade, with the lab images built (offline, from the host's busybox,
/// when they are missing or stale).
pub async fn lab_engine() -> workbook::engine::Engine {
    let engine = workbook::engine::connect()
        .await
        .expect("the test daemon answers");
    let stale = workbook::images::stale(&engine.docker).await.unwrap();
    if !stale.is_empty() {
        let opts = workbook::images::SetupOptions {
            offline: true,
            force: false,
            quiet: true,
        };
        workbook::images::setup(&engine.docker, &opts)
            .await
            .unwrap();
    }
    engine
}
