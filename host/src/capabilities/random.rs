//! `cachet:engine/random`: seeds for the component's own generator.

use super::bindings::cachet::engine::random;

impl random::Host for super::HostState {
    fn random_u64(&mut self) -> u64 {
        if let Some(state) = &mut self.random_seed {
            return splitmix64(state);
        }
        let mut bytes = [0u8; 8];
        // The operating system's generator; should it fail, a seed from the hasher's per-process
        // keys still differs between runs, which is all sampling needs.
        if getrandom::fill(&mut bytes).is_err() {
            use std::hash::{BuildHasher, RandomState};
            return RandomState::new().hash_one(std::time::SystemTime::now());
        }
        u64::from_le_bytes(bytes)
    }
}

/// The next number of the SplitMix64 sequence: a fixed, well-known sequence, so another host given
/// the same seed gives the component the same numbers.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    #[test]
    fn splitmix64_is_the_published_sequence() {
        let mut state = 1234567;
        let first: Vec<u64> = (0..3).map(|_| super::splitmix64(&mut state)).collect();
        assert_eq!(first, [6457827717110365317, 3203168211198807973, 9817491932198370423]);
    }
}
