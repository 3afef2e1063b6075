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

impl From<Output> for wit::Output {
    fn from(out: Output) -> wit::Output {
        let progress = out.progress.map(|p| wit::Progress {
            consumed: u32::try_from(p.consumed).unwrap_or(u32::MAX),
            wanted: u32::try_from(p.wanted).unwrap_or(u32::MAX),
            more: p.more,
        });
        wit::Output { id: out.id, progress, data: out.data, close: out.close, discard_unsent: out.discard_unsent, session: out.session, resume: out.resume }
    }
}

fn backlogs(backlogs: &[wit::Backlog]) -> Vec<Backlog> {
    backlogs.iter().map(|b| Backlog { id: b.id, unsent: b.unsent }).collect()
}

fn outcome(engine: &Engine, outputs: Vec<Output>) -> wit::Outcome {
    wit::Outcome { outputs: outputs.into_iter().map(wit::Output::from).collect(), next_deadline: engine.next_deadline() }
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

    fn feed(now: wit::Time, reported: Vec<wit::Backlog>, inputs: Vec<wit::Input>) -> wit::Outcome {
        with_engine(|engine| {
            engine.note_backlogs(now.into(), &backlogs(&reported));
            let inputs: smallvec::SmallVec<[Input<'_>; 16]> = inputs.iter().map(|i| Input { id: i.id, data: &i.data }).collect();
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
