//! Talking to Envoy's admin interface over a Unix socket or TCP.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Empty};
use hyper::Method;
use hyper::body::Bytes;
use hyper::rt::{Read, Write};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixStream};

/// Limit for one admin request.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where an Envoy's admin listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAddress {
    Unix(PathBuf),
    Tcp(u16),
}

impl AdminAddress {
    /// Sends `method path` to the admin and returns status and body.
    ///
    /// # Errors
    /// When the admin cannot be reached or does not answer in time.
    pub async fn request(&self, method: Method, path: &str) -> anyhow::Result<(u16, String)> {
        let what = format!("admin {method} {path} at {self:?}");
        tokio::time::timeout(ADMIN_TIMEOUT, self.request_inner(method, path))
            .await
            .map_err(|_| anyhow!("{what} timed out after {ADMIN_TIMEOUT:?}"))?
            .with_context(|| what.clone())
    }

    async fn request_inner(&self, method: Method, path: &str) -> anyhow::Result<(u16, String)> {
        match self {
            Self::Unix(socket) => {
                let stream = UnixStream::connect(socket).await?;
                send(TokioIo::new(stream), method, path).await
            }
            Self::Tcp(port) => {
                let stream =
                    TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, *port))).await?;
                send(TokioIo::new(stream), method, path).await
            }
        }
    }
}

async fn send<IO>(io: IO, method: Method, path: &str) -> anyhow::Result<(u16, String)>
where
    IO: Read + Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    let conn = tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "envoy-admin")
        .body(Empty::<Bytes>::new())?;
    let result = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((status, String::from_utf8_lossy(&body).into_owned()))
    }
    .await;
    conn.abort();
    result
}

/// Parses the value of counter or gauge `name` from admin `/stats` text output.
pub(crate) fn parse_stat(stats: &str, name: &str) -> anyhow::Result<Option<u64>> {
    for line in stats.lines() {
        if let Some((key, value)) = line.split_once(": ")
            && key == name
        {
            let value = value.trim();
            return match value.parse() {
                Ok(v) => Ok(Some(v)),
                Err(_) => bail!("stat {name} is not a number: {value:?}"),
            };
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_stat() {
        let stats = "cluster.a.upstream_rq_total: 3\ncluster.a.upstream_rq_total_x: 9\n";
        assert_eq!(
            parse_stat(stats, "cluster.a.upstream_rq_total").unwrap(),
            Some(3)
        );
        assert_eq!(
            parse_stat(stats, "cluster.b.upstream_rq_total").unwrap(),
            None
        );
        assert!(parse_stat("h: P0(nan)", "h").is_err());
    }
}
