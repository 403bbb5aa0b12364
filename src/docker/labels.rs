//! The labels the workbook puts on everything it creates, so cleanup can find exactly that.

/// Present (value `true`) on every container, volume and image the workbook creates itself.
pub const MANAGED: &str = "workbook.managed";
/// The exercise slug a setup resource belongs to.
pub const EXERCISE: &str = "workbook.exercise";
/// What a workbook-made container is for: `probe`, `seed`, `setup` or `bench`.
pub const ROLE: &str = "workbook.role";
/// On lab images: a digest of the recipe, so `setup` rebuilds only what changed.
pub const RECIPE: &str = "workbook.recipe";
/// On lab images (value `true`). Not `MANAGED`: containers inherit image labels, and a
/// learner's container started from a lab image is the learner's, not the workbook's.
pub const LAB_IMAGE: &str = "workbook.lab-image";

pub const ROLE_PROBE: &str = "probe";
pub const ROLE_SEED: &str = "seed";
pub const ROLE_SETUP: &str = "setup";
pub const ROLE_BENCH: &str = "bench";

/// On workbook-made containers: the process that made them (see [`session`]), so that an
/// interrupted run finds even a helper whose creation it did not see finish.
pub const SESSION: &str = "workbook.session";

/// This process, told apart from every other: pid and start time.
pub fn session() -> &'static str {
    static SESSION_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SESSION_ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{}-{nanos}", std::process::id())
    })
}

/// Labels of a workbook-made container of the given role; short-lived helpers also carry
/// this process's [`session`] (a setup container outlives it, and belongs to its exercise).
pub fn helper(role: &str) -> std::collections::HashMap<String, String> {
    let mut labels = std::collections::HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (ROLE.to_string(), role.to_string()),
    ]);
    if role != ROLE_SETUP {
        labels.insert(SESSION.to_string(), session().to_string());
    }
    labels
}

/// Whether these are the labels of a workbook helper container (probe, seeder, bench run):
/// the workbook's own, short-lived, never part of what a learner is graded on.
pub fn is_helper(labels: Option<&std::collections::HashMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    get(MANAGED) == Some("true") && matches!(get(ROLE), Some(ROLE_PROBE | ROLE_SEED | ROLE_BENCH))
}
