//! The records of pax extended headers.

use std::io;

use super::stream::corrupt;

/// Largest pax extended header read (its records: long names, times, attributes, sparse maps).
pub(super) const MAX_PAX: u64 = 1 << 20;

/// The pax records this reader acts on.
#[derive(Default)]
pub(super) struct Pax<'a> {
    pub(super) path: Option<&'a [u8]>,
    pub(super) linkpath: Option<&'a [u8]>,
    pub(super) size: Option<u64>,
    pub(super) uid: Option<u64>,
    pub(super) gid: Option<u64>,
    pub(super) sparse: SparsePax<'a>,
}

/// The `GNU.sparse.*` records of a pax header (GNU tar's sparse formats 0.0, 0.1 and 1.0).
#[derive(Default)]
pub(super) struct SparsePax<'a> {
    pub(super) major: Option<u64>,
    pub(super) name: Option<&'a [u8]>,
    pub(super) realsize: Option<u64>,
    pub(super) size: Option<u64>,
    pub(super) map: Option<&'a [u8]>,
    pub(super) offsets: Vec<u64>,
    pub(super) numbytes: Vec<u64>,
}

/// A decimal number of a pax record or sparse map.
pub(super) fn decimal(text: &[u8]) -> io::Result<u64> {
    let digits = !text.is_empty() && text.len() <= 20 && text.iter().all(u8::is_ascii_digit);
    let n = digits.then(|| std::str::from_utf8(text).ok()?.parse().ok());
    n.flatten()
        .ok_or_else(|| corrupt("a number in a pax header is malformed"))
}

/// Parses pax records, `LEN key=value\n`, each measured by its length (a value may hold a
/// newline, so splitting at newlines would read another name than tar does). A malformed
/// record is an error: the archive is corrupt.
pub(super) fn parse_pax(data: &[u8]) -> io::Result<Pax<'_>> {
    let (mut pax, mut rest) = (Pax::default(), data);
    let bad = || corrupt("a pax header record is malformed");
    while rest.first().is_some_and(|b| *b != 0) {
        let space = rest.iter().position(|b| *b == b' ').ok_or_else(bad)?;
        let len = usize::try_from(decimal(&rest[..space])?).map_err(|_| bad())?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..len - 1];
        rest = &rest[len..];
        let eq = record.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        let s = &mut pax.sparse;
        match key {
            b"path" => pax.path = Some(value),
            b"linkpath" => pax.linkpath = Some(value),
            b"size" => pax.size = Some(decimal(value)?),
            b"uid" => pax.uid = Some(decimal(value)?),
            b"gid" => pax.gid = Some(decimal(value)?),
            b"GNU.sparse.major" => s.major = Some(decimal(value)?),
            b"GNU.sparse.name" => s.name = Some(value),
            b"GNU.sparse.realsize" => s.realsize = Some(decimal(value)?),
            b"GNU.sparse.size" => s.size = Some(decimal(value)?),
            b"GNU.sparse.map" => s.map = Some(value),
            b"GNU.sparse.offset" => s.offsets.push(decimal(value)?),
            b"GNU.sparse.numbytes" => s.numbytes.push(decimal(value)?),
            _ => {}
        }
    }
    Ok(pax)
}
