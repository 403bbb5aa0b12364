//! "Did you mean ...?" for names a learner typed almost right (`ml_data` for `ml-data`).

/// The candidate closest to `wanted`, if it is close enough to be a likely typo.
pub fn closest<'a, I>(wanted: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.', ' '], "-");
    let target = norm(wanted);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .map(|c| {
            let score = if norm(c) == target {
                1.0
            } else {
                strsim::normalized_damerau_levenshtein(&norm(c), &target)
            };
            (c, score)
        })
        .filter(|(_, score)| *score >= 0.7)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_separator_and_small_typos() {
        let names = ["ml_data", "postgres_data", "logs"];
        assert_eq!(closest("ml-data", names), Some("ml_data"));
        assert_eq!(closest("ml-dta", ["ml-data", "x"]), Some("ml-data"));
        assert_eq!(closest("checkpoints", ["chekpoints"]), Some("chekpoints"));
    }

    #[test]
    fn ignores_unrelated_and_exact_names() {
        assert_eq!(closest("ml-data", ["models", "logs"]), None);
        assert_eq!(closest("ml-data", ["ml-data"]), None);
    }
}
