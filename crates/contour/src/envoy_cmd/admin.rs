//! A minimal HTTP/1.1 client for Envoy's admin interface (Unix socket or TCP): one request per
//! connection with `Connection: close`, so the response is simply read to the end.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where Envoy's admin listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admin {
    Unix(PathBuf),
    Tcp(u16),
}

impl Admin {
    /// `--admin-address` (a Unix socket path) unless the deprecated `--admin-port` is given.
    pub fn from_flags(address: &str, port: Option<u16>) -> Admin {
        match port {
            Some(p) => Admin::Tcp(p),
            None => Admin::Unix(PathBuf::from(address)),
        }
    }

    /// Sends `method path` and returns the status code and body.
    pub async fn request(&self, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
        let what = format!("Envoy admin {method} {path} ({self:?})");
        tokio::time::timeout(ADMIN_TIMEOUT, self.request_inner(method, path))
            .await
            .map_err(|_| anyhow!("{what}: no answer within {ADMIN_TIMEOUT:?}"))?
            .with_context(|| what.clone())
    }

    async fn request_inner(&self, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
        match self {
            Admin::Unix(p) => {
                exchange(tokio::net::UnixStream::connect(p).await?, method, path).await
            }
            Admin::Tcp(port) => {
                exchange(
                    tokio::net::TcpStream::connect(("127.0.0.1", *port)).await?,
                    method,
                    path,
                )
                .await
            }
        }
    }
}

async fn exchange<S>(mut s: S, method: &str, path: &str) -> anyhow::Result<(u16, String)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: envoy-admin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    parse_response(&raw)
}

/// Status code and body of a raw HTTP/1.1 response (identity or chunked body).
pub fn parse_response(raw: &[u8]) -> anyhow::Result<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("malformed HTTP response"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("malformed HTTP status line"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    ))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_chunked_bodies() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK").unwrap();
        assert_eq!(r, (200, "OK".to_string()));
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r, (200, "abcde".to_string()));
        assert!(parse_response(b"garbage").is_err());
    }
}
