//! The classroom's secrets, from the operating system's random source: attendee tokens, the
//! join code and the dashboard's key.

use crate::util::error::Result;

/// The join code's letters: no 0/O, 1/I/L, so that a code read off a projector is typed right.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| format!("cannot read the operating system's random source: {e}"))?;
    Ok(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An attendee's token: 256 random bits.
pub fn token() -> Result<String> {
    Ok(format!("wbt_{}", hex(&random_bytes::<32>()?)))
}

/// The dashboard's key: 128 random bits.
pub fn key() -> Result<String> {
    Ok(hex(&random_bytes::<16>()?))
}

/// A join code, `K7QF-M2`: six letters of [`CODE_ALPHABET`] (about 30 bits; wrong codes are
/// rate-limited per address).
pub fn join_code() -> Result<String> {
    let bytes = random_bytes::<6>()?;
    let letters: String = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &letters[..4], &letters[4..]))
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_tokens_and_keys_have_their_shapes() {
        let code = join_code().unwrap();
        assert_eq!(code.len(), 7);
        assert_eq!(&code[4..5], "-");
        assert!(code
            .bytes()
            .filter(|b| *b != b'-')
            .all(|b| CODE_ALPHABET.contains(&b)));
        let t = token().unwrap();
        assert!(t.starts_with("wbt_") && t.len() == 68);
        assert_ne!(token().unwrap(), t);
        assert_eq!(key().unwrap().len(), 32);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
