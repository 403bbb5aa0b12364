//! The byte stream under the tar reader: the cap on what is decompressed, the gzip members,
//! the blocks of the tar stream, and the sentences for a stream that fails.

use std::cell::RefCell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

use super::Limits;

/// A tar block.
pub(super) const BLOCK: u64 = 512;

/// What the byte meter saw of the stream under the tar reader.
#[derive(Default)]
pub(super) struct Meter {
    pub(super) read: u64,
    pub(super) limit: u64,
    pub(super) eof: bool,
    pub(super) capped: bool,
    pub(super) trailing: bool,
    pub(super) inner_error: Option<(io::ErrorKind, String)>,
}

/// Counts the bytes the tar reader pulls, and fails once they pass the limit.
pub(super) struct Metered<R> {
    pub(super) inner: R,
    pub(super) meter: Rc<RefCell<Meter>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut m = self.meter.borrow_mut();
        let room = m.limit.saturating_add(1).saturating_sub(m.read);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let result = self.inner.read(&mut buf[..want]);
        match &result {
            Ok(0) => m.eof |= want > 0,
            Ok(n) => m.read += *n as u64,
            Err(e) => {
                m.trailing |= e.get_ref().is_some_and(|e| e.is::<TrailingData>());
                m.inner_error = Some((e.kind(), e.to_string()));
            }
        }
        m.capped |= m.read > m.limit;
        if m.capped {
            return Err(io::Error::other("size limit reached"));
        }
        result
    }
}

/// Bytes after the last gzip member that are neither another member nor zero padding.
#[derive(Debug)]
pub(super) struct TrailingData;

impl std::fmt::Display for TrailingData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("trailing data after the gzip stream")
    }
}

impl std::error::Error for TrailingData {}

/// The members of a gzip file as one stream, as `gzip -d` reads them (`cat a.gz b.gz`, or a
/// compressor writing several members): after a member comes another one, the end, or zero
/// padding to the end (at most `padding` bytes: gzip ignores it, and so does `tar xzf`);
/// anything else is [`TrailingData`], on which `tar xzf` fails.
pub(super) struct Members<R> {
    pub(super) gz: Option<GzDecoder<R>>,
    pub(super) padding: u64,
}

impl<R: BufRead> Members<R> {
    pub(super) fn new(input: R, padding: u64) -> Self {
        Members {
            gz: Some(GzDecoder::new(input)),
            padding,
        }
    }

    pub(super) fn after_member(&mut self, mut input: R) -> io::Result<()> {
        let next = match input.fill_buf()? {
            [] => None,
            [0x1f] | [0x1f, 0x8b, ..] => Some(true),
            [0, ..] => Some(false),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingData)),
        };
        match next {
            None => Ok(()),
            Some(true) => {
                self.gz = Some(GzDecoder::new(input));
                Ok(())
            }
            Some(false) => loop {
                let chunk = input.fill_buf()?;
                let n = chunk.len();
                if n == 0 {
                    return Ok(());
                }
                if chunk.iter().any(|b| *b != 0) || n as u64 > self.padding {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingData));
                }
                self.padding -= n as u64;
                input.consume(n);
            },
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(gz) = self.gz.as_mut() {
            let n = gz.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if let Some(done) = self.gz.take() {
                self.after_member(done.into_inner())?;
            }
        }
        Ok(0)
    }
}

/// The tar stream, read in blocks, through the meter.
pub(super) struct Input<R> {
    pub(super) inner: Metered<R>,
    pub(super) buf: Vec<u8>,
}

/// The padding after `size` bytes of entry data, to the next block.
pub(super) fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

impl<R: Read> Input<R> {
    /// The next block, or `None` where the stream ends cleanly.
    pub(super) fn block(&mut self) -> io::Result<Option<[u8; 512]>> {
        let (mut block, mut got) = ([0u8; 512], 0);
        while got < block.len() {
            match self.inner.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match got {
            0 => Ok(None),
            512 => Ok(Some(block)),
            _ => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    pub(super) fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)
    }

    /// Reads `n` bytes and feeds them to `sink` (a hasher) if there is one.
    pub(super) fn pass(&mut self, n: u64, mut sink: Option<&mut Sha256>) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let want = usize::try_from(left).map_or(self.buf.len(), |l| l.min(self.buf.len()));
            match self.inner.read(&mut self.buf[..want]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(got) => {
                    if let Some(h) = sink.as_deref_mut() {
                        h.update(&self.buf[..got]);
                    }
                    left -= got as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// What is left of the cap.
    pub(super) fn room(&self) -> u64 {
        let m = self.inner.meter.borrow();
        m.limit.saturating_sub(m.read)
    }
}

/// An invalid-data error: the archive is corrupt.
pub(super) fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The checksum of a header block, as tar computes it (the checksum field counted as spaces).
pub(super) fn check_sum(block: &[u8; 512], header: &tar::Header) -> io::Result<()> {
    let fields = block[..148].iter().chain(&block[156..]);
    let sum = fields.map(|b| u32::from(*b)).sum::<u32>() + 8 * 32;
    match header.cksum()? == sum {
        true => Ok(()),
        false => Err(corrupt("archive header checksum mismatch")),
    }
}

pub(super) fn truncated(gz: bool, at: &str) -> String {
    let what = if gz { "archive" } else { "tar stream" };
    format!(
        "the {what} is truncated{at}: it ends in the middle of its data, so the backup was \
         interrupted or only partly copied; create it again with `tar czf`"
    )
}

pub(super) fn too_large(limits: &Limits, gz: bool) -> String {
    let max = crate::ui::bytes::human(limits.max_total_bytes);
    let after = if gz { " after decompression" } else { "" };
    format!(
        "the archive is larger than {max}{after}: refusing to read further; check that it is a \
         backup of the right volume"
    )
}

/// Turns a failed read into a sentence, using what the meter saw below the tar reader.
pub(super) fn stream_problem(
    m: &Meter,
    err: &io::Error,
    limits: &Limits,
    gz: bool,
    at: &str,
) -> String {
    match &m.inner_error {
        _ if m.capped => too_large(limits, gz),
        _ if m.trailing => "the archive has trailing data after the gzip stream: what follows \
                            the compressed data is neither another gzip member nor zero padding, \
                            so the file was appended to or damaged (`tar xzf` stops with an error \
                            there); create the backup again with `tar czf`"
            .to_string(),
        Some((io::ErrorKind::UnexpectedEof, _)) => truncated(gz, at),
        Some((_, msg)) if gz => format!(
            "the gzip data is corrupt{at} ({msg}): the file was damaged; create the backup again \
             with `tar czf`"
        ),
        Some((_, msg)) => format!("reading the tar stream failed{at}: {msg}"),
        None if m.eof || err.kind() == io::ErrorKind::UnexpectedEof => truncated(gz, at),
        None => format!("the tar data is corrupt{at} ({err}): create it again with `tar czf`"),
    }
}

/// Names what a non-gzip file starts with, for the "not gzip" sentence.
pub(super) fn describe_start(head: &[u8]) -> String {
    let start = &head[..head.len().min(16)];
    let hex: Vec<String> = start.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if head.get(257..262) == Some(b"ustar") {
        "an uncompressed tar header: it was made with `tar cf`, without z".to_string()
    } else if head.starts_with(b"BZh") || head.starts_with(b"\xfd7zXZ\x00") {
        "bzip2 or xz data: it was made with `tar cjf` or `tar cJf`".to_string()
    } else if start
        .iter()
        .all(|b| b.is_ascii_graphic() || b" \n".contains(b))
    {
        format!("text {:?}", String::from_utf8_lossy(start))
    } else {
        format!("bytes {}", hex.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use crate::archive::testkit::*;
    use crate::archive::{read_backup, read_tar, Limits};
    use std::io::Cursor;
    use tar::{EntryType, Header};

    /// A gzip stream of `members` concatenated: decompresses to `size` zeros after `head`.
    fn bomb(head: &Header, size: u64) -> Vec<u8> {
        let mut out = gz(head.as_bytes());
        let zeros = gz(&vec![0u8; MIB as usize]);
        for _ in 0..size / MIB {
            out.extend_from_slice(&zeros);
        }
        out.extend_from_slice(&gz(&[0u8; 1024]));
        out
    }

    #[test]
    fn gzip_bomb_is_stopped_early() {
        let limits = Limits {
            max_entries: 10,
            max_total_bytes: 10 * MIB,
        };
        for ty in [EntryType::Regular, EntryType::GNULongName] {
            let name: &[u8] = if ty == EntryType::Regular {
                b"./zeros.bin"
            } else {
                b"././@LongLink"
            };
            let data = bomb(&header(name, ty, 200 * MIB), 200 * MIB);
            let mut input = Cursor::new(&data[..]);
            let p = read_backup(&mut input, &limits).unwrap_err();
            assert_eq!(
                p,
                ["the archive is larger than 10 MiB after decompression: refusing to read further; check that it is a backup of the right volume"]
            );
            // 10 of the 200 one-MiB members, plus the decoder's 32 KiB input buffer.
            assert!(
                input.position() < data.len() as u64 / 4,
                "read {} of {} bytes",
                input.position(),
                data.len()
            );
        }
    }

    #[test]
    fn truncated_and_corrupt_gzip() {
        let data = gz(&good_tar());
        let half = read_backup(&data[..data.len() / 2], &Limits::default()).unwrap_err();
        assert!(half[0].starts_with("the archive is truncated"), "{half:?}");
        let no_trailer = read_backup(&data[..data.len() - 4], &Limits::default()).unwrap_err();
        assert!(
            no_trailer[0].starts_with("the archive is truncated"),
            "{no_trailer:?}"
        );
        let mut bad_crc = data.clone();
        let at = bad_crc.len() - 6;
        bad_crc[at] ^= 0xff;
        let p = read_backup(&bad_crc[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the gzip data is corrupt after its last entry"),
            "{p:?}"
        );
    }

    #[test]
    fn truncated_and_corrupt_tar() {
        let tar = good_tar();
        let p = read_tar(&tar[..700], None, &Limits::default()).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("the tar stream is truncated after entry ./:"),
            "{p:?}"
        );
        let p = read_tar(&tar[..2000], None, &Limits::default()).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("the tar stream is truncated in entry ./models/weights.bin"),
            "{p:?}"
        );
        // Ends cleanly after an entry's data, but without the end-of-archive blocks.
        let cut = tar_of(|b| file(b, "a.txt", b"a"));
        let p = read_tar(&cut[..1024], None, &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the tar stream is truncated after entry a.txt"),
            "{p:?}"
        );
        let p = read_backup(&gz(&cut[..1024])[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the archive is truncated after entry a.txt"),
            "{p:?}"
        );
        let mut bad = tar.clone();
        bad[0] = b'X';
        let p = read_backup(&gz(&bad)[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the tar data is corrupt before its first entry"),
            "{p:?}"
        );
    }

    #[test]
    fn not_gzip_or_empty() {
        let p = read_backup(&good_tar()[..], &Limits::default()).unwrap_err();
        assert_eq!(p, ["the file is not gzip-compressed (it starts with an uncompressed tar header: it was made with `tar cf`, without z): create it with `tar czf`"]);
        let p = read_backup(&b"hello world\n"[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with(
                "the file is not gzip-compressed (it starts with text \"hello world\\n\")"
            ),
            "{p:?}"
        );
        let p = read_backup(&b"BZh91AY&SY"[..], &Limits::default()).unwrap_err();
        assert!(p[0].contains("(it starts with bzip2 or xz data"), "{p:?}");
        let p = read_backup(&[0u8, 1, 2, 3][..], &Limits::default()).unwrap_err();
        assert!(p[0].contains("(it starts with bytes 00 01 02 03)"), "{p:?}");
        let p = read_backup(&b""[..], &Limits::default()).unwrap_err();
        assert!(p[0].starts_with("the file is empty (0 bytes)"), "{p:?}");
        for empty in [gz(b""), gz(&[0u8; 10240])] {
            let p = read_backup(&empty[..], &Limits::default()).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].starts_with("the archive is empty"), "{p:?}");
        }
    }

    #[test]
    fn what_follows_the_gzip_stream() {
        let data = gz(&good_tar());
        // Zeros after the last member (a copy padded to a block size): accepted, like gzip.
        let padded = [data.clone(), vec![0u8; 10_000]].concat();
        assert!(read_backup(&padded[..], &Limits::default()).is_ok());
        // Anything else: trailing data, not a truncation.
        for tail in [&b"garbage\n"[..], b"\0\0\0\0x", b"\x1f\x00 not gzip"] {
            let bad = [data.clone(), tail.to_vec()].concat();
            let p = read_backup(&bad[..], &Limits::default()).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(
                p[0].starts_with("the archive has trailing data after the gzip stream"),
                "{tail:?}: {p:?}"
            );
        }
        // One tar in two members (as split and cat, or some compressors, write it).
        let tar = good_tar();
        let two = [gz(&tar[..1500]), gz(&tar[1500..])].concat();
        let m = read_backup(&two[..], &Limits::default()).unwrap();
        assert_eq!(m.len(), 9);
        // Two archives concatenated (cat a.tar.gz b.tar.gz): like GNU tar, the first one's
        // end blocks end it; the second is read through (checksums verified) but not listed.
        let other = gz(&tar_of(|b| {
            dir(b, "./");
            file(b, "./other.txt", b"o");
        }));
        let both = [data.clone(), other.clone()].concat();
        let m = read_backup(&both[..], &Limits::default()).unwrap();
        assert_eq!(m.len(), 9);
        assert!(!m.contains_key("other.txt"));
        let mut broken = [data, other].concat();
        let at = broken.len() - 6;
        broken[at] ^= 0xff;
        let p = read_backup(&broken[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the gzip data is corrupt after its last entry"),
            "{p:?}"
        );
    }
}
