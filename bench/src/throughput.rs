//! redis-benchmark against the servers, interleaved round by round so that all see the same
//! machine noise; the figure is the median of the rounds.

use crate::servers::{Binaries, Kind, Server};
use anyhow::{Context, Result, bail};
use std::process::Command;

/// One redis-benchmark test's result.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Both servers' medians for one test of one scenario.
#[derive(Clone, Debug)]
pub struct Row {
    pub scenario: String,
    pub test: String,
    pub cachet: Sample,
    pub redis: Sample,
}

/// Runs redis-benchmark with `args` (plus `--csv -q`) against `port`; returns (test, sample) pairs.
pub fn redis_benchmark(port: u16, args: &[String]) -> Result<Vec<(String, Sample)>> {
    let script = "ulimit -n 20000 2>/dev/null; exec redis-benchmark \"$@\"";
    let output = Command::new("bash")
        .args(["-c", script, "redis-benchmark", "-h", "127.0.0.1", "-p", &port.to_string(), "--csv", "-q"])
        .args(args)
        .output()
        .context("could not run redis-benchmark: install Debian's redis-tools")?;
    if !output.status.success() {
        bail!("redis-benchmark failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_csv(&String::from_utf8_lossy(&output.stdout))
}

fn parse_csv(text: &str) -> Result<Vec<(String, Sample)>> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('"') && !l.starts_with("\"test\"")) {
        let fields: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
        let number = |i: usize| -> Result<f64> { fields.get(i).context("short CSV line")?.parse().context("bad number") };
        samples.push((fields[0].to_string(), Sample { rps: number(1)?, p50_ms: number(4)?, p99_ms: number(6)? }));
    }
    if samples.is_empty() {
        bail!("redis-benchmark printed no results:\n{text}");
    }
    Ok(samples)
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn median_sample(samples: &[Sample]) -> Sample {
    Sample {
        rps: median(samples.iter().map(|s| s.rps).collect()),
        p50_ms: median(samples.iter().map(|s| s.p50_ms).collect()),
        p99_ms: median(samples.iter().map(|s| s.p99_ms).collect()),
    }
}

/// redis-benchmark runs of each of `tails` (a test or a command line), with 50 clients over
/// 100,000 random keys, at one and at sixteen requests per round trip: (scenario, arguments).
pub fn pipelined_runs(requests: usize, tails: &[&[&str]]) -> Vec<(String, Vec<String>)> {
    let n = requests.to_string();
    let mut out = Vec::new();
    for pipeline in ["1", "16"] {
        let common = ["-c", "50", "-P", pipeline, "-n", &n, "-r", "100000"];
        let scenario = format!("-c 50 -P {pipeline} -r 100000");
        for tail in tails {
            out.push((scenario.clone(), common.iter().chain(tail.iter()).map(|s| s.to_string()).collect()));
        }
    }
    out
}

/// Runs one scenario for `rounds` rounds, A B A B, and returns a row per test.
pub fn compare(cachet: &Server, redis: &Server, scenario: &str, args: &[String], rounds: usize) -> Result<Vec<Row>> {
    Ok(compare_all(&[cachet.bench_port, redis.bench_port], scenario, args, rounds)?
        .into_iter()
        .map(|row| Row { scenario: row.scenario, test: row.test, cachet: row.samples[0], redis: row.samples[1] })
        .collect())
}

/// One test of one scenario on any number of servers, in the order they were given.
#[derive(Clone, Debug)]
pub struct Rows {
    pub scenario: String,
    pub test: String,
    pub samples: Vec<Sample>,
}

/// Runs one scenario for `rounds` rounds against each port in turn (A B C A B C ...); medians,
/// a row per test.
pub fn compare_all(ports: &[u16], scenario: &str, args: &[String], rounds: usize) -> Result<Vec<Rows>> {
    let mut results: Vec<(String, Vec<Vec<Sample>>)> = Vec::new();
    for _ in 0..rounds {
        for (server, port) in ports.iter().enumerate() {
            for (test, sample) in redis_benchmark(*port, args)? {
                let index = match results.iter().position(|(t, _)| *t == test) {
                    Some(i) => i,
                    None => {
                        results.push((test.clone(), vec![Vec::new(); ports.len()]));
                        results.len() - 1
                    }
                };
                results[index].1[server].push(sample);
            }
        }
    }
    Ok(results
        .into_iter()
        .map(|(test, samples)| Rows { scenario: scenario.to_string(), test, samples: samples.iter().map(|s| median_sample(s)).collect() })
        .collect())
}

/// The scenarios the performance targets are stated in.
pub fn scenarios(requests: usize) -> Vec<(String, Vec<String>)> {
    let n = requests.to_string();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["-t", "set,get", "-n", &n].iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    vec![
        ("-c 50 -P 1".into(), base(&["-c", "50", "-P", "1"])),
        ("-c 50 -P 16".into(), base(&["-c", "50", "-P", "16"])),
        ("-c 50 -P 1 -r 100000 -d 64".into(), base(&["-c", "50", "-P", "1", "-r", "100000", "-d", "64"])),
        ("-c 50 -P 16 -r 100000 -d 64".into(), base(&["-c", "50", "-P", "16", "-r", "100000", "-d", "64"])),
        ("-c 1000 -P 1".into(), base(&["-c", "1000", "-P", "1"])),
    ]
}

/// Throughput at each pipeline depth, for the plot: (depth, cachet GET, redis GET, cachet SET, redis SET).
pub fn pipeline_sweep(cachet: &Server, redis: &Server, requests: usize) -> Result<Vec<(u32, [f64; 4])>> {
    let mut points = Vec::new();
    for depth in [1u32, 2, 4, 8, 16, 32, 64] {
        let n = (requests * depth.min(16) as usize).to_string();
        let args: Vec<String> = ["-t", "set,get", "-c", "50", "-n", &n, "-P", &depth.to_string()].iter().map(|s| s.to_string()).collect();
        let rows = compare(cachet, redis, "sweep", &args, 1)?;
        let rps = |test: &str, kind: Kind| {
            rows.iter().find(|r| r.test == test).map_or(0.0, |r| if kind == Kind::Cachet { r.cachet.rps } else { r.redis.rps })
        };
        points.push((depth, [rps("GET", Kind::Cachet), rps("GET", Kind::Redis), rps("SET", Kind::Cachet), rps("SET", Kind::Redis)]));
    }
    Ok(points)
}

/// Starts cachet and redis-server.
pub fn pair(binaries: &Binaries) -> Result<(Server, Server)> {
    Ok((Server::start(Kind::Cachet, binaries, &[])?, Server::start(Kind::Redis, binaries, &[])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_benchmark_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"SET\",\"119047.62\",\"0.217\",\"0.056\",\"0.215\",\"0.351\",\"0.399\",\"1.623\"\n";
        let parsed = parse_csv(csv).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, "SET");
        assert_eq!(parsed[0].1.rps, 119047.62);
        assert_eq!(parsed[0].1.p99_ms, 0.399);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
