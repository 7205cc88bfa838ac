//! `carespace audit timeline`: a workspace's membership over time as one self-contained
//! SVG picture (no scripts, fonts or links to fetch): one row per person, a coloured
//! span for each state they held, each event marked on its person's row (its type and
//! time as a tooltip), a legend and a time axis.

use std::fmt::Write;

use carespace::{Event, MembershipState, Timeline};
use time::OffsetDateTime;

const WIDTH: f64 = 1200.0;
/// Where the time axis starts: the names are to its left.
const LEFT: f64 = 280.0;
const RIGHT: f64 = 40.0;
/// Below the title and the legend.
const TOP: f64 = 96.0;
const ROW: f64 = 30.0;
const BAR: f64 = 18.0;
/// Room for the axis labels.
const BOTTOM: f64 = 56.0;

/// The legend: each state's colour and label. The colours are distinct for people with
/// the common colour-vision deficiencies (blue / orange / grey / green of different
/// lightness) and are the ones the rendering test looks for.
pub(crate) const LEGEND: [(MembershipState, &str, &str); 4] = [
    (MembershipState::Unapproved, "#e69f00", "asked to join (unapproved)"),
    (MembershipState::Member, "#009e73", "approved member"),
    (MembershipState::Admin, "#0072b2", "admin"),
    (MembershipState::Archived, "#999999", "archived"),
];

fn colour(state: MembershipState) -> &'static str {
    LEGEND.iter().find(|(s, _, _)| *s == state).map_or("#000000", |(_, colour, _)| colour)
}

/// The picture of `timeline` (of a workspace in `organisation`) between `from` (its
/// first event by default) and `until` (now, by default).
pub(crate) fn render(
    timeline: &Timeline,
    organisation: &str,
    from: Option<OffsetDateTime>,
    until: OffsetDateTime,
) -> String {
    let start = from.or_else(|| timeline.events.first().map(|e| e.at)).unwrap_or(until);
    // At least a day wide, so a workspace made a minute ago still has an axis.
    let end = until.max(start + time::Duration::days(1));
    let span = (end - start).as_seconds_f64().max(1.0);
    let x = |at: OffsetDateTime| LEFT + (at - start).as_seconds_f64() / span * (WIDTH - LEFT - RIGHT);
    let rows = timeline.people.len().max(1);
    let height = TOP + ROW * rows as f64 + BOTTOM;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">"##
    );
    let _ = write!(svg, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = write!(
        svg,
        r##"<text x="16" y="26" font-size="18" font-weight="bold">{}</text><text x="16" y="46" fill="#444444">{} — membership from {} to {}</text>"##,
        escape(&timeline.name),
        escape(organisation),
        crate::output::when(start),
        crate::output::when(end),
    );
    // The legend.
    let mut lx = 16.0;
    for (_, fill, label) in LEGEND {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="60" width="16" height="16" fill="{fill}"/><text x="{}" y="73">{}</text>"##,
            lx + 22.0,
            escape(label)
        );
        lx += 22.0 + 7.0 * label.len() as f64 + 24.0;
    }
    let _ = write!(
        svg,
        r##"<path d="M {lx} 62 l 5 6 l -5 6 l -5 -6 z" fill="#222222"/><text x="{}" y="73">event</text>"##,
        lx + 10.0
    );
    // The rows.
    for (i, person) in timeline.people.iter().enumerate() {
        let top = TOP + ROW * i as f64;
        if i % 2 == 1 {
            let _ = write!(svg, r##"<rect x="0" y="{top}" width="{WIDTH}" height="{ROW}" fill="#f4f4f4"/>"##);
        }
        let _ = write!(
            svg,
            r##"<text x="16" y="{}" fill="#111111">{}</text>"##,
            top + ROW / 2.0 + 4.5,
            escape(&clip(person.person.name.as_str(), 34))
        );
        for span in &person.spans {
            // Only what lies inside the picture's time range.
            let (from, to) = (span.from.max(start), span.until.unwrap_or(end).min(end));
            if from >= to {
                continue;
            }
            let (from, to) = (x(from), x(to));
            let until = span.until.map_or_else(|| "now".to_owned(), crate::output::when);
            let _ = write!(
                svg,
                r##"<rect x="{from:.1}" y="{:.1}" width="{:.1}" height="{BAR}" fill="{}"><title>{}: {} from {} to {}</title></rect>"##,
                top + (ROW - BAR) / 2.0,
                (to - from).max(2.0),
                colour(span.state),
                escape(person.person.name.as_str()),
                state_name(span.state),
                crate::output::when(span.from),
                until
            );
        }
        let shown = |e: &&Event| e.person() == Some(person.person.id) && (start..=end).contains(&e.at);
        for event in timeline.events.iter().filter(shown) {
            let _ = write!(
                svg,
                r##"<path d="M {:.1} {:.1} l 5 6 l -5 6 l -5 -6 z" fill="#222222" stroke="#ffffff" stroke-width="1"><title>{} at {}</title></path>"##,
                x(event.at),
                top + ROW / 2.0 - 6.0,
                event.kind.type_name(),
                crate::output::when(event.at)
            );
        }
    }
    if timeline.people.is_empty() {
        let _ = write!(svg, r##"<text x="{LEFT}" y="{}" fill="#444444">no members yet</text>"##, TOP + ROW / 2.0);
    }
    // The time axis.
    let axis = TOP + ROW * rows as f64 + 8.0;
    let _ = write!(svg, r##"<line x1="{LEFT}" y1="{axis}" x2="{}" y2="{axis}" stroke="#222222"/>"##, WIDTH - RIGHT);
    for at in ticks(start, end) {
        let tx = x(at);
        let label = if at.time() == time::Time::MIDNIGHT {
            at.date().to_string()
        } else {
            format!("{} {:02}:{:02}", at.date(), at.hour(), at.minute())
        };
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{}" stroke="#dddddd"/><line x1="{tx:.1}" y1="{axis}" x2="{tx:.1}" y2="{}" stroke="#222222"/><text x="{tx:.1}" y="{}" text-anchor="middle" fill="#222222">{label}</text>"##,
            axis,
            axis + 6.0,
            axis + 22.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The axis's ticks: whole hours, days, weeks or months (the first step that gives at
/// most eight), from UTC midnight, inside `start..=end`.
fn ticks(start: OffsetDateTime, end: OffsetDateTime) -> Vec<OffsetDateTime> {
    const HOUR: i64 = 3_600;
    const DAY: i64 = 24 * HOUR;
    let steps = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 365 * DAY];
    let seconds = (end - start).whole_seconds();
    let step = steps.into_iter().find(|step| seconds / step <= 8).unwrap_or(365 * DAY);
    let origin = start.replace_time(time::Time::MIDNIGHT);
    let skip = (start - origin).whole_seconds().div_euclid(step) + 1;
    let mut at = origin + time::Duration::seconds(skip * step);
    if at - time::Duration::seconds(step) >= start {
        at -= time::Duration::seconds(step);
    }
    let mut ticks = Vec::new();
    while at <= end && ticks.len() < 16 {
        ticks.push(at);
        at += time::Duration::seconds(step);
    }
    ticks
}

/// An HTML page holding the picture (for `--out FILE.html`).
pub(crate) fn page(title: &str, svg: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"margin:0\">\n{svg}</body></html>\n",
        escape(title)
    )
}

fn state_name(state: MembershipState) -> &'static str {
    match state {
        MembershipState::Unapproved => "unapproved",
        MembershipState::Member => "approved member",
        MembershipState::Admin => "admin",
        MembershipState::Archived => "archived",
    }
}

/// At most `max` characters of `text`, with an ellipsis if cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Text as XML character data or an attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_whole_days_or_hours_inside_the_range() {
        use time::macros::datetime;
        let week = ticks(datetime!(2026-02-28 12:00 UTC), datetime!(2026-03-07 00:00 UTC));
        assert_eq!(week.first(), Some(&datetime!(2026-03-01 00:00 UTC)));
        assert_eq!(week.last(), Some(&datetime!(2026-03-07 00:00 UTC)));
        assert_eq!(week.len(), 7);
        let day = ticks(datetime!(2026-03-01 09:30 UTC), datetime!(2026-03-02 09:30 UTC));
        assert_eq!(day.first(), Some(&datetime!(2026-03-01 12:00 UTC)));
        assert!(day.len() <= 8 && day.iter().all(|t| t.minute() == 0));
        let year = ticks(datetime!(2026-03-01 00:00 UTC), datetime!(2026-12-05 06:00 UTC));
        assert!(year.len() <= 8 && year.first() == Some(&datetime!(2026-03-01 00:00 UTC)));
    }

    #[test]
    fn text_is_escaped_and_long_names_clipped() {
        assert_eq!(escape("O'Brien & <Sons> \"x\""), "O&apos;Brien &amp; &lt;Sons&gt; &quot;x&quot;");
        assert_eq!(clip("Alice", 34), "Alice");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
