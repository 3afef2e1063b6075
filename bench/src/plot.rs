//! The throughput-versus-pipeline-depth plot.

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use std::path::Path;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Draws GET and SET throughput of both servers against pipeline depth (log scale on x).
pub fn pipeline(points: &[(u32, [f64; 4])], path: &Path) -> Result<()> {
    let font = std::fs::read(FONT).with_context(|| format!("the plot needs {FONT} (Debian's fonts-dejavu-core)"))?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(font.into_boxed_slice()))
        .map_err(|_| anyhow!("{FONT} is not a usable font"))?;
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let top = points.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("Throughput vs pipeline depth (redis-benchmark -c 50)", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((1u32..64u32).log_scale(), 0.0..top.max(1.0))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("pipeline depth (-P)")
        .y_desc("requests per second")
        .y_label_formatter(&|v| format!("{:.1}M", v / 1e6))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let series = [("cachet GET", 0, RED), ("redis GET", 1, BLUE), ("cachet SET", 2, MAGENTA), ("redis SET", 3, CYAN)];
    for (label, index, color) in series {
        let line: Vec<(u32, f64)> = points.iter().map(|(depth, values)| (*depth, values[index])).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(|e| anyhow!("{e}"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
