//! Counted nouns for messages: "1 file", "3 files".

/// `n` and the noun, in the plural unless `n` is 1: `count(1, "file")` is "1 file".
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_number_plural() {
        assert_eq!(super::count(1u64, "file"), "1 file");
        assert_eq!(super::count(0u64, "file"), "0 files");
        assert_eq!(super::count(3usize as u64, "step"), "3 steps");
    }
}
