//! LATENCY: the latency monitor's events (`command`, `fast-command`: commands of at least
//! `latency-monitor-threshold` milliseconds, fast ones apart), and LATENCY HISTOGRAM of each
//! command's durations, in Redis's replies.

use super::{Command, Ctx, Flag, lookup, subcommand_required, write_help};
use crate::latency::Event;

pub const COMMANDS: &[Command] = &[Command::new("latency", -2, subcommand_required)
    .group("server")
    .doc("A container for latency diagnostics commands.", "2.8.13", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("latency|doctor", 2, doctor).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns a human-readable latency analysis report.", "2.8.13", "O(1)", ""),
        Command::new("latency|graph", 3, graph).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns a latency graph for an event.", "2.8.13", "O(1)", "event"),
        Command::new("latency|histogram", -2, histogram).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns the cumulative distribution of latencies of a subset or all commands.", "7.0.0", "O(N) where N is the number of commands with latency information being retrieved.", "[command [command ...]]"),
        Command::new("latency|history", 3, history).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns timestamp-latency samples for an event.", "2.8.13", "O(1)", "event"),
        Command::new("latency|latest", 2, latest).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns the latest latency samples for all events.", "2.8.13", "O(1)", ""),
        Command::new("latency|reset", -2, reset).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Resets the latency data for one or more events.", "2.8.13", "O(1)", "[event [event ...]]"),
        Command::new("latency|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns helpful text about the different subcommands.", "2.8.13", "O(1)", ""),
    ])];

/// Records a command that took at least `latency-monitor-threshold` milliseconds (when it is not
/// 0) as Redis does: a `fast-command` event for commands flagged fast, `command` for the others.
pub(crate) fn record_if_slow(ctx: &mut Ctx, command: &Command, nanos: u64) {
    let threshold = ctx.config.latency_monitor_threshold;
    let millis = nanos / 1_000_000;
    if threshold == 0 || millis < threshold {
        return;
    }
    let event = if command.has_flag(Flag::Fast) { "fast-command" } else { "command" };
    ctx.stats.latency.add(event, ctx.now.wall_ms / 1000, millis);
}

/// `LATENCY LATEST`: per event, the time and milliseconds of its latest sample and its highest.
fn latest(ctx: &mut Ctx, _args: &[&[u8]]) {
    let rows: Vec<(&str, u64, u64, u64)> = ctx
        .stats
        .latency
        .events
        .iter()
        .filter_map(|(name, event)| event.samples.last().map(|last| (*name, last.time, last.millis, event.max)))
        .collect();
    ctx.reply.array(rows.len());
    for (name, time, millis, max) in rows {
        ctx.reply.array(4);
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.integer(time as i64);
        ctx.reply.integer(millis as i64);
        ctx.reply.integer(max as i64);
    }
}

/// `LATENCY HISTORY event`: the event's samples, oldest first, as (time, milliseconds) pairs.
fn history(ctx: &mut Ctx, args: &[&[u8]]) {
    let samples = ctx.stats.latency.event(args[2]).map(|(_, event)| event.samples.clone()).unwrap_or_default();
    ctx.reply.array(samples.len());
    for sample in samples {
        ctx.reply.array(2);
        ctx.reply.integer(sample.time as i64);
        ctx.reply.integer(sample.millis as i64);
    }
}

fn reset(ctx: &mut Ctx, args: &[&[u8]]) {
    let count = ctx.stats.latency.reset(&args[2..]);
    ctx.reply.integer(count as i64);
}

/// `LATENCY HISTOGRAM [command ...]`: for each command with recorded durations (all of them, or
/// the named ones), its calls and the cumulative count at each doubling of microseconds.
fn histogram(ctx: &mut Ctx, args: &[&[u8]]) {
    let wanted: Vec<&'static str> = args[2..].iter().filter_map(|name| named(name)).collect();
    let rows: Vec<(&str, u64, Vec<(u64, u64)>)> = ctx
        .stats
        .commands_by_name()
        .into_iter()
        .filter(|stats| args.len() == 2 || wanted.contains(&stats.name))
        .filter_map(|stats| stats.histogram.as_ref().map(|h| (stats.name, h.total(), h.cumulative_micros())))
        .collect();
    ctx.reply.map(rows.len());
    for (name, calls, buckets) in rows {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.map(2);
        ctx.reply.bulk(b"calls");
        ctx.reply.integer(calls as i64);
        ctx.reply.bulk(b"histogram_usec");
        ctx.reply.map(buckets.len());
        for (micros, count) in buckets {
            ctx.reply.integer(micros as i64);
            ctx.reply.integer(count as i64);
        }
    }
}

/// The table name of a command or `container|sub` subcommand named in any letter case.
fn named(name: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        None => lookup(name).map(|c| c.name),
        Some((container, _)) => lookup(container.as_bytes())?.subcommands.iter().find(|s| s.name == text).map(|s| s.name),
    }
}

/// Columns of LATENCY GRAPH, and the rows of its sparkline.
const GRAPH_COLUMNS: usize = 80;
const GRAPH_ROWS: usize = 4;

/// `LATENCY GRAPH event`: Redis's ASCII graph of the event's samples — a title with the highest
/// and lowest sample, a rule, then a sparkline with how long ago each sample was written upright
/// beneath it.
fn graph(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((name, event)) = ctx.stats.latency.event(args[2]).filter(|(_, e)| !e.samples.is_empty()) else {
        let event = String::from_utf8_lossy(args[2]);
        return ctx.reply.error(&format!("ERR No samples available for event '{event}'"));
    };
    let text = render_graph(name, event, ctx.now.wall_ms / 1000);
    ctx.reply.verbatim(text.as_bytes());
}

fn render_graph(name: &str, event: &Event, now: u64) -> String {
    let values: Vec<u64> = event.samples.iter().map(|s| s.millis).collect();
    let (low, high) = (values.iter().copied().min().unwrap_or(0), values.iter().copied().max().unwrap_or(0));
    let labels: Vec<String> = event.samples.iter().map(|s| ago(now.saturating_sub(s.time))).collect();
    let mut out = format!("{name} - high {high} ms, low {low} ms (all time high {} ms)\n{}\n", event.max, "-".repeat(GRAPH_COLUMNS));
    for (part, start) in (0..values.len()).step_by(GRAPH_COLUMNS).enumerate() {
        if part > 0 {
            out.push('\n');
        }
        let end = (start + GRAPH_COLUMNS).min(values.len());
        sparkline(&mut out, &values[start..end], &labels[start..end], low, high);
    }
    out
}

/// How long ago, as LATENCY GRAPH labels a sample: seconds, minutes, hours or days.
fn ago(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86_400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// Rows of a filled sparkline: each value becomes one of `GRAPH_ROWS * 3` heights between the
/// lowest and highest value, drawn `_`, `o`, `#` at its top row and `|` below; then the labels,
/// one character per row.
fn sparkline(out: &mut String, values: &[u64], labels: &[String], low: u64, high: u64) {
    const MARKS: [char; 3] = ['_', 'o', '#'];
    let steps = (GRAPH_ROWS * MARKS.len()) as i64;
    let range = if high == low { 1.0 } else { (high - low) as f64 };
    let heights: Vec<i64> = values.iter().map(|&v| (((v - low) as f64 * steps as f64 / range) as i64).clamp(0, steps - 1)).collect();
    for row in 0..GRAPH_ROWS as i64 {
        let line: String = heights
            .iter()
            .map(|&height| {
                let mark = height - (GRAPH_ROWS as i64 - row - 1) * MARKS.len() as i64;
                match mark {
                    0..=2 => MARKS[mark as usize],
                    3.. => '|',
                    _ => ' ',
                }
            })
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
    let tallest = labels.iter().map(String::len).max().unwrap_or(0);
    for row in 0..tallest {
        let line: String = labels.iter().map(|label| label.as_bytes().get(row).map_or(' ', |&b| char::from(b))).collect();
        out.push_str(&line);
        out.push('\n');
    }
}

/// `LATENCY DOCTOR`: Redis's report — that monitoring is off, that nothing was seen, or each
/// event's spikes.
fn doctor(ctx: &mut Ctx, _args: &[&[u8]]) {
    let events = &ctx.stats.latency.events;
    let report = if events.is_empty() && ctx.config.latency_monitor_threshold == 0 {
        DISABLED.to_string()
    } else if events.is_empty() {
        NOTHING_SEEN.to_string()
    } else {
        let mut report = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        for (number, (name, event)) in events.iter().enumerate() {
            report.push_str(&event_summary(number + 1, name, event));
        }
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        report
    };
    ctx.reply.verbatim(report.as_bytes());
}

const DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";

const NOTHING_SEEN: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";

/// One event's line of the doctor's report: its spikes, their average, mean deviation and period.
fn event_summary(number: usize, name: &str, event: &Event) -> String {
    let count = event.samples.len() as u64;
    let average = event.samples.iter().map(|s| s.millis).sum::<u64>() / count.max(1);
    let deviation = event.samples.iter().map(|s| s.millis.abs_diff(average)).sum::<u64>() / count.max(1);
    let (first, last) = (event.samples.first().map_or(0, |s| s.time), event.samples.last().map_or(0, |s| s.time));
    let period = if count > 1 { (last - first) as f64 / (count - 1) as f64 } else { 0.0 };
    format!(
        "{number}. {name}: {count} latency spikes (average {average}ms, mean deviation {deviation}ms, period {period:.2} sec). Worst all time event {}ms.\n",
        event.max
    )
}

const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn spikes_over_the_threshold_are_events() {
        // Every command takes 15 ms on the stopwatch.
        crate::stopwatch::fake::step_by(15_000_000);
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["LATENCY", "LATEST"]), "*0\r\n", "monitoring is off by default");
        assert!(c.run(&["LATENCY", "DOCTOR"]).contains("Latency monitoring is disabled"));
        c.run(&["CONFIG", "SET", "latency-monitor-threshold", "10"]);
        let time = c.now.wall_ms / 1000;
        c.run(&["GET", "k"]);
        c.advance_ms(2000);
        c.run(&["GET", "k"]);
        let latest = c.run(&["LATENCY", "LATEST"]);
        let command = format!("*4\r\n{}:{time}\r\n:15\r\n:15\r\n", bulk("command"));
        let fast = format!("*4\r\n{}:{}\r\n:15\r\n:15\r\n", bulk("fast-command"), time + 2);
        assert_eq!(latest, format!("*2\r\n{command}{fast}"), "CONFIG SET is a command, GET a fast one");
        assert_eq!(c.run(&["LATENCY", "HISTORY", "fast-command"]), format!("*2\r\n*2\r\n:{time}\r\n:15\r\n*2\r\n:{}\r\n:15\r\n", time + 2));
        assert_eq!(c.run(&["LATENCY", "HISTORY", "nope"]), "*0\r\n");
        let graph = c.run(&["LATENCY", "GRAPH", "fast-command"]);
        assert!(graph.contains("fast-command - high 15 ms, low 15 ms (all time high 15 ms)\n"), "{graph}");
        assert!(graph.contains("\n__\n20\nss\n\r\n"), "equal samples on the lowest row, how long ago written upright: {graph}");
        assert!(c.run(&["LATENCY", "DOCTOR"]).contains("1. command: 2 latency spikes (average 15ms, mean deviation 0ms, period 2.00 sec). Worst all time event 15ms."));
        assert_eq!(c.run(&["LATENCY", "RESET", "command", "nope"]), ":1\r\n");
        assert_eq!(c.run(&["LATENCY", "RESET"]), ":2\r\n", "fast-command, and LATENCY RESET's own spike");
        assert_eq!(c.run(&["LATENCY", "GRAPH", "fast-command"]), "-ERR No samples available for event 'fast-command'\r\n");
    }

    #[test]
    fn histograms_count_each_command() {
        crate::stopwatch::fake::step_by(1000);
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        c.run(&["SET", "k", "v"]);
        c.run(&["CONFIG", "GET", "port"]);
        let set = format!("{}*4\r\n{}:2\r\n{}*2\r\n:1\r\n:2\r\n", bulk("set"), bulk("calls"), bulk("histogram_usec"));
        assert_eq!(c.run(&["LATENCY", "HISTOGRAM", "set", "nope"]), format!("*2\r\n{set}"));
        assert!(c.run(&["LATENCY", "HISTOGRAM", "CONFIG|GET"]).starts_with(&format!("*2\r\n{}", bulk("config|get"))));
        c.run(&["HELLO", "3"]);
        let all = c.run(&["LATENCY", "HISTOGRAM"]);
        assert!(all.starts_with("%4\r\n"), "config|get, hello, latency|histogram, set: {all}");
    }

    #[test]
    fn errors_and_help_as_redis() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["LATENCY", "HISTORY"]), "-ERR wrong number of arguments for 'latency|history' command\r\n");
        assert_eq!(c.run(&["LATENCY", "foo"]), "-ERR unknown subcommand 'foo'. Try LATENCY HELP.\r\n");
        assert!(c.run(&["LATENCY", "HELP"]).starts_with("*17\r\n+LATENCY <subcommand>"));
        c.run(&["CONFIG", "SET", "latency-monitor-threshold", "100"]);
        assert!(c.run(&["LATENCY", "DOCTOR"]).contains("no latency spike was observed"));
    }
}
