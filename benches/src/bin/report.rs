//! Prints the benchmark tables from criterion's estimates (`target/criterion`): the
//! median of each operation per backend, its hand-written baseline, and the ratio; the
//! permission check beside its peers, with the peer targets met or missed. The targets
//! on ratios to the baselines are judged by `ratios` (paired, alternating blocks).

use std::fmt::Write as _;
use std::path::Path;

use carespace_benches::{Backend, human};

const OPERATIONS: [&str; 10] = [
    "create_workspace",
    "request_to_join",
    "approve",
    "can",
    "my_workspaces",
    "discover_1000",
    "start_conversation",
    "events_1000",
    "viewers_at",
    "sweep_idle",
];

/// The median estimate in nanoseconds, if criterion measured it.
fn median(root: &Path, group: &str, function: &str) -> Option<f64> {
    let text = std::fs::read_to_string(root.join(group).join(function).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("median")?.get("point_estimate")?.as_f64()
}

/// A ratio with its target, marked met or missed.
fn verdict(ratio: f64, limit: f64, at_most: bool) -> String {
    let met = if at_most { ratio <= limit } else { ratio >= limit };
    format!("{ratio:.2}× ({})", if met { "met" } else { "**missed**" })
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "target/criterion".to_owned());
    let root = Path::new(&root);
    let mut out = String::from("| operation | backend | Carespace | baseline | ratio |\n|---|---|---|---|---|\n");
    let mut targets = String::from("\n| target (peers) | group | backend | ratio |\n|---|---|---|---|\n");
    for op in OPERATIONS {
        for backend in Backend::ALL.map(Backend::name) {
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
    let peers = ["carespace-memory", "carespace-sqlite-normal", "hashmap", "casbin", "cedar"];
    let medians: Vec<(&str, f64)> =
        peers.iter().filter_map(|p| median(root, "peer_check", p).map(|m| (*p, m))).collect();
    if let Some(&(_, ours)) = medians.iter().find(|(p, _)| *p == "carespace-memory") {
        let mut table = String::from(
            "\n**Permission check beside peers** (10,000 users × 1,000 workspaces, 5 memberships each)\n\n\
             | engine | median per check | ÷ Carespace (memory) |\n|---|---|---|\n",
        );
        for (peer, m) in &medians {
            let _ = writeln!(table, "| {peer} | {} | {:.2}× |", human(*m), m / ours);
        }
        print!("{table}");
        if let Some(&(_, map)) = medians.iter().find(|(p, _)| *p == "hashmap") {
            let _ = writeln!(
                targets,
                "| in-memory check ≤ 2× a HashMap lookup | peer_check | memory | {} |",
                verdict(ours / map, 2.0, true)
            );
        }
        if let Some(&(_, cedar)) = medians.iter().find(|(p, _)| *p == "cedar") {
            let _ = writeln!(
                targets,
                "| in-memory check ≥ 10× faster than Cedar | peer_check | memory | {} faster |",
                verdict(cedar / ours, 10.0, false)
            );
        }
    }
    print!("{targets}");
}
