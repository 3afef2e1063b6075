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
    pub fn score(self, entry: &Entry, expires_at: Option<u64>, now_ms: u64) -> u64 {
        match self {
            Policy::NoEviction => 0,
            Policy::AllKeysLru | Policy::VolatileLru => entry.access.idle_seconds(now_ms),
            Policy::AllKeysLfu | Policy::VolatileLfu => 255 - u64::from(entry.access.frequency(now_ms)),
            // Sooner expiry first; keys without one never qualify under volatile-ttl.
            Policy::VolatileTtl => u64::MAX - expires_at.unwrap_or(u64::MAX),
            Policy::AllKeysRandom | Policy::VolatileRandom => 0,
        }
    }
}

/// When a key was last used and how often: what LRU and LFU eviction and OBJECT IDLETIME/FREQ
/// read. Both fit in four bytes next to the value, as in Redis's 24-bit LRU clock: the low byte
/// is the LFU counter, the rest the wall-clock second of the last access, modulo 2^24 (so idle
/// times wrap after 194 days, as Redis's do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(u32);

/// New keys start with a small count so they are not evicted before they had a chance to be used.
const LFU_INITIAL: u8 = 5;
/// `lfu-log-factor`: how many hits it takes to grow the counter (the higher, the more).
const LFU_LOG_FACTOR: u64 = 10;
/// `lfu-decay-time`: the counter shrinks by one for every this many idle minutes.
const LFU_DECAY_MINUTES: u64 = 1;
/// The clock's range: 24 bits of seconds.
const CLOCK_MASK: u32 = (1 << 24) - 1;

impl Access {
    pub fn new(now_ms: u64) -> Self {
        Access::at(now_ms, LFU_INITIAL)
    }

    fn at(now_ms: u64, counter: u8) -> Self {
        Access(clock(now_ms) << 8 | u32::from(counter))
    }

    fn touched(self) -> u32 {
        self.0 >> 8
    }

    fn counter(self) -> u8 {
        self.0 as u8
    }

    /// Records an access: the time, and a probabilistic increment of the counter after decaying it.
    pub fn touch(&mut self, now_ms: u64, rng: &mut Rng) {
        let counter = self.frequency(now_ms);
        // Grows with probability 1 / odds: cheap to keep, logarithmic in hits. (A remainder, not
        // `Rng::below`: its 128-bit product is a library call on the component's 32-bit target.)
        let odds = u64::from(counter.saturating_sub(LFU_INITIAL)) * LFU_LOG_FACTOR + 1;
        let grow = counter < 255 && (odds == 1 || rng.next_u64() % odds == 0);
        *self = Access::at(now_ms, if grow { counter + 1 } else { counter });
    }

    pub fn idle_seconds(&self, now_ms: u64) -> u64 {
        u64::from(clock(now_ms).wrapping_sub(self.touched()) & CLOCK_MASK)
    }

    /// The counter with the decay for idle time applied (OBJECT FREQ).
    pub fn frequency(&self, now_ms: u64) -> u8 {
        let decay = self.idle_seconds(now_ms) / 60 / LFU_DECAY_MINUTES;
        self.counter().saturating_sub(decay.min(255) as u8)
    }
}

fn clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32 & CLOCK_MASK
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
        let day = 86_400_000;
        let before_wrap = (102 << 24) * 1000 - 100_000;
        let late = Access::new(before_wrap);
        assert_eq!(late.idle_seconds(before_wrap + 3 * day), 3 * 86_400, "idle time across the clock's wrap");
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
