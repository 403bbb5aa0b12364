//! Sizes as Docker and tmpfs write them: `1g`, `1024m`, `512k`, `1073741824`, `1GiB`, `1GB`.
//! Units are binary, as tmpfs reads them (`size=1g` is 1073741824 bytes).

use crate::util::error::Result;
pub fn parse(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size (write e.g. 1g, 512m or 1073741824)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("`{text}` has an unknown unit (use k, m or g)").into()),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is too large"))
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_normalise() {
        assert_eq!(parse("1g").ok(), Some(1 << 30));
        assert_eq!(parse("1024m").ok(), Some(1 << 30));
        assert_eq!(parse("1073741824").ok(), Some(1 << 30));
        assert_eq!(parse("1GiB").ok(), Some(1 << 30));
        assert_eq!(parse("64m").ok(), Some(64 << 20));
        assert!(parse("50%").is_err());
        assert!(parse("g").is_err());
        assert!(parse("99999999999999999999t").is_err());
    }
}
