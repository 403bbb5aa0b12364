//! The attendee side's HTTP: one JSON request to the classroom server, bounded in time and
//! size. Plain HTTP (a workshop's local network); the server's address is `http://HOST:PORT`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};

/// The largest answer read.
const ANSWER_LIMIT: usize = 64 * 1024;

/// A classroom server's address, checked: `http://HOST[:PORT]` with no path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// `HOST:PORT`, as connected to and sent in `Host:`.
    pub authority: String,
}

impl ServerUrl {
    pub fn parse(url: &str) -> Result<ServerUrl, String> {
        let url = url.trim().trim_end_matches('/');
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!(
                "{} is not a classroom address: it holds spaces or control characters",
                crate::ui::safe_text::line(url)
            ));
        }
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(if url.starts_with("https://") {
                format!(
                    "{url}: the classroom server speaks plain HTTP on the workshop's network; \
                     use the http:// address `workbook classroom serve` printed"
                )
            } else {
                format!(
                    "{url} is not a classroom address: it looks like http://10.0.0.5:7300, as \
                     `workbook classroom serve` printed it"
                )
            });
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "{url} is not a classroom address: only http://HOST:PORT, with no path"
            ));
        }
        let port_ok = |p: &str| p.parse::<u16>().is_ok_and(|p| p > 0);
        let authority = if let Some(v6) = rest.strip_prefix('[') {
            match v6.split_once(']') {
                Some((h, "")) if !h.is_empty() => format!("{rest}:80"),
                Some((h, p)) if !h.is_empty() && p.strip_prefix(':').is_some_and(port_ok) => {
                    rest.to_string()
                }
                _ => return Err(format!("{url}: not an address with a port from 1 to 65535")),
            }
        } else {
            match rest.split_once(':') {
                None => format!("{rest}:80"),
                Some((h, p)) if !h.is_empty() && port_ok(p) => rest.to_string(),
                _ => return Err(format!("{url}: the port is not a number from 1 to 65535")),
            }
        };
        Ok(ServerUrl { authority })
    }

    /// `http://HOST:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.authority)
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Nothing answered in time, or the connection failed: the network or the server is down.
    Unreachable(String),
    /// The answer could not be read.
    Garbled(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(s) | Failure::Garbled(s) => f.write_str(s),
        }
    }
}

/// An answer: its status, `Retry-After` in seconds, and its body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    pub body: Bytes,
}

impl Answer {
    /// The server's `{"error": ...}` text, else the status.
    pub fn error_text(&self) -> String {
        serde_json::from_slice::<crate::classroom::record::ErrorAnswer>(&self.body)
            .map(|e| crate::ui::safe_text::line(&e.error).into_owned())
            .unwrap_or_else(|_| format!("the server answered {}", self.status))
    }
}

/// `POST path` with a JSON body (and `Authorization: Bearer token`), all within `within`.
pub async fn post(
    url: &ServerUrl,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
    within: Duration,
) -> Result<Answer, Failure> {
    match tokio::time::timeout(within, exchange(url, path, token, body)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Unreachable(format!(
            "{} did not answer within {} ms",
            url.base(),
            within.as_millis()
        ))),
    }
}

async fn exchange(
    url: &ServerUrl,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<Answer, Failure> {
    let stream = tokio::net::TcpStream::connect(&url.authority)
        .await
        .map_err(|e| Failure::Unreachable(format!("cannot reach {}: {e}", url.base())))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| Failure::Unreachable(format!("{}: {e}", url.base())))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(hyper::header::HOST, &url.authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("workbook/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(t) = token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| Failure::Garbled(e.to_string()))?;
    let answer = sender
        .send_request(req)
        .await
        .map_err(|e| Failure::Unreachable(format!("{}: {e}", url.base())))?;
    let status = answer.status();
    let retry_after = answer
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = Limited::new(answer.into_body(), ANSWER_LIMIT)
        .collect()
        .await
        .map_err(|e| Failure::Garbled(format!("{}: the answer: {e}", url.base())))?
        .to_bytes();
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        let u = ServerUrl::parse("http://10.0.0.5:7300/").unwrap();
        assert_eq!(u.authority, "10.0.0.5:7300");
        assert_eq!(u.base(), "http://10.0.0.5:7300");
        assert_eq!(
            ServerUrl::parse("http://teacher.local").unwrap().authority,
            "teacher.local:80"
        );
        assert!(ServerUrl::parse("https://x:1")
            .unwrap_err()
            .contains("plain HTTP"));
        assert!(ServerUrl::parse("10.0.0.5:7300").is_err());
        assert!(ServerUrl::parse("http://x:1/api").is_err());
        assert!(ServerUrl::parse("http://x:99999").is_err());
        assert!(ServerUrl::parse("http://u@x:1").is_err());
    }
}
