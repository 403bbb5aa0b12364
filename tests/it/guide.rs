//! A learner who types the guide's own snippets is graded fairly: each snippet of the seed guide
//! (copied verbatim into tests/fixtures/guide/) is what an exercise's `guide-as-printed` variant
//! runs, with only the lab's image names put in; `verify` (tests/it/exercises.rs) proves that
//! every variant passes every step.

use workbook::curriculum::catalog::Catalog;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/guide/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The guide's text as the lab runs it: its images named as the lab's, an `image:` line added
/// under each service that has none (`images`: service → image), comments and blank lines of a
/// shell snippet kept.
fn as_the_lab_runs_it(text: &str, images: &[(&str, &str)]) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line
            .replace("image: ml-training", "image: workbook/ml-training")
            .replace("  alpine \\", "  workbook/tools \\");
        out.push(line.clone());
        for (service, image) in images {
            if line == format!("  {service}:") {
                out.push(format!("    image: {image}"));
            }
        }
    }
    out.join("\n")
}

fn mistake<'a>(cat: &'a Catalog, slug: &str) -> &'a str {
    let ex = cat.get(slug).unwrap();
    ex.data
        .mistakes
        .iter()
        .find(|m| m.id == "guide-as-printed")
        .unwrap_or_else(|| panic!("{slug} has no guide-as-printed mistake"))
        .run
        .as_str()
}

fn variant<'a>(cat: &'a Catalog, slug: &str) -> &'a str {
    let ex = cat.get(slug).unwrap();
    ex.data
        .variants
        .iter()
        .find(|v| v.id == "guide-as-printed")
        .unwrap_or_else(|| panic!("{slug} has no guide-as-printed variant"))
        .run
        .as_str()
}

#[test]
fn the_guides_snippets_are_what_the_guide_variants_run() {
    let cat = Catalog::embedded().unwrap();
    let checkpoints = as_the_lab_runs_it(&fixture("checkpoints.yaml"), &[]);
    assert!(
        variant(&cat, "04-checkpoints").contains(&checkpoints),
        "04's variant does not run the guide's compose file:\n{checkpoints}"
    );
    let models = as_the_lab_runs_it(
        &fixture("shared-models.yaml"),
        &[
            ("trainer", "workbook/ml-training"),
            ("api-1", "workbook/ml-api"),
            ("api-2", "workbook/ml-api"),
        ],
    );
    assert!(
        variant(&cat, "05-shared-models").contains(&models),
        "05's variant does not run the guide's compose file:\n{models}"
    );
    let run = variant(&cat, "07-backup-restore");
    for snippet in ["backup.sh", "restore.sh"] {
        // The commands, without the guide's comment line.
        let text = as_the_lab_runs_it(&fixture(snippet), &[]);
        let commands: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            run.contains(&commands),
            "07's variant does not run the guide's {snippet}:\n{commands}"
        );
    }

    // The guide's PostgreSQL service sets no password: the image refuses to start, and the
    // learner who types it is told why (a mistake verify proves), not failed in silence.
    let postgres = fixture("postgres.yaml").replace("image: postgres", "image: workbook/postgres");
    assert!(
        mistake(&cat, "12-database").contains(&postgres),
        "12's guide-as-printed mistake does not run the guide's compose file:\n{postgres}"
    );
}
