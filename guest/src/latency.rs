//! The latency monitor (LATENCY): for each event — `command` and `fast-command` — the spikes of at
//! least `latency-monitor-threshold` milliseconds, one sample per second (the highest), the last
//! 160 seconds that had one, as Redis keeps them.

use std::collections::BTreeMap;

/// Samples kept per event, as in Redis.
const HISTORY: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Unix seconds.
    pub time: u64,
    pub millis: u64,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Event {
    /// Oldest first.
    pub samples: Vec<Sample>,
    /// The highest ever seen, which outlives the samples.
    pub max: u64,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct LatencyMonitor {
    pub events: BTreeMap<&'static str, Event>,
}

impl LatencyMonitor {
    /// Records a spike of `millis` for `event` at `time` (Unix seconds): a second's samples merge,
    /// keeping the highest.
    pub(crate) fn add(&mut self, event: &'static str, time: u64, millis: u64) {
        let event = self.events.entry(event).or_default();
        event.max = event.max.max(millis);
        match event.samples.last_mut() {
            Some(last) if last.time == time => last.millis = last.millis.max(millis),
            _ => {
                if event.samples.len() == HISTORY {
                    event.samples.remove(0);
                }
                event.samples.push(Sample { time, millis });
            }
        }
    }

    /// LATENCY RESET: forgets the named events (every event when none is named); returns how many
    /// of them there were.
    pub(crate) fn reset(&mut self, names: &[&[u8]]) -> usize {
        if names.is_empty() {
            let count = self.events.len();
            self.events.clear();
            return count;
        }
        let before = self.events.len();
        self.events.retain(|name, _| !names.iter().any(|n| n.eq_ignore_ascii_case(name.as_bytes())));
        before - self.events.len()
    }

    pub(crate) fn event(&self, name: &[u8]) -> Option<(&'static str, &Event)> {
        self.events.iter().find(|(event, _)| event.as_bytes().eq_ignore_ascii_case(name)).map(|(n, e)| (*n, e))
    }
}

/// Command durations for INFO latencystats and LATENCY HISTOGRAM: a log-linear histogram of
/// nanoseconds with two significant digits, as Redis's HdrHistogram (1 ns to 1 s) keeps them.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

/// Values below this are counted exactly; above, each power of two has `HALF` buckets.
const SUB_BUCKETS: u64 = 256;
const HALF: u64 = SUB_BUCKETS / 2;
/// Redis tracks latencies up to one second.
const HIGHEST: u64 = 1_000_000_000;

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; bucket(HIGHEST) + 1], total: 0 }
    }
}

/// The bucket of a value, and the highest value that bucket holds.
fn bucket(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let shift = 63 - value.leading_zeros() as u64 - 7;
    (SUB_BUCKETS + (shift - 1) * HALF + (value >> shift) - HALF) as usize
}

fn highest_in(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < SUB_BUCKETS {
        return bucket;
    }
    let shift = (bucket - SUB_BUCKETS) / HALF + 1;
    let lowest = ((bucket - SUB_BUCKETS) % HALF + HALF) << shift;
    lowest + (1 << shift) - 1
}

impl Histogram {
    pub(crate) fn record(&mut self, nanos: u64) {
        self.counts[bucket(nanos.clamp(1, HIGHEST))] += 1;
        self.total += 1;
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The value at `percentile` (0 to 100), as HdrHistogram reports it: the highest value of the
    /// bucket where the count reaches that share of all values.
    pub(crate) fn percentile(&self, percentile: f64) -> u64 {
        let wanted = ((percentile / 100.0 * self.total as f64 + 0.5) as u64).max(1);
        let mut seen = 0;
        for (at, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return highest_in(at);
            }
        }
        0
    }

    /// Cumulative counts at 1024 ns and each doubling after it, as LATENCY HISTOGRAM reports
    /// them: labelled with the microseconds the level's bucket reaches (1, 2, 4, 8, 16, 32, 65...),
    /// only where the count grew, until every value is counted.
    pub(crate) fn cumulative_micros(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        let (mut seen, mut at) = (0, 0);
        let mut level = 1024u64;
        while seen < self.total {
            let reach = highest_in(bucket(level.min(HIGHEST)));
            while at < self.counts.len() && highest_in(at) <= reach {
                seen += self.counts[at];
                at += 1;
            }
            if out.last().is_none_or(|&(_, count)| count != seen) && seen > 0 {
                out.push((reach / 1000, seen));
            }
            if level >= HIGHEST {
                break;
            }
            level *= 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_two_significant_digits() {
        for value in [1, 255, 256, 1000, 1_000_000, 999_999_999] {
            let at = bucket(value);
            assert!(highest_in(at) >= value && highest_in(at) - value <= value / 100, "{value}");
            assert!(at == 0 || highest_in(at - 1) < value, "{value}");
        }
        assert_eq!(highest_in(bucket(1000)), 1003, "Redis reports 1 µs as 1.003");
    }

    #[test]
    fn percentiles_and_cumulative_counts() {
        let mut h = Histogram::default();
        for _ in 0..98 {
            h.record(1000);
        }
        h.record(5000);
        h.record(2_000_000);
        assert_eq!(h.percentile(50.0), 1003);
        assert_eq!(h.percentile(99.0), 5023);
        assert_eq!(h.percentile(99.9), 2_007_039);
        assert_eq!(h.cumulative_micros(), [(1, 98), (8, 99), (2113, 100)]);
    }

    #[test]
    fn a_second_keeps_its_highest_sample() {
        let mut m = LatencyMonitor::default();
        m.add("command", 10, 5);
        m.add("command", 10, 3);
        m.add("command", 11, 2);
        let event = &m.events["command"];
        assert_eq!(event.samples, [Sample { time: 10, millis: 5 }, Sample { time: 11, millis: 2 }]);
        assert_eq!(event.max, 5);
        assert_eq!(m.reset(&[b"COMMAND", b"other"]), 1);
    }
}
