//! How long a pool pauses between attempts to open a connection, in the three shapes fred offers:
//! the same pause every time, a pause that grows by the same step, or one that doubles. Each is
//! capped at `max_delay`; with jitter, the pause is drawn from its upper half, so many clients that
//! lost the same server do not all come back at the same instant.

use std::time::Duration;

/// How the pause grows from one failed attempt to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// `delay` every time.
    Constant,
    /// `delay`, 2 × `delay`, 3 × `delay`, ...
    Linear,
    /// `delay`, 2 × `delay`, 4 × `delay`, ...
    Exponential,
}

impl Backoff {
    pub fn parse(text: &str) -> Option<Backoff> {
        match text {
            "constant" => Some(Backoff::Constant),
            "linear" => Some(Backoff::Linear),
            "exponential" => Some(Backoff::Exponential),
            _ => None,
        }
    }
}

/// The pauses between connection attempts (how many attempts: `PoolOptions::connect_attempts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reconnect {
    pub backoff: Backoff,
    /// The first pause, and the step of the others.
    pub delay: Duration,
    /// No pause is longer.
    pub max_delay: Duration,
    /// Draw each pause from [p/2, p] instead of waiting exactly p.
    pub jitter: bool,
}

/// Exponential from 50 ms up to 1 s, with jitter.
impl Default for Reconnect {
    fn default() -> Self {
        Reconnect { backoff: Backoff::Exponential, delay: Duration::from_millis(50), max_delay: Duration::from_secs(1), jitter: true }
    }
}

impl Reconnect {
    /// The pause after the `failed`th failed attempt (counted from 1). `unit`, in [0, 1), picks
    /// the pause within the jitter range; callers pass a random number, tests a fixed one.
    pub fn pause(&self, failed: u32, unit: f64) -> Duration {
        let step = failed.max(1);
        let pause = match self.backoff {
            Backoff::Constant => self.delay,
            Backoff::Linear => self.delay.saturating_mul(step),
            Backoff::Exponential => self.delay.saturating_mul(2u32.saturating_pow(step - 1)),
        };
        let pause = pause.min(self.max_delay);
        if !self.jitter {
            return pause;
        }
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        pause.div_f64(2.0) + pause.div_f64(2.0).mul_f64(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn pauses(reconnect: Reconnect, unit: f64) -> Vec<Duration> {
        (1..=7).map(|failed| reconnect.pause(failed, unit)).collect()
    }

    #[test]
    fn each_shape_grows_as_named_and_stops_at_the_cap() {
        let base = Reconnect { backoff: Backoff::Constant, delay: ms(100), max_delay: ms(1000), jitter: false };
        assert_eq!(pauses(base, 0.3), [ms(100); 7]);
        let linear = Reconnect { backoff: Backoff::Linear, ..base };
        assert_eq!(pauses(linear, 0.3), [ms(100), ms(200), ms(300), ms(400), ms(500), ms(600), ms(700)]);
        let exponential = Reconnect { backoff: Backoff::Exponential, ..base };
        assert_eq!(pauses(exponential, 0.3), [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000), ms(1000)]);
        let capped = Reconnect { max_delay: ms(250), ..linear };
        assert_eq!(pauses(capped, 0.3), [ms(100), ms(200), ms(250), ms(250), ms(250), ms(250), ms(250)]);
    }

    #[test]
    fn jitter_keeps_each_pause_in_its_upper_half() {
        let exact = Reconnect { backoff: Backoff::Exponential, delay: ms(100), max_delay: ms(1000), jitter: false };
        let jittered = Reconnect { jitter: true, ..exact };
        assert_eq!(pauses(jittered, 0.0), pauses(exact, 0.0).iter().map(|p| *p / 2).collect::<Vec<_>>());
        assert_eq!(pauses(jittered, 0.5), pauses(exact, 0.0).iter().map(|p| *p * 3 / 4).collect::<Vec<_>>());
        for unit in [0.0, 0.1, 0.37, 0.99, 1.0, f64::NAN] {
            for (with, without) in pauses(jittered, unit).into_iter().zip(pauses(exact, 0.0)) {
                assert!(with >= without / 2 && with <= without, "{with:?} outside [{:?}, {without:?}] for {unit}", without / 2);
            }
        }
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let exponential = Reconnect { backoff: Backoff::Exponential, delay: ms(50), max_delay: ms(2000), jitter: false };
        assert_eq!(exponential.pause(u32::MAX, 0.0), ms(2000));
        assert_eq!(Reconnect { backoff: Backoff::Linear, ..exponential }.pause(u32::MAX, 0.0), ms(2000));
    }
}
