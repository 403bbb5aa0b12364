//! Sparse files: their maps (GNU headers, pax records, the 1.0 map in the data), checked
//! before anything is expanded, and the digest of their real bytes.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::pax::{decimal, SparsePax};
use super::stream::{corrupt, padding, Input, BLOCK};

/// Most chunks in the map of one sparse file (16 bytes each in memory).
pub(super) const MAX_SPARSE_CHUNKS: usize = 1 << 20;

/// A sparse file: its real size and, unless they are at the start of its data (format 1.0),
/// the (offset, length) chunks of data stored, in order; the rest reads as zeros.
pub(super) struct Sparse {
    pub(super) real: u64,
    pub(super) chunks: Option<Vec<(u64, u64)>>,
}

/// The map of a GNU sparse (`S`) entry: in its header, then in the extension blocks after it.
pub(super) fn gnu_sparse<R: Read>(
    input: &mut Input<R>,
    header: &tar::Header,
) -> io::Result<Sparse> {
    let gnu = header
        .as_gnu()
        .ok_or_else(|| corrupt("a sparse entry has no GNU header"))?;
    let mut chunks = Vec::new();
    let add = |chunks: &mut Vec<(u64, u64)>, slots: &[tar::GnuSparseHeader]| {
        for slot in slots.iter().filter(|s| !s.is_empty()) {
            chunks.push((slot.offset()?, slot.length()?));
        }
        io::Result::Ok(())
    };
    add(&mut chunks, &gnu.sparse)?;
    let mut extended = gnu.is_extended();
    while extended {
        if chunks.len() > MAX_SPARSE_CHUNKS {
            return Err(corrupt("a sparse map has more than a million chunks"));
        }
        let block = input.block()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let mut ext = tar::GnuExtSparseHeader::new();
        ext.as_mut_bytes().copy_from_slice(&block);
        add(&mut chunks, ext.sparse())?;
        extended = ext.is_extended();
    }
    Ok(Sparse {
        real: gnu.real_size()?,
        chunks: Some(chunks),
    })
}

/// The sparse file that pax records describe, if they describe one.
pub(super) fn pax_sparse(s: &SparsePax<'_>) -> io::Result<Option<Sparse>> {
    let missing = || corrupt("a pax sparse file has no real size");
    let pairs = |numbers: Vec<u64>| {
        let pairs: Vec<(u64, u64)> = numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        numbers
            .len()
            .is_multiple_of(2)
            .then_some(pairs)
            .ok_or_else(|| corrupt("a pax sparse map is not made of pairs"))
    };
    let chunks = match s.major {
        Some(1) => None,
        Some(0) | None if s.map.is_some() => {
            let text = s.map.unwrap_or_default();
            let numbers = text.split(|b| *b == b',').map(decimal);
            Some(pairs(numbers.collect::<io::Result<_>>()?)?)
        }
        Some(0) | None if !s.offsets.is_empty() || !s.numbytes.is_empty() => {
            if s.offsets.len() != s.numbytes.len() {
                return Err(corrupt("a pax sparse map is not made of pairs"));
            }
            Some(
                s.offsets
                    .iter()
                    .copied()
                    .zip(s.numbytes.iter().copied())
                    .collect(),
            )
        }
        Some(0) | None => return Ok(None),
        Some(_) => {
            return Err(corrupt(
                "a pax sparse file has a format this reader does not know",
            ))
        }
    };
    let real = match chunks {
        None => s.realsize,
        Some(_) => s.size.or(s.realsize),
    };
    Ok(Some(Sparse {
        real: real.ok_or_else(missing)?,
        chunks,
    }))
}

/// Reads the map that a 1.0 pax sparse file keeps at the start of its data (`size` bytes):
/// decimal numbers, one a line (the count, then each chunk's offset and length), padded to a
/// block. Returns the chunks and the bytes the map took.
pub(super) fn read_sparse_map<R: Read>(
    input: &mut Input<R>,
    size: u64,
) -> io::Result<(Vec<(u64, u64)>, u64)> {
    let (mut block, mut at, mut taken) = ([0u8; 512], 512, 0u64);
    let mut number = |input: &mut Input<R>| -> io::Result<u64> {
        let mut text = Vec::new();
        loop {
            if at == block.len() {
                if taken + BLOCK > size {
                    return Err(corrupt("a sparse map is longer than its entry"));
                }
                input.exact(&mut block)?;
                (at, taken) = (0, taken + BLOCK);
            }
            let b = block[at];
            at += 1;
            match b {
                b'\n' => return decimal(&text),
                _ if text.len() < 20 => text.push(b),
                _ => return Err(corrupt("a sparse map holds a malformed number")),
            }
        }
    };
    let n = number(input)?;
    if n > MAX_SPARSE_CHUNKS as u64 {
        return Err(corrupt("a sparse map has more than a million chunks"));
    }
    let mut chunks = Vec::with_capacity(n as usize);
    for _ in 0..n {
        chunks.push((number(input)?, number(input)?));
    }
    Ok((chunks, taken))
}

/// Checks that `chunks` lay out `stored` bytes of data in a file of `real` bytes (in order, not
/// overlapping, each starting on a block of the data as GNU tar writes them, ending at the real
/// size); returns the bytes of holes.
pub(super) fn check_map(chunks: &[(u64, u64)], stored: u64, real: u64) -> io::Result<u64> {
    let (mut end, mut used) = (0u64, 0u64);
    for &(offset, length) in chunks {
        if length != 0 && !used.is_multiple_of(BLOCK) {
            return Err(corrupt(
                "a chunk of a sparse file does not start on a block",
            ));
        } else if offset < end {
            return Err(corrupt(
                "the chunks of a sparse file are out of order or overlap",
            ));
        }
        end = offset
            .checked_add(length)
            .ok_or_else(|| corrupt("a sparse chunk ends past 2^64"))?;
        used = used.saturating_add(length);
    }
    if used != stored {
        return Err(corrupt(
            "the map of a sparse file does not match the data stored",
        ));
    } else if end != real {
        return Err(corrupt(
            "the map of a sparse file does not match its real size",
        ));
    }
    Ok(real - used)
}

pub(super) static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Feeds `n` zero bytes (a hole of a sparse file) to `hasher`.
pub(super) fn hash_zeros(hasher: &mut Sha256, mut n: u64) {
    while n > 0 {
        let k = usize::try_from(n).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
        hasher.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// SHA-256 of a regular file's data (`size` bytes in the archive, then its padding); a sparse
/// file's holes read as zeros, their bytes counted against the cap first.
pub(super) fn digest<R: Read>(
    input: &mut Input<R>,
    size: u64,
    sparse: Option<Sparse>,
) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let Some(sparse) = sparse else {
        input.pass(size, Some(&mut hasher))?;
        input.pass(padding(size), None)?;
        return Ok(hasher.finalize().into());
    };
    let (chunks, map_bytes) = match sparse.chunks {
        Some(chunks) => (chunks, 0),
        None => read_sparse_map(input, size)?,
    };
    let holes = check_map(&chunks, size - map_bytes, sparse.real)?;
    {
        let mut m = input.inner.meter.borrow_mut();
        m.limit = m.limit.saturating_sub(holes);
    }
    let mut end = 0;
    for (offset, length) in chunks {
        hash_zeros(&mut hasher, offset - end);
        input.pass(length, Some(&mut hasher))?;
        end = offset + length;
    }
    input.pass(padding(size), None)?;
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use crate::archive::testkit::*;
    use crate::archive::{read_backup, EntryKind, Limits, Manifest};
    use sha2::{Digest, Sha256};
    use tar::EntryType;

    /// A GNU sparse ('S') header for `name`: `chunks` (offset, length) of `real` bytes, the first
    /// four in the header and the rest in extension headers, which are returned after it.
    fn sparse_headers(name: &[u8], chunks: &[(u64, u64)], real: u64) -> Vec<u8> {
        let stored: u64 = chunks.iter().map(|c| c.1).sum();
        let mut h = header(name, EntryType::GNUSparse, stored);
        let gnu = h.as_gnu_mut().unwrap();
        for (slot, (off, len)) in gnu.sparse.iter_mut().zip(chunks) {
            slot.set_offset(*off);
            slot.set_length(*len);
        }
        gnu.set_real_size(real);
        gnu.set_is_extended(chunks.len() > 4);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        let rest: Vec<&[(u64, u64)]> = chunks.get(4..).unwrap_or(&[]).chunks(21).collect();
        for (i, group) in rest.iter().enumerate() {
            let mut ext = tar::GnuExtSparseHeader::new();
            for (slot, (off, len)) in ext.sparse_mut().iter_mut().zip(group.iter()) {
                slot.set_offset(*off);
                slot.set_length(*len);
            }
            ext.set_is_extended(i + 1 < rest.len());
            out.extend_from_slice(ext.as_bytes());
        }
        out
    }

    /// Chunks of a sparse test file: four whole blocks, one short chunk, the end: 10 000 bytes.
    const CHUNKS: [(u64, u64); 6] = [
        (0, 512),
        (1024, 512),
        (2048, 512),
        (3072, 512),
        (8192, 300),
        (10_000, 0),
    ];

    fn sparse_data() -> (Vec<u8>, Vec<u8>) {
        let mut real = vec![0u8; 10_000];
        let mut stored = Vec::new();
        for (i, (off, len)) in CHUNKS.iter().enumerate() {
            let bytes = vec![b'a' + i as u8; *len as usize];
            real[*off as usize..(*off + *len) as usize].copy_from_slice(&bytes);
            stored.extend_from_slice(&bytes);
        }
        (real, stored)
    }

    fn assert_holds_the_sparse_file(m: &Manifest, real: &[u8]) {
        let e = &m["hole.bin"];
        assert_eq!(e.kind, EntryKind::File);
        assert_eq!(e.size, 10_000);
        assert_eq!(e.digest, Some(Sha256::digest(real).into()));
        assert_eq!(m.len(), 2, "{:?}", m.keys().collect::<Vec<_>>());
    }

    #[test]
    fn gnu_sparse_files_are_read_as_their_real_bytes() {
        let (real, stored) = sparse_data();
        let tar = raw_tar(&[
            sparse_headers(b"./hole.bin", &CHUNKS, 10_000),
            padded(stored),
        ]);
        let m = read_backup(&gz(&tar)[..], &Limits::default()).unwrap();
        assert_holds_the_sparse_file(&m, &real);
    }

    #[test]
    fn pax_sparse_files_are_read_as_their_real_bytes() {
        let (real, stored) = sparse_data();
        let map: Vec<String> = CHUNKS
            .iter()
            .flat_map(|(o, l)| [o.to_string(), l.to_string()])
            .collect();
        let n = CHUNKS.len().to_string();
        let data_header = |name: &[u8], size: usize| ustar(name, EntryType::Regular, size as u64);
        // 1.0: the map at the start of the data, one number a line, padded to a block.
        let text = format!("{n}\n{}\n", map.join("\n"));
        let data = [padded(text.into_bytes()), stored.clone()].concat();
        let v10 = raw_tar(&[
            pax_header(&[
                ("GNU.sparse.major", b"1"),
                ("GNU.sparse.minor", b"0"),
                ("GNU.sparse.name", b"./hole.bin"),
                ("GNU.sparse.realsize", b"10000"),
            ]),
            data_header(b"./GNUSparseFile.7/hole.bin", data.len()),
            padded(data),
        ]);
        // 0.1: the map in one record.
        let v01 = raw_tar(&[
            pax_header(&[
                ("GNU.sparse.size", b"10000"),
                ("GNU.sparse.numblocks", n.as_bytes()),
                ("GNU.sparse.name", b"./hole.bin"),
                ("GNU.sparse.map", map.join(",").as_bytes()),
            ]),
            data_header(b"./GNUSparseFile.7/hole.bin", stored.len()),
            padded(stored.clone()),
        ]);
        // 0.0: one offset and one numbytes record a chunk.
        let mut records: Vec<(&str, Vec<u8>)> = vec![
            ("GNU.sparse.size", b"10000".to_vec()),
            ("GNU.sparse.numblocks", n.clone().into_bytes()),
        ];
        for (o, l) in CHUNKS {
            records.push(("GNU.sparse.offset", o.to_string().into_bytes()));
            records.push(("GNU.sparse.numbytes", l.to_string().into_bytes()));
        }
        let records: Vec<(&str, &[u8])> = records.iter().map(|(k, v)| (*k, &v[..])).collect();
        let v00 = raw_tar(&[
            pax_header(&records),
            data_header(b"./hole.bin", stored.len()),
            padded(stored),
        ]);
        for tar in [v10, v01, v00] {
            let m = read_backup(&gz(&tar)[..], &Limits::default()).unwrap();
            assert_holds_the_sparse_file(&m, &real);
        }
    }

    #[test]
    fn a_sparse_file_counts_its_real_size_and_is_refused_at_once() {
        for real in [8 << 30, 1u64 << 62] {
            let tar = raw_tar(&[sparse_headers(b"./big.bin", &[(real, 0)], real)]);
            let p = within(20, move || read_backup(&gz(&tar)[..], &Limits::default())).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(
                p[0].starts_with("entry big.bin is a sparse file of ")
                    && p[0].contains("more than the 2 GiB the workbook reads from an archive"),
                "{p:?}"
            );
        }
        let tar = raw_tar(&[
            pax_header(&[
                ("GNU.sparse.major", b"1"),
                ("GNU.sparse.minor", b"0"),
                ("GNU.sparse.name", b"./big.bin"),
                ("GNU.sparse.realsize", b"4611686018427387904"),
            ]),
            ustar(b"./GNUSparseFile.1/big.bin", EntryType::Regular, 512),
            padded(b"1\n4611686018427387904\n0\n".to_vec()),
        ]);
        let p = within(20, move || read_backup(&gz(&tar)[..], &Limits::default())).unwrap_err();
        assert!(
            p[0].starts_with("entry big.bin is a sparse file of 4 EiB"),
            "{p:?}"
        );
        // Real sizes add up: two of 600 KiB in a 1 MiB cap.
        let limits = Limits {
            max_total_bytes: MIB,
            ..Limits::default()
        };
        let one = |name: &[u8]| sparse_headers(name, &[(600 << 10, 0)], 600 << 10);
        let tar = raw_tar(&[one(b"./a.bin"), one(b"./b.bin")]);
        let p = read_backup(&gz(&tar)[..], &limits).unwrap_err();
        assert!(
            p[0].starts_with("entry b.bin is a sparse file of 600 KiB"),
            "{p:?}"
        );
        let tar = raw_tar(&[one(b"./a.bin")]);
        let m = read_backup(&gz(&tar)[..], &limits).unwrap();
        assert_eq!(m["a.bin"].size, 600 << 10);
    }

    #[test]
    fn corrupt_sparse_maps_are_refused() {
        let bad = [
            // Out of order.
            (vec![(1024, 512), (0, 512)], 2048),
            // Overlapping.
            (vec![(0, 1024), (512, 512)], 2048),
            // Ends before the real size.
            (vec![(0, 512)], 2048),
            // A chunk past the real size.
            (vec![(0, 512), (4096, 512)], 2048),
        ];
        for (chunks, real) in bad {
            let stored: u64 = chunks.iter().map(|c| c.1).sum();
            let tar = raw_tar(&[
                sparse_headers(b"./s.bin", &chunks, real),
                vec![b'x'; stored as usize],
            ]);
            let p = read_backup(&gz(&tar)[..], &Limits::default()).unwrap_err();
            assert!(
                p[0].starts_with("the tar data is corrupt in entry ./s.bin"),
                "{chunks:?}: {p:?}"
            );
        }
    }
}
