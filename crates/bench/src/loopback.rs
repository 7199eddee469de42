//! The fan-out floor: what pushing the same bytes to the same number of clients costs through
//! loopback TCP on this machine with no protocol at all. One buffer is written whole to each
//! connection (the fewest system calls any server can make); each reader either drops what it
//! reads (the transfer alone: no control plane can fan out faster) or collects its copy in one
//! buffer, as the benchmark's gRPC clients collect a message before decoding it.

use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a reader does with the bytes it reads.
#[derive(Clone, Copy, Debug)]
pub enum Readers {
    Drop,
    Collect,
}

/// Writes `bytes` bytes to each of `clients` loopback connections at once and returns the time
/// until the last reader has read all of them. The connections are open before the clock starts.
pub async fn push_floor(
    clients: usize,
    bytes: usize,
    readers: Readers,
) -> anyhow::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut ends = Vec::with_capacity(clients);
    let mut writers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        ends.push(client.context("connecting a loopback reader")?);
        writers.push(accepted.context("accepting a loopback reader")?.0);
    }
    let payload = Bytes::from(vec![0x5a_u8; bytes]);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut w in writers {
        let payload = payload.clone();
        tasks.spawn(async move { w.write_all(&payload).await.map(|_| None) });
    }
    for mut r in ends {
        tasks.spawn(async move { read_all(&mut r, bytes, readers).await.map(Some) });
    }
    let mut last = Duration::ZERO;
    while let Some(done) = tasks.join_next().await {
        if let Some(n) = done?? {
            anyhow::ensure!(n == bytes, "a loopback reader got {n} of {bytes} bytes");
            last = last.max(start.elapsed());
        }
    }
    Ok(last)
}

/// Reads until `bytes` have arrived or the peer closes; returns how many arrived.
async fn read_all(r: &mut TcpStream, bytes: usize, readers: Readers) -> std::io::Result<usize> {
    let mut kept = Vec::new();
    let mut buf = vec![0_u8; 256 * 1024];
    let mut got = 0;
    if let Readers::Collect = readers {
        kept.reserve_exact(bytes);
    }
    while got < bytes {
        let n = match readers {
            Readers::Drop => r.read(&mut buf).await?,
            Readers::Collect => r.read_buf(&mut kept).await?,
        };
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// The median of five pushes.
pub async fn median_floor(clients: usize, bytes: usize, readers: Readers) -> anyhow::Result<f64> {
    let mut took = Vec::new();
    for _ in 0..5 {
        took.push(crate::report::ms(
            push_floor(clients, bytes, readers).await?,
        ));
    }
    Ok(crate::report::percentile(&took, 50.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_reader_gets_every_byte() {
        for readers in [Readers::Drop, Readers::Collect] {
            let took = push_floor(3, 1 << 20, readers).await.unwrap();
            assert!(took > Duration::ZERO);
        }
    }
}
