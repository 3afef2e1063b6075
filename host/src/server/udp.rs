//! The UDP endpoint: each datagram carries one or more commands, and their replies go back to the
//! sender in one datagram.
//!
//! Every sender address gets a session of its own (selected database, protocol), created by its
//! first datagram and dropped after it has been idle for the configured time. A datagram must hold
//! whole commands: nothing is kept between datagrams.

use super::{Shared, Shutdown};
use crate::runtime::{Input, Output, Peer, PeerKind};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// The most a UDP datagram can carry over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

struct Sender {
    id: u64,
    last_seen: Instant,
}

pub async fn serve(shared: Shared, socket: UdpSocket, idle_timeout: Duration, mut shutdown: Shutdown) {
    let local = socket.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut senders: HashMap<SocketAddr, Sender> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    let mut reap = tokio::time::interval(Duration::from_secs(1).min(idle_timeout));
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = received else { continue };
                if let Some(reply) = answer(&shared, &mut senders, &local, from, &buf[..n]) {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
            _ = reap.tick() => reap_idle(&shared, &mut senders, idle_timeout),
            _ = shutdown.changed() => break,
        }
    }
    for sender in senders.into_values() {
        shared.supervisor.borrow_mut().close(sender.id);
    }
}

/// Runs a datagram's commands and returns the datagram to send back, if any.
fn answer(
    shared: &Shared,
    senders: &mut HashMap<SocketAddr, Sender>,
    local: &str,
    from: SocketAddr,
    datagram: &[u8],
) -> Option<Vec<u8>> {
    let mut supervisor = shared.supervisor.borrow_mut();
    let id = match senders.get_mut(&from) {
        Some(sender) => {
            sender.last_seen = Instant::now();
            sender.id
        }
        None => {
            let peer = Peer { kind: PeerKind::Udp, address: from.to_string(), local_address: local.to_string() };
            match supervisor.open(peer) {
                Ok(id) => {
                    senders.insert(from, Sender { id, last_seen: Instant::now() });
                    id
                }
                Err(refusal) => return Some(refusal),
            }
        }
    };
    let mut reply = Vec::new();
    let mut consumed = 0;
    let (mut close, mut more);
    loop {
        let outputs = supervisor.feed_all(&[Input { id, data: &datagram[consumed..] }]);
        let (ours, others): (Vec<Output>, Vec<Output>) = outputs.into_iter().partition(|o| o.id == id);
        // What the commands made for other connections (a client killed, a message published).
        supervisor.defer(others);
        let out = ours.into_iter().next().unwrap_or(Output { id, progress: None, data: Vec::new(), close: true, discard_unsent: false, session: None, resume: false });
        reply.extend_from_slice(&out.data);
        consumed += out.progress.map_or(datagram.len() - consumed, |p| p.consumed as usize);
        (close, more) = (out.close, out.progress.is_some_and(|p| p.more));
        if !more || reply.len() > MAX_DATAGRAM {
            break;
        }
    }
    if consumed < datagram.len() && !close && !more {
        reply.extend_from_slice(b"-ERR Protocol error: incomplete command at the end of the datagram\r\n");
    }
    if close {
        senders.remove(&from);
        supervisor.close(id);
    }
    if reply.len() > MAX_DATAGRAM {
        reply = format!(
            "-ERR the reply ({} bytes) does not fit in one datagram ({MAX_DATAGRAM} bytes); use TCP for this command\r\n",
            reply.len()
        )
        .into_bytes();
    }
    (!reply.is_empty()).then_some(reply)
}

fn reap_idle(shared: &Shared, senders: &mut HashMap<SocketAddr, Sender>, idle_timeout: Duration) {
    let now = Instant::now();
    senders.retain(|_, sender| {
        let keep = now.duration_since(sender.last_seen) < idle_timeout;
        if !keep {
            shared.supervisor.borrow_mut().close(sender.id);
        }
        keep
    });
}
