//! The glue between the WIT `server` interface and [`Engine`]: only conversions, no logic.

use super::Component;
use super::exports::cachet::engine::server as wit;
use super::with_engine;
use crate::engine::{Backlog, Engine, Input};
use crate::outbox::Output;
use crate::session::{Peer, PeerKind};
use crate::time::Now;

impl From<wit::Time> for Now {
    fn from(now: wit::Time) -> Now {
        Now { wall_ms: now.wall_ms, mono_ns: now.monotonic_ns }
    }
}

impl From<wit::Peer> for Peer {
    fn from(peer: wit::Peer) -> Peer {
        let kind = match peer.kind {
            wit::PeerKind::Tcp => PeerKind::Tcp,
            wit::PeerKind::Unix => PeerKind::Unix,
            wit::PeerKind::Udp => PeerKind::Udp,
        };
        Peer { kind, address: peer.address, local_address: peer.local_address }
    }
}

/// The call's outputs as the interface carries them: each one's bytes one after another in a
/// single list. A call whose bytes are all one connection's hands that buffer over as it is; the
/// others' buffers, and the list of outputs, go back to the engine for its next call.
fn pack(engine: &mut Engine, mut outputs: Vec<Output>) -> (Vec<wit::Output>, Vec<u8>) {
    let total: usize = outputs.iter().map(|out| out.data.len()).sum();
    let mut data = Vec::new();
    let mut packed = Vec::with_capacity(outputs.len());
    for out in outputs.drain(..) {
        let len = out.data.len();
        if len == total {
            data = out.data;
        } else {
            if len > 0 {
                if data.is_empty() {
                    data.reserve_exact(total);
                }
                data.extend_from_slice(&out.data);
            }
            engine.recycle_buffer(out.data);
        }
        let progress = out.progress.map(|p| wit::Progress {
            consumed: u32::try_from(p.consumed).unwrap_or(u32::MAX),
            wanted: u32::try_from(p.wanted).unwrap_or(u32::MAX),
            more: p.more,
        });
        // Linear memory is 32-bit: no output is as long as u32::MAX.
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        packed.push(wit::Output { id: out.id, progress, len, close: out.close, discard_unsent: out.discard_unsent, session: out.session, resume: out.resume });
    }
    engine.recycle_outputs(outputs);
    (packed, data)
}

/// Each input's bytes, cut from the call's `data` in order (an input said to reach past its end
/// gets what is left).
fn unpack<'a>(inputs: &[wit::Input], data: &'a [u8]) -> smallvec::SmallVec<[Input<'a>; 16]> {
    let mut rest = data;
    inputs
        .iter()
        .map(|input| {
            let (own, after) = rest.split_at((input.len as usize).min(rest.len()));
            rest = after;
            Input { id: input.id, data: own }
        })
        .collect()
}

fn backlogs(backlogs: &[wit::Backlog]) -> Vec<Backlog> {
    backlogs.iter().map(|b| Backlog { id: b.id, unsent: b.unsent }).collect()
}

fn outcome(engine: &mut Engine, outputs: Vec<Output>) -> wit::Outcome {
    let (outputs, data) = pack(engine, outputs);
    wit::Outcome { outputs, data, next_deadline: engine.next_deadline() }
}

impl wit::Guest for Component {
    fn configure(settings: Vec<(String, String)>) -> Result<(), wit::ConfigError> {
        with_engine(|engine| engine.configure(&settings)).map_err(|e| wit::ConfigError { name: e.name, message: e.message })
    }

    fn open(now: wit::Time, id: wit::ConnectionId, peer: wit::Peer, session: Option<Vec<u8>>) -> Result<wit::Outcome, Vec<u8>> {
        with_engine(|engine| match engine.open(now.into(), id, peer.into(), session.as_deref()) {
            Some(refusal) => Err(refusal),
            None => Ok(outcome(engine, Vec::new())),
        })
    }

    fn close(now: wit::Time, id: wit::ConnectionId) -> wit::Outcome {
        with_engine(|engine| {
            let outputs = engine.close(now.into(), id);
            outcome(engine, outputs)
        })
    }

    fn feed(now: wit::Time, reported: Vec<wit::Backlog>, inputs: Vec<wit::Input>, data: Vec<u8>) -> wit::Outcome {
        with_engine(|engine| {
            engine.note_backlogs(now.into(), &backlogs(&reported));
            let inputs = unpack(&inputs, &data);
            let outputs = engine.feed(now.into(), &inputs);
            outcome(engine, outputs)
        })
    }

    fn tick(now: wit::Time, reported: Vec<wit::Backlog>) -> wit::Outcome {
        with_engine(|engine| {
            engine.note_backlogs(now.into(), &backlogs(&reported));
            let outputs = engine.tick(now.into());
            outcome(engine, outputs)
        })
    }
}
