//! `cachet:engine/random`: seeds for the component's own generator.

use super::bindings::cachet::engine::random;

impl random::Host for super::HostState {
    fn random_u64(&mut self) -> u64 {
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
