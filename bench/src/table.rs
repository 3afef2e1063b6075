//! Markdown tables of redis-benchmark results with a column per server and cachet's ratio to each
//! peer, so that adding a peer (Valkey) adds columns rather than another table to compare by eye.

use crate::throughput::Sample;

/// The header of a table whose first columns are `leading` and whose servers are `names`, cachet
/// first.
pub fn header(leading: &[&str], names: &[&str]) -> String {
    let ops = names.iter().map(|n| format!("{n} ops/s"));
    let ratios = names.iter().skip(1).map(|peer| format!("{}/{peer}", names[0]));
    let latencies = names.iter().map(|n| format!("{n} p50 / p99 ms"));
    let columns: Vec<String> = leading.iter().map(|c| c.to_string()).chain(ops).chain(ratios).chain(latencies).collect();
    let align: Vec<&str> = (0..columns.len()).map(|i| if i < leading.len() { "---" } else { "---:" }).collect();
    format!("| {} |\n|{}|\n", columns.join(" | "), align.join("|"))
}

/// One row: the leading cells, then each server's throughput, cachet's ratios, each latency.
pub fn row(leading: &[&str], samples: &[Sample]) -> String {
    let ops = samples.iter().map(|s| format!("{:.0}", s.rps));
    let ratios = samples.iter().skip(1).map(|peer| format!("**{:.2}**", samples[0].rps / peer.rps));
    let latencies = samples.iter().map(|s| format!("{:.3} / {:.3}", s.p50_ms, s.p99_ms));
    let cells: Vec<String> = leading.iter().map(|c| c.to_string()).chain(ops).chain(ratios).chain(latencies).collect();
    format!("| {} |\n", cells.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_servers_give_the_columns_the_tables_always_had() {
        assert_eq!(
            header(&["scenario", "test"], &["cachet", "redis"]),
            "| scenario | test | cachet ops/s | redis ops/s | cachet/redis | cachet p50 / p99 ms | redis p50 / p99 ms |\n|---|---|---:|---:|---:|---:|---:|\n"
        );
        let (a, b) = (Sample { rps: 200.0, p50_ms: 0.1, p99_ms: 0.5 }, Sample { rps: 100.0, p50_ms: 0.2, p99_ms: 1.0 });
        assert_eq!(row(&["`-P 1`", "SET"], &[a, b]), "| `-P 1` | SET | 200 | 100 | **2.00** | 0.100 / 0.500 | 0.200 / 1.000 |\n");
    }

    #[test]
    fn each_peer_adds_a_throughput_a_ratio_and_a_latency_column() {
        let header = header(&["test"], &["cachet", "redis", "valkey"]);
        assert!(header.starts_with("| test | cachet ops/s | redis ops/s | valkey ops/s | cachet/redis | cachet/valkey | cachet p50"), "{header}");
        let s = Sample { rps: 100.0, p50_ms: 0.1, p99_ms: 0.2 };
        assert_eq!(row(&["GET"], &[s, s, Sample { rps: 50.0, ..s }]).matches(" | ").count(), 8);
    }
}
