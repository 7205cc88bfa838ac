//! Prints the benchmark table from criterion's estimates (`target/criterion`): the
//! median of each operation per backend, its hand-written baseline, and the ratio.

use std::fmt::Write as _;
use std::path::Path;

const OPERATIONS: [&str; 8] = [
    "create_workspace",
    "request_to_join",
    "approve",
    "can",
    "my_workspaces",
    "discover_1000",
    "start_conversation",
    "events_1000",
];
const BACKENDS: [&str; 3] = ["memory", "sqlite-normal", "sqlite-full"];

/// The median estimate in nanoseconds, if criterion measured it.
fn median(root: &Path, group: &str, function: &str) -> Option<f64> {
    let text = std::fs::read_to_string(root.join(group).join(function).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("median")?.get("point_estimate")?.as_f64()
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "target/criterion".to_owned());
    let root = Path::new(&root);
    let mut out = String::from("| operation | backend | Carespace | baseline | ratio |\n|---|---|---|---|---|\n");
    for op in OPERATIONS {
        for backend in BACKENDS {
            let Some(ours) = median(root, op, backend) else { continue };
            let base = median(root, op, &format!("{backend}-baseline"));
            let (base_text, ratio) = match base {
                Some(b) if b > 0.0 => (human(b), format!("{:.2}×", ours / b)),
                _ => ("—".to_owned(), "—".to_owned()),
            };
            let _ = writeln!(out, "| {op} | {backend} | {} | {base_text} | {ratio} |", human(ours));
        }
    }
    print!("{out}");
}
