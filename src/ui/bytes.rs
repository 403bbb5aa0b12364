//! Sizes for people, in one form: binary units, one decimal at most and none when the figure is
//! whole: "512 bytes", "1.5 KiB", "10 MiB", "5.8 MiB", "2 GiB".
//!
//! Our own few lines, not the `bytesize` crate: its figures always carry a decimal ("10.0 MiB")
//! and say "B" for small sizes, which is not this form, and it has no exact form ([`exact`]).

/// Bytes in a gibibyte.
pub const GIB: u64 = 1 << 30;

const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// `n` in the first binary unit (plain bytes first) whose figure, rounded to one decimal, stays
/// below `limit`: `(figure, None)` for plain bytes. [`human`] uses 1024; a limit of 1000 keeps
/// figures to three digits ("1.0 MiB", not "1018.4 KiB").
pub fn scaled(n: u64, limit: f64) -> (f64, Option<&'static str>) {
    let mut figure = n as f64;
    if figure < limit - 0.05 {
        return (figure, None);
    }
    for (i, unit) in UNITS.iter().enumerate() {
        figure /= 1024.0;
        if figure < limit - 0.05 || i + 1 == UNITS.len() {
            return (figure, Some(unit));
        }
    }
    unreachable!("the last unit returns")
}

/// The form every message uses: 512 → "512 bytes", 1536 → "1.5 KiB", 10 MiB → "10 MiB",
/// 6081740 → "5.8 MiB".
pub fn human(n: u64) -> String {
    match scaled(n, 1024.0) {
        (_, None) if n == 1 => "1 byte".to_string(),
        (_, None) => format!("{n} bytes"),
        (figure, Some(unit)) => {
            let text = format!("{figure:.1}");
            format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
        }
    }
}

/// As [`human`] when its figure is exact, else `n` in the largest unit that holds it whole
/// (1280 MiB → "1280 MiB", 1073741825 → "1073741825 bytes"): for sizes compared to the byte
/// (a tmpfs limit), where two different sizes must never read alike.
pub fn exact(n: u64) -> String {
    let whole = |unit: usize| 1u128 << (10 * (unit as u32 + 1));
    let unit = match scaled(n, 1024.0) {
        (_, None) => return human(n),
        (_, Some(u)) => UNITS.iter().position(|x| *x == u).unwrap_or(0),
    };
    if (n as u128 * 10).is_multiple_of(whole(unit)) {
        return human(n);
    }
    (0..unit)
        .rev()
        .find(|&u| (n as u128).is_multiple_of(whole(u)))
        .map(|u| format!("{} {}", n as u128 / whole(u), UNITS[u]))
        .unwrap_or_else(|| format!("{n} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form() {
        assert_eq!(human(0), "0 bytes");
        assert_eq!(human(1), "1 byte");
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(1000), "1000 bytes");
        assert_eq!(human(1023), "1023 bytes");
        assert_eq!(human(1024), "1 KiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(10 << 20), "10 MiB");
        assert_eq!(human(6_081_740), "5.8 MiB");
        assert_eq!(human(3 * GIB / 2), "1.5 GiB");
        assert_eq!(human(2 * GIB), "2 GiB");
        // A figure that would round to 1024 is the next unit.
        assert_eq!(human((1 << 20) - 1), "1 MiB");
        assert_eq!(human(u64::MAX), "16 EiB");
    }

    #[test]
    fn three_digits() {
        let short = |n| match scaled(n, 1000.0) {
            (_, None) => format!("{n} B"),
            (f, Some(u)) => format!("{f:.1} {u}"),
        };
        assert_eq!(short(999), "999 B");
        assert_eq!(short(1023), "1.0 KiB");
        assert_eq!(short(1_042_842), "1.0 MiB");
    }

    #[test]
    fn exact_sizes() {
        assert_eq!(exact(GIB), "1 GiB");
        assert_eq!(exact(512 << 20), "512 MiB");
        assert_eq!(exact(1000), "1000 bytes");
        assert_eq!(exact(3 * GIB / 2), "1.5 GiB");
        assert_eq!(exact(1280 << 20), "1280 MiB");
        assert_eq!(exact(1025 << 20), "1025 MiB");
        assert_eq!(exact(GIB + 1), "1073741825 bytes");
        assert_eq!(exact(1536), "1.5 KiB");
    }
}
