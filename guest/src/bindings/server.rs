//! The glue between the WIT `server` interface and [`Engine`]: only conversions, no logic.

use super::Component;
use super::cachet::engine::{clock, random};
use super::exports::cachet::engine::server as wit;
use crate::server::{Engine, Now};
use crate::session::{Peer, PeerKind};
use std::cell::{Cell, RefCell};

thread_local! {
    // A component instance runs one call at a time, on one thread.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The last wall-clock reading and the monotonic time it was taken at.
    static WALL: Cell<Option<Now>> = const { Cell::new(None) };
}

/// The time for one call. The wall clock counts milliseconds, so it is asked for again only once
/// a millisecond has passed on the monotonic clock: a busy server makes one clock call per call
/// instead of two, and its times are never more than a millisecond old.
fn now() -> Now {
    let mono_ns = clock::monotonic_now();
    let wall_ms = match WALL.get() {
        Some(last) if mono_ns.saturating_sub(last.mono_ns) < 1_000_000 => last.wall_ms,
        _ => {
            let wall_ms = clock::wall_now();
            WALL.set(Some(Now { wall_ms, mono_ns }));
            wall_ms
        }
    };
    Now { wall_ms, mono_ns }
}

pub(super) fn with_engine<T>(f: impl FnOnce(&mut Engine, Now) -> T) -> T {
    ENGINE.with_borrow_mut(|slot| {
        let now = now();
        let engine = slot.get_or_insert_with(|| {
            super::install_log();
            Engine::new(random::random_u64(), now)
        });
        f(engine, now)
    })
}

impl wit::Guest for Component {
    fn configure(settings: Vec<(String, String)>) -> Result<(), wit::ConfigError> {
        with_engine(|engine, _| engine.configure(&settings))
            .map_err(|e| wit::ConfigError { name: e.name, message: e.message })
    }

    fn open(id: wit::ConnectionId, peer: wit::Peer, session: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let kind = match peer.kind {
            wit::PeerKind::Tcp => PeerKind::Tcp,
            wit::PeerKind::Unix => PeerKind::Unix,
            wit::PeerKind::Udp => PeerKind::Udp,
        };
        let peer = Peer { kind, address: peer.address, local_address: peer.local_address };
        with_engine(|engine, now| engine.open(id, peer, session.as_deref(), now))
    }

    fn close(id: wit::ConnectionId) {
        with_engine(|engine, _| engine.close(id));
    }

    fn feed(inputs: Vec<wit::Input>) -> Vec<wit::Output> {
        with_engine(|engine, now| {
            inputs
                .into_iter()
                .map(|input| {
                    let out = engine.feed(input.id, &input.data, now);
                    wit::Output {
                        id: input.id,
                        consumed: out.consumed as u32,
                        wanted: u32::try_from(out.wanted).unwrap_or(u32::MAX),
                        reply: out.reply,
                        close: out.close,
                        more: out.more,
                        session: out.session,
                    }
                })
                .collect()
        })
    }

    fn tick() -> wit::TickResult {
        with_engine(|engine, now| {
            let tick = engine.tick(now);
            wit::TickResult { next_deadline: tick.next_deadline_ns, close: tick.close }
        })
    }
}
