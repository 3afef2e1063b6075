//! Choosing keys to evict when memory is over `maxmemory`, as Redis does: by sampling a few keys
//! and evicting the best candidate among them, rather than keeping an exact order of all keys.

use super::Entry;
use crate::rng::Rng;

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    pub const ALL: [(&'static str, Policy); 8] = [
        ("noeviction", Policy::NoEviction),
        ("allkeys-lru", Policy::AllKeysLru),
        ("allkeys-lfu", Policy::AllKeysLfu),
        ("allkeys-random", Policy::AllKeysRandom),
        ("volatile-lru", Policy::VolatileLru),
        ("volatile-lfu", Policy::VolatileLfu),
        ("volatile-random", Policy::VolatileRandom),
        ("volatile-ttl", Policy::VolatileTtl),
    ];

    pub fn parse(name: &str) -> Option<Policy> {
        Self::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, p)| *p)
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, p)| *p == self).map_or("noeviction", |(n, _)| n)
    }

    /// Whether only keys with an expiry may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }

    pub fn uses_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    /// How much a key deserves eviction under this policy: higher is evicted first.
    pub fn score(self, entry: &Entry, now_ms: u64) -> u64 {
        match self {
            Policy::NoEviction => 0,
            Policy::AllKeysLru | Policy::VolatileLru => entry.access.idle_seconds(now_ms),
            Policy::AllKeysLfu | Policy::VolatileLfu => 255 - u64::from(entry.access.frequency(now_ms)),
            // Sooner expiry first; keys without one never qualify under volatile-ttl.
            Policy::VolatileTtl => u64::MAX - entry.expires_at().unwrap_or(u64::MAX),
            Policy::AllKeysRandom | Policy::VolatileRandom => 0,
        }
    }
}

/// When a key was last used and how often: what LRU and LFU eviction and OBJECT IDLETIME/FREQ
/// read. Both fit in eight bytes, next to the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Wall-clock seconds (since the Unix epoch, truncated to 32 bits) of the last access.
    touched: u32,
    /// A logarithmic access counter, as Redis's LFU keeps it.
    counter: u8,
}

/// New keys start with a small count so they are not evicted before they had a chance to be used.
const LFU_INITIAL: u8 = 5;
/// `lfu-log-factor`: how many hits it takes to grow the counter (the higher, the more).
const LFU_LOG_FACTOR: u64 = 10;
/// `lfu-decay-time`: the counter shrinks by one for every this many idle minutes.
const LFU_DECAY_MINUTES: u64 = 1;

impl Access {
    pub fn new(now_ms: u64) -> Self {
        Access { touched: seconds(now_ms), counter: LFU_INITIAL }
    }

    /// Records an access: the time, and a probabilistic increment of the counter after decaying it.
    pub fn touch(&mut self, now_ms: u64, rng: &mut Rng) {
        let counter = self.frequency(now_ms);
        let base = u64::from(counter.saturating_sub(LFU_INITIAL));
        // Grows with probability 1 / (base * factor + 1): cheap to keep, logarithmic in hits.
        let grow = counter < 255 && rng.below(base * LFU_LOG_FACTOR + 1) == 0;
        self.counter = if grow { counter + 1 } else { counter };
        self.touched = seconds(now_ms);
    }

    pub fn idle_seconds(&self, now_ms: u64) -> u64 {
        u64::from(seconds(now_ms).wrapping_sub(self.touched))
    }

    /// The counter with the decay for idle time applied (OBJECT FREQ).
    pub fn frequency(&self, now_ms: u64) -> u8 {
        let decay = self.idle_seconds(now_ms) / 60 / LFU_DECAY_MINUTES;
        self.counter.saturating_sub(decay.min(255) as u8)
    }
}

fn seconds(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let mut rng = Rng::new(1);
        let mut access = Access::new(0);
        for _ in 0..100 {
            access.touch(0, &mut rng);
        }
        let after_100 = access.frequency(0);
        for _ in 0..10_000 {
            access.touch(0, &mut rng);
        }
        let after_10_100 = access.frequency(0);
        assert!(after_100 > LFU_INITIAL && after_100 < 30, "{after_100}");
        assert!(after_10_100 > after_100 && after_10_100 < 100, "{after_10_100}");
        assert_eq!(access.frequency(10 * 60 * 1000), after_10_100 - 10, "one less per idle minute");
        assert_eq!(access.idle_seconds(90_000), 90);
    }

    #[test]
    fn policy_names() {
        for (name, policy) in Policy::ALL {
            assert_eq!(Policy::parse(name), Some(policy));
            assert_eq!(policy.name(), name);
        }
        assert_eq!(Policy::parse("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
        assert_eq!(Policy::parse("lru"), None);
    }
}
