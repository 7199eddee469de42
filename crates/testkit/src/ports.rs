//! Local ports that one test process never hands out twice.
//!
//! Every port given to a test (by [`free_port`] or bound by an echo backend)
//! is recorded in a process-wide set, so two tests running in parallel threads
//! cannot be given the same port even if one has not bound it yet.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Record `port` as taken; false when it had been handed out already.
fn claim(port: u16) -> bool {
    let mut ports = handed_out()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ports.insert(port)
}

/// Bind a listener on 127.0.0.1 with an OS-chosen port that this process has
/// not handed out before, and claim that port.
pub(crate) fn bind_unique() -> std::io::Result<TcpListener> {
    // The OS may pick a port we handed out earlier (and that is not bound yet);
    // keep the listener and try again until the port is new to this process.
    let mut held = Vec::new();
    loop {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let port = listener.local_addr()?.port();
        if claim(port) {
            return Ok(listener);
        }
        held.push(listener);
        if held.len() > 64 {
            return Err(std::io::Error::other("no unclaimed local port"));
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listened on when it was chosen and that
/// no other caller in this process will be given.
///
/// # Panics
/// When the OS cannot bind any local port (the machine is out of ports).
pub fn free_port() -> u16 {
    let listener = bind_unique().expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_never_repeated() {
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let unique: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
        assert!(ports.iter().all(|p| *p != 0));
    }
}
