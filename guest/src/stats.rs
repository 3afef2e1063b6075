//! Counters INFO reports (the keyspace keeps its own).

use crate::latency::{Histogram, LatencyMonitor};
use crate::slowlog::SlowLog;
use crate::stopwatch::Stopwatch;
use crate::time::Now;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub connections_received: u64,
    pub rejected_connections: u64,
    pub commands_processed: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Commands per second, averaged over the last [`RATE_SAMPLES`] tenths of a second.
    pub ops_per_sec: u64,
    ops_samples: OpsSamples,
    /// Per command, by the command's number in the table (no hashing on the hot path): INFO
    /// commandstats.
    commands: Vec<CommandStats>,
    /// Error replies by their first word (`ERR`, `WRONGTYPE`): INFO errorstats.
    pub errors: BTreeMap<String, u64>,
    pub error_replies: u64,
    /// Times commands (see [`crate::stopwatch`]).
    pub stopwatch: Stopwatch,
    /// SLOWLOG and LATENCY: kept across CONFIG RESETSTAT, as in Redis.
    pub slowlog: SlowLog,
    pub latency: LatencyMonitor,
    /// Clients closed for going over `client-output-buffer-limit`.
    pub output_limit_disconnections: u64,
    /// Connections refused by `peer-connection-limit`, and AUTH attempts by
    /// `peer-auth-failure-limit` (see [`crate::peer_limits`]).
    pub rate_limited_connections: u64,
    pub rate_limited_auth_attempts: u64,
}

#[derive(Debug, Default, Clone)]
pub struct CommandStats {
    /// The command's table name (`get`, `client|list`).
    pub name: &'static str,
    pub calls: u64,
    /// Refused before running (wrong arity, NOAUTH, OOM, not allowed in this context).
    pub rejected: u64,
    /// Ran and answered with an error.
    pub failed: u64,
    /// Time spent running it.
    pub nanos: u64,
    /// Its durations, while `latency-tracking` is on (INFO latencystats); made on first use.
    pub histogram: Option<Box<Histogram>>,
}

/// Redis keeps at most this many kinds of error in errorstats; others are still counted in total.
const ERROR_KINDS: usize = 128;

/// How many rate samples the average covers, one per [`SAMPLE_NS`].
const RATE_SAMPLES: usize = 16;
const SAMPLE_NS: u64 = 100_000_000;

#[derive(Debug, Default, Clone)]
struct OpsSamples {
    last_ns: u64,
    last_commands: u64,
    rates: [u64; RATE_SAMPLES],
    next: usize,
}

impl Stats {
    /// CONFIG RESETSTAT: every counter back to zero; the slow log and latency events stay.
    pub fn reset(&mut self) {
        let (slowlog, latency) = (std::mem::take(&mut self.slowlog), std::mem::take(&mut self.latency));
        *self = Stats { slowlog, latency, ..Stats::default() };
    }

    /// Counts an error reply (`text` is the error without its `-`).
    pub fn error_reply(&mut self, text: &str) {
        self.error_replies += 1;
        let kind = text.split(' ').next().unwrap_or(text);
        if let Some(count) = self.errors.get_mut(kind) {
            *count += 1;
        } else if self.errors.len() < ERROR_KINDS {
            self.errors.insert(kind.to_string(), 1);
        }
    }

    /// Counts a command that ran, how long it took and whether it answered with an error. `number`
    /// is the
    /// command's number in the table; `track` keeps its duration for latencystats too.
    pub fn command_ran(&mut self, number: usize, name: &'static str, failed: bool, nanos: u64, track: bool) {
        let stats = self.command(number, name);
        stats.calls += 1;
        stats.failed += u64::from(failed);
        stats.nanos += nanos;
        if track {
            stats.histogram.get_or_insert_default().record(nanos);
        }
    }

    pub fn command_rejected(&mut self, number: usize, name: &'static str) {
        self.command(number, name).rejected += 1;
    }

    fn command(&mut self, number: usize, name: &'static str) -> &mut CommandStats {
        if number >= self.commands.len() {
            self.commands.resize(number + 1, CommandStats::default());
        }
        let stats = &mut self.commands[number];
        stats.name = name;
        stats
    }

    /// Every command that was called or refused, by name.
    pub fn commands_by_name(&self) -> Vec<&CommandStats> {
        let mut all: Vec<&CommandStats> = self.commands.iter().filter(|s| !s.name.is_empty()).collect();
        all.sort_unstable_by_key(|stats| stats.name);
        all
    }

    /// Samples the command rate when a tenth of a second has passed since the last sample. Called
    /// as the engine is used rather than on a timer: tenths that passed with no call count as idle.
    pub fn sample_ops(&mut self, now: Now) {
        let samples = &mut self.ops_samples;
        let elapsed = now.mono_ns.saturating_sub(samples.last_ns);
        if elapsed < SAMPLE_NS {
            return;
        }
        // The commands since the last sample are spread evenly over the tenths that passed.
        let done = self.commands_processed - samples.last_commands;
        let rate = done * 1_000_000_000 / elapsed;
        for _ in 0..(elapsed / SAMPLE_NS).min(RATE_SAMPLES as u64) {
            samples.rates[samples.next] = rate;
            samples.next = (samples.next + 1) % RATE_SAMPLES;
        }
        samples.last_ns = now.mono_ns;
        samples.last_commands = self.commands_processed;
        self.ops_per_sec = samples.rates.iter().sum::<u64>() / RATE_SAMPLES as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_falls_to_zero_when_the_server_goes_quiet() {
        let mut stats = Stats::default();
        let at = |tenths: u64| Now { wall_ms: 0, mono_ns: tenths * SAMPLE_NS };
        for tenth in 1..=16 {
            stats.commands_processed += 100;
            stats.sample_ops(at(tenth));
        }
        assert_eq!(stats.ops_per_sec, 1000);
        stats.sample_ops(at(100));
        assert!(stats.ops_per_sec < 20, "{}", stats.ops_per_sec);
    }
}
