//! Output: tables for people (aligned columns), the same tables as CSV, and JSON.

use std::io::Write;

use serde::Serialize;
use time::OffsetDateTime;

use crate::failure::Failure;

/// A table: a header row and rows of the same width.
pub(crate) struct Table {
    pub(crate) header: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names and no rows yet.
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self { header: header.to_vec(), rows: Vec::new() }
    }

    /// Prints the table with aligned columns (or `empty` if it has no rows).
    pub(crate) fn print(&self, empty: &str) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        if self.rows.is_empty() {
            writeln!(out, "{empty}")?;
            return Ok(());
        }
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (cell, width) in cells.zip(&widths) {
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.chars().count()) + 2));
            }
            text.trim_end().to_owned()
        };
        writeln!(out, "{}", line(&mut self.header.iter().copied()))?;
        for row in &self.rows {
            writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
        }
        Ok(())
    }

    /// Prints the table as CSV, header first.
    pub(crate) fn print_csv(&self) -> Result<(), Failure> {
        let mut out = csv::Writer::from_writer(std::io::stdout().lock());
        let failed = |e: csv::Error| Failure::File(format!("cannot write the output: {e}"));
        out.write_record(&self.header).map_err(failed)?;
        for row in &self.rows {
            out.write_record(row).map_err(failed)?;
        }
        out.flush()?;
        Ok(())
    }
}

/// A spinner saying what long work is doing, drawn on stderr only when it is a terminal
/// (piped or redirected, it stays quiet); cleared when dropped.
pub(crate) struct Working(indicatif::ProgressBar);

impl Working {
    pub(crate) fn on(message: &'static str) -> Self {
        let spinner = indicatif::ProgressBar::new_spinner().with_message(message);
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        Self(spinner)
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Prints `value` as one line of JSON.
pub(crate) fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value).map_err(|e| Failure::File(format!("cannot write JSON: {e}")))?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// A time for people: `2026-03-03 09:00:00 UTC` (in UTC, to the second).
pub(crate) fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}
