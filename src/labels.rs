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

/// Labels of a helper container of the given role.
pub fn helper(role: &str) -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (ROLE.to_string(), role.to_string()),
    ])
}

/// Whether these are the labels of a workbook helper container (probe, seeder, bench run):
/// the workbook's own, short-lived, never part of what a learner is graded on.
pub fn is_helper(labels: Option<&std::collections::HashMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    get(MANAGED) == Some("true") && matches!(get(ROLE), Some(ROLE_PROBE | ROLE_SEED | ROLE_BENCH))
}
