//! Pub/Sub: which connections subscribe to which channels, patterns and shard channels. PUBLISH
//! looks its receivers up here and writes to them through the outbox, whatever connection they
//! are on.

use crate::glob::matches as glob_match;
use foldhash::fast::FixedState;
use std::collections::HashMap;

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

type Subscribers = HashMap<Vec<u8>, Vec<u64>, FixedState>;

#[derive(Default)]
pub struct PubSub {
    channels: Subscribers,
    patterns: Subscribers,
    shard: Subscribers,
}

impl PubSub {
    fn table(&self, kind: Kind) -> &Subscribers {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn table_mut(&mut self, kind: Kind) -> &mut Subscribers {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    pub fn subscribe(&mut self, kind: Kind, connection: u64, name: &[u8]) {
        let subscribers = self.table_mut(kind).entry(name.to_vec()).or_default();
        if !subscribers.contains(&connection) {
            subscribers.push(connection);
        }
    }

    pub fn unsubscribe(&mut self, kind: Kind, connection: u64, name: &[u8]) {
        let table = self.table_mut(kind);
        if let Some(subscribers) = table.get_mut(name) {
            subscribers.retain(|c| *c != connection);
            if subscribers.is_empty() {
                table.remove(name);
            }
        }
    }

    /// Who receives a message published on `channel`: its subscribers, then every connection
    /// whose pattern matches it (with the pattern), once per matching pattern, as Redis delivers.
    pub fn receivers<'a>(&'a self, channel: &[u8]) -> Vec<(u64, Option<&'a [u8]>)> {
        let mut receivers: Vec<(u64, Option<&[u8]>)> =
            self.channels.get(channel).map_or_else(Vec::new, |s| s.iter().map(|c| (*c, None)).collect());
        for (pattern, subscribers) in &self.patterns {
            if glob_match(pattern, channel, false) {
                receivers.extend(subscribers.iter().map(|c| (*c, Some(pattern.as_slice()))));
            }
        }
        receivers
    }

    /// Who receives a message published on shard channel `channel`.
    pub fn shard_receivers(&self, channel: &[u8]) -> &[u64] {
        self.shard.get(channel).map_or(&[], Vec::as_slice)
    }

    /// Channels (or shard channels) with at least one subscriber, matching `pattern` if given.
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        let mut names: Vec<&[u8]> =
            self.table(kind).keys().map(Vec::as_slice).filter(|name| pattern.is_none_or(|p| glob_match(p, name, false))).collect();
        names.sort_unstable();
        names
    }

    /// How many connections subscribe to `name`.
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.table(kind).get(name).map_or(0, Vec::len)
    }

    /// How many distinct patterns are subscribed to (PUBSUB NUMPAT, INFO's pubsub_patterns).
    pub fn patterns(&self) -> usize {
        self.patterns.len()
    }

    /// How many channels have subscribers (INFO's pubsub_channels).
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// How many shard channels have subscribers (INFO's pubsubshard_channels).
    pub fn shard_channels(&self) -> usize {
        self.shard.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_by_channel_and_pattern() {
        let mut pubsub = PubSub::default();
        pubsub.subscribe(Kind::Channel, 1, b"news");
        pubsub.subscribe(Kind::Channel, 2, b"news");
        pubsub.subscribe(Kind::Pattern, 2, b"n*");
        pubsub.subscribe(Kind::Shard, 3, b"news");
        let receivers = pubsub.receivers(b"news");
        assert_eq!(receivers, [(1, None), (2, None), (2, Some(&b"n*"[..]))]);
        assert_eq!(pubsub.shard_receivers(b"news"), [3]);
        pubsub.unsubscribe(Kind::Channel, 1, b"news");
        pubsub.unsubscribe(Kind::Channel, 2, b"news");
        assert_eq!(pubsub.active(Kind::Channel, None), Vec::<&[u8]>::new());
        assert_eq!((pubsub.patterns(), pubsub.subscribers(Kind::Shard, b"news")), (1, 1));
    }
}
