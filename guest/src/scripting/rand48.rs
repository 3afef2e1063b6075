//! The pseudo-random generator behind scripts' `math.random`: the 48-bit linear congruential
//! generator of POSIX `lrand48`, with `lrand48`'s own seed, so a script's "random" numbers are the
//! ones Redis's scripts draw, in the same order, on every run of the server.

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const INCREMENT: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// The state before any seeding: `lrand48`'s documented initial value.
const INITIAL: u64 = 0x1234_ABCD_330E;
/// Numbers drawn are below this (`INT32_MAX`, as Redis divides by it).
const MAX: u32 = i32::MAX as u32;

pub struct Rand48 {
    state: u64,
}

impl Default for Rand48 {
    fn default() -> Self {
        Rand48 { state: INITIAL }
    }
}

impl Rand48 {
    /// `math.randomseed(seed)`: the high 32 bits of the state become the seed.
    pub fn seed(&mut self, seed: i32) {
        self.state = ((u64::from(seed as u32)) << 16) | 0x330E;
    }

    /// The next 31-bit number.
    fn next(&mut self) -> u32 {
        self.state = (self.state.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT)) & MASK;
        (self.state >> 17) as u32
    }

    /// A number in [0, 1), as `math.random()` gives it.
    pub fn fraction(&mut self) -> f64 {
        f64::from(self.next() % MAX) / f64::from(MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_what_redis_scripts_draw() {
        // The first numbers a fresh redis-server 7.0 gives `math.random()` and `math.random(100)`.
        let mut rng = Rand48::default();
        assert_eq!(format!("{:.14}", rng.fraction()), "0.39646477363839");
        assert_eq!((rng.fraction() * 100.0).floor() + 1.0, 85.0);
    }
}
