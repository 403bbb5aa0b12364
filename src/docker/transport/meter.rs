//! Counting an answer: its HTTP/1.1 framing followed as far as its limits need.

use super::fault::FaultKind;
use super::{Limits, HEAD_LIMIT};

/// Follows an HTTP/1.1 answer byte by byte, as far as its limits need: the end of the head
/// (status, `Content-Length`, `Transfer-Encoding`), then the body through its chunked framing,
/// counting body bytes and the current line. Framing it cannot follow is counted as body
/// (hyper reports the framing error itself).
#[derive(Debug)]
pub struct Meter {
    pub(super) limits: Limits,
    pub(super) head_request: bool,
    pub(super) phase: Phase,
    pub(super) head: Vec<u8>,
    pub(super) body_limit: Option<u64>,
    pub(super) error: bool,
    pub(super) body: u64,
    pub(super) line: u64,
    pub(super) upgraded: u64,
    /// Every byte of the answer so far, framing included.
    pub received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Head,
    Length(u64),
    UntilClose,
    Chunked(Chunk),
    Upgraded,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Reading the hex size (and any extension) up to its line end.
    Size {
        value: u64,
        ext: bool,
    },
    Data(u64),
    /// The line end after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk, `len` bytes into the current one.
    Trailer {
        len: usize,
    },
}

/// Which limit the answer broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    Body(u64),
    Error(u64),
    Line(u64),
    Head(u64),
}

impl Broken {
    pub(super) fn kind(self) -> FaultKind {
        match self {
            Broken::Body(limit) => FaultKind::TooLarge { limit },
            Broken::Error(limit) => FaultKind::ErrorTooLarge { limit },
            Broken::Line(limit) => FaultKind::LineTooLong { limit },
            Broken::Head(limit) => FaultKind::HeadTooLarge { limit },
        }
    }
}

impl Meter {
    pub fn new(limits: Limits, head_request: bool) -> Meter {
        Meter {
            limits,
            head_request,
            phase: Phase::Head,
            head: Vec::new(),
            body_limit: None,
            error: false,
            body: 0,
            line: 0,
            upgraded: 0,
            received: 0,
        }
    }

    /// Whether any byte of the answer arrived.
    pub fn begun(&self) -> bool {
        self.received > 0
    }

    pub fn upgraded(&self) -> bool {
        self.phase == Phase::Upgraded
    }

    /// Counts bytes as they arrive; `Err` when they break a limit.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Broken> {
        self.received += bytes.len() as u64;
        while !bytes.is_empty() {
            match self.phase {
                Phase::Head => {
                    // The blank line may straddle two reads: look from 3 bytes back.
                    let old = self.head.len();
                    let from = old.saturating_sub(3);
                    self.head.extend_from_slice(bytes);
                    match find_head_end(&self.head[from..]) {
                        Some(end) => {
                            let end = from + end;
                            bytes = &bytes[end - old..];
                            self.end_head(end);
                        }
                        None if self.head.len() > HEAD_LIMIT => {
                            return Err(Broken::Head(HEAD_LIMIT as u64))
                        }
                        None => bytes = &[],
                    }
                }
                Phase::Length(left) => {
                    let n = (bytes.len() as u64).min(left);
                    self.data(&bytes[..n as usize])?;
                    bytes = &bytes[n as usize..];
                    self.phase = if n == left {
                        Phase::Done
                    } else {
                        Phase::Length(left - n)
                    };
                }
                Phase::UntilClose => {
                    self.data(bytes)?;
                    bytes = &[];
                }
                Phase::Chunked(c) => bytes = self.chunked(c, bytes)?,
                Phase::Upgraded => {
                    self.upgraded += bytes.len() as u64;
                    if let Some(limit) = self.limits.upgraded {
                        if self.upgraded > limit {
                            return Err(Broken::Body(limit));
                        }
                    }
                    bytes = &[];
                }
                // A next answer on a connection kept alive (none is asked): not ours to count.
                Phase::Done => bytes = &[],
            }
        }
        Ok(())
    }

    /// The head is `self.head[..end]` (its blank line included): what follows it.
    pub(super) fn end_head(&mut self, end: usize) {
        let head = String::from_utf8_lossy(&self.head[..end]).into_owned();
        self.head.clear();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut chunked) = (None, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<u64>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
            }
        }
        self.error = status >= 400;
        self.body_limit = if self.error {
            Some(self.limits.error_body)
        } else {
            self.limits.body
        };
        self.phase = match status {
            101 => Phase::Upgraded,
            // An interim answer: the real head follows.
            100..=199 => Phase::Head,
            204 | 304 => Phase::Done,
            _ if self.head_request => Phase::Done,
            _ if chunked => Phase::Chunked(Chunk::Size {
                value: 0,
                ext: false,
            }),
            _ => match length {
                Some(0) => Phase::Done,
                Some(n) => Phase::Length(n),
                None => Phase::UntilClose,
            },
        };
    }

    /// Body bytes.
    pub(super) fn data(&mut self, bytes: &[u8]) -> Result<(), Broken> {
        self.body += bytes.len() as u64;
        if let Some(limit) = self.body_limit {
            if self.body > limit {
                return Err(if self.error {
                    Broken::Error(limit)
                } else {
                    Broken::Body(limit)
                });
            }
        }
        if let (Some(limit), false) = (self.limits.line, self.error) {
            let mut run = self.line;
            let mut rest = bytes;
            while let Some(i) = rest.iter().position(|b| *b == b'\n') {
                if run + i as u64 > limit {
                    return Err(Broken::Line(limit));
                }
                run = 0;
                rest = &rest[i + 1..];
            }
            run += rest.len() as u64;
            if run > limit {
                return Err(Broken::Line(limit));
            }
            self.line = run;
        }
        Ok(())
    }

    pub(super) fn chunked<'b>(
        &mut self,
        state: Chunk,
        bytes: &'b [u8],
    ) -> Result<&'b [u8], Broken> {
        let mut i = 0;
        let mut state = state;
        while i < bytes.len() {
            match state {
                Chunk::Size { value, ext } => {
                    let b = bytes[i];
                    i += 1;
                    state = match b {
                        b'\n' if value == 0 => Chunk::Trailer { len: 0 },
                        b'\n' => Chunk::Data(value),
                        _ if ext || b == b'\r' => Chunk::Size { value, ext },
                        b';' | b' ' | b'\t' => Chunk::Size { value, ext: true },
                        _ => match (b as char).to_digit(16) {
                            Some(d) if value < (1 << 56) => Chunk::Size {
                                value: value * 16 + u64::from(d),
                                ext,
                            },
                            // Not chunked framing: count the rest as body.
                            _ => {
                                self.phase = Phase::UntilClose;
                                self.data(&bytes[i - 1..])?;
                                return Ok(&[]);
                            }
                        },
                    };
                }
                Chunk::Data(left) => {
                    let n = ((bytes.len() - i) as u64).min(left) as usize;
                    self.data(&bytes[i..i + n])?;
                    i += n;
                    state = if n as u64 == left {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - n as u64)
                    };
                }
                Chunk::DataEnd => {
                    if bytes[i] == b'\n' {
                        state = Chunk::Size {
                            value: 0,
                            ext: false,
                        };
                    }
                    i += 1;
                }
                Chunk::Trailer { len } => {
                    let b = bytes[i];
                    i += 1;
                    state = match b {
                        b'\n' if len == 0 => {
                            self.phase = Phase::Done;
                            return Ok(&bytes[i..]);
                        }
                        b'\n' => Chunk::Trailer { len: 0 },
                        b'\r' => Chunk::Trailer { len },
                        _ if len >= HEAD_LIMIT => return Err(Broken::Head(HEAD_LIMIT as u64)),
                        _ => Chunk::Trailer { len: len + 1 },
                    };
                }
            }
        }
        self.phase = Phase::Chunked(state);
        Ok(&[])
    }
}

/// Where the blank line ending a head ends (just past `\r\n\r\n`), in `buf`.
pub(super) fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::transport::{
        limits_for, ERROR_LIMIT, EXEC_OUTPUT_LIMIT, JSON_LIMIT, LINE_LIMIT,
    };
    use hyper::Method;
    use std::time::Duration;

    const T: Duration = Duration::from_secs(60);

    fn meter(method: &Method, path: &str) -> Meter {
        Meter::new(limits_for(method, path, T), method == Method::HEAD)
    }

    #[test]
    fn a_json_answer_is_counted_through_its_chunks() {
        let mut m = meter(&Method::GET, "/containers/json");
        let answer =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1,2]\r\n3;x=y\r\n,[]\r\n0\r\n\r\n";
        // Byte by byte: every split of the framing.
        for b in answer.iter() {
            m.feed(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(m.body, 8);
        assert_eq!(m.phase, Phase::Done);
        // In one read, with a head split anywhere, the same.
        for split in 1..answer.len() {
            let mut m = meter(&Method::GET, "/containers/json");
            m.feed(&answer[..split]).unwrap();
            m.feed(&answer[split..]).unwrap();
            assert_eq!((m.body, m.phase), (8, Phase::Done), "split at {split}");
        }
    }

    #[test]
    fn an_endless_body_breaks_its_limit() {
        let mut m = meter(&Method::GET, "/containers/json");
        m.feed(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
            .unwrap();
        let blob = vec![b'1'; 1 << 20];
        let mut sent = 1u64;
        let broken = loop {
            match m.feed(&blob) {
                Ok(()) => sent += blob.len() as u64,
                Err(b) => break b,
            }
            assert!(sent <= JSON_LIMIT + (1 << 20), "never broke");
        };
        assert_eq!(broken, Broken::Body(JSON_LIMIT));
    }

    #[test]
    fn an_error_answer_is_small() {
        let mut m = meter(&Method::GET, "/volumes");
        m.feed(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        let chunk = format!("10000\r\n{}\r\n", "A".repeat(65536));
        assert!(m.feed(chunk.as_bytes()).is_ok());
        assert_eq!(m.feed(chunk.as_bytes()), Err(Broken::Error(ERROR_LIMIT)));
    }

    #[test]
    fn an_event_line_is_bounded_and_lines_are_not() {
        let mut m = meter(&Method::GET, "/events");
        m.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        // Many short lines: far more than a line's limit in all.
        let lines = "{\"Type\":\"container\"}\n".repeat(4096);
        let chunk = format!("{:x}\r\n{lines}\r\n", lines.len());
        for _ in 0..64 {
            m.feed(chunk.as_bytes()).unwrap();
        }
        // One line that never ends, across chunks (the chunk framing has line ends of its own).
        let long = format!("10000\r\n{}\r\n", "x".repeat(65536));
        let mut fed = 0;
        let broken = loop {
            match m.feed(long.as_bytes()) {
                Ok(()) => fed += 65536,
                Err(b) => break b,
            }
            assert!(fed <= LINE_LIMIT + 65536, "never broke");
        };
        assert_eq!(broken, Broken::Line(LINE_LIMIT));
    }

    #[test]
    fn a_line_ending_inside_a_read_counts_from_the_line_before() {
        let mut m = meter(&Method::GET, "/events");
        m.feed(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        let almost = vec![b'x'; LINE_LIMIT as usize - 1];
        m.feed(&almost).unwrap();
        // Ends that line at the limit; one of exactly the limit follows, then a short one.
        let mut next = b"y\n".to_vec();
        next.extend(vec![b'z'; LINE_LIMIT as usize]);
        next.extend_from_slice(b"\nab");
        m.feed(&next).unwrap();
        // One byte over, in the middle of a read.
        let mut over = b"\n".to_vec();
        over.extend(vec![b'w'; LINE_LIMIT as usize + 1]);
        over.extend_from_slice(b"\nok\n");
        assert_eq!(m.feed(&over), Err(Broken::Line(LINE_LIMIT)));
    }

    #[test]
    fn no_body_after_head_204_or_101() {
        let mut m = meter(&Method::HEAD, "/containers/abc/archive");
        m.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            .unwrap();
        assert_eq!(m.phase, Phase::Done);
        let mut m = meter(&Method::DELETE, "/containers/abc");
        m.feed(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(m.phase, Phase::Done);
        let mut m = meter(&Method::POST, "/exec/abc/start");
        m.feed(b"HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n\x01\0\0\0\0\0\0\x02ok")
            .unwrap();
        assert!(m.upgraded());
        let blob = vec![0u8; 1 << 20];
        let mut fed = 0u64;
        while m.feed(&blob).is_ok() {
            fed += blob.len() as u64;
            assert!(fed <= EXEC_OUTPUT_LIMIT + (1 << 20), "never broke");
        }
    }

    #[test]
    fn headers_without_an_end_break_the_head_limit() {
        let mut m = meter(&Method::GET, "/_ping");
        m.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        let junk = vec![b'h'; 4096];
        let mut fed = 0;
        while m.feed(&junk).is_ok() {
            fed += junk.len();
            assert!(fed <= HEAD_LIMIT + 4096, "never broke");
        }
    }
}
