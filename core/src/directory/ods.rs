//! Reading the NHS Organisation Data Service's CSV files (R40): `etr.csv` (NHS trusts)
//! and `epraccur.csv` (GP practices and other prescribing settings), in their published
//! layout. Each row becomes an [`OdsRecord`] or a [`Rejected`] row with its line number
//! and reason; nothing here panics, whatever the bytes.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use time::{Date, Month};

use super::names::readable_name;
use crate::{Error, OdsCode, OrganisationKind, OrganisationName};

/// Which ODS file a reader holds: the layouts differ in their columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OdsFile {
    /// `etr.csv`: NHS trusts, 24 columns.
    Trusts,
    /// `epraccur.csv`: GP practices and other prescribing settings, 27 columns.
    Practices,
}

impl OdsFile {
    /// The number of columns a row of this file has.
    pub fn columns(self) -> usize {
        match self {
            Self::Trusts => 24,
            Self::Practices => 27,
        }
    }

    /// The layout a file name says (`etr.csv` → trusts, `epraccur.csv` → practices,
    /// ignoring case, a directory and dated variants such as `epraccur-2021.csv`).
    ///
    /// ```
    /// use carespace::directory::OdsFile;
    /// assert_eq!(OdsFile::from_file_name("/data/ods/ETR.csv"), Some(OdsFile::Trusts));
    /// assert_eq!(OdsFile::from_file_name("epraccur-2021-01.csv"), Some(OdsFile::Practices));
    /// assert_eq!(OdsFile::from_file_name("people.csv"), None);
    /// ```
    pub fn from_file_name(name: &str) -> Option<Self> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name).to_ascii_lowercase();
        if base.starts_with("epraccur") {
            Some(Self::Practices)
        } else if base.starts_with("etr") {
            Some(Self::Trusts)
        } else {
            None
        }
    }

    /// A stable lower-case name (`trusts`, `practices`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trusts => "trusts",
            Self::Practices => "practices",
        }
    }

    /// The inverse of [`OdsFile::as_str`].
    pub fn from_str_opt(s: &str) -> Option<Self> {
        match s {
            "trusts" => Some(Self::Trusts),
            "practices" => Some(Self::Practices),
            _ => None,
        }
    }
}

/// An organisation's status in `epraccur.csv` (column 13); trusts have none, and read
/// as active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OdsStatus {
    /// `A`: active.
    Active,
    /// `C`: closed.
    Closed,
    /// `D`: dormant (counted as closed, R40).
    Dormant,
    /// `P`: proposed (counted as open).
    Proposed,
}

/// One organisation as a file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdsRecord {
    /// The line it was on (from 1).
    pub line: u64,
    /// Its ODS code: its identity.
    pub code: OdsCode,
    /// Its name as the file spells it.
    pub source_name: String,
    /// The name people see ([`readable_name`](super::readable_name)).
    pub name: OrganisationName,
    /// Its kind: a trust, or its prescribing setting's.
    pub kind: OrganisationKind,
    /// Its postcode, upper case, if the file gives one.
    pub postcode: Option<String>,
    /// Its close date, if the file gives one.
    pub close_date: Option<Date>,
    /// Its status.
    pub status: OdsStatus,
}

impl OdsRecord {
    /// Whether the file shows it closed: a close date, or status C or D.
    pub fn closed(&self) -> bool {
        self.close_date.is_some() || matches!(self.status, OdsStatus::Closed | OdsStatus::Dormant)
    }
}

/// A row that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    /// The line it was on (from 1).
    pub line: u64,
    /// Its ODS code as written, if the row had one.
    pub code: Option<String>,
    /// Why it was rejected.
    pub reason: RejectReason,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "line {} ({code}): {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Why a row was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// The row has the wrong number of columns.
    Columns {
        /// How many it has.
        found: usize,
        /// How many the layout has.
        expected: usize,
    },
    /// A field's bytes are neither UTF-8 nor Windows-1252.
    NotText {
        /// The column (from 1).
        column: usize,
    },
    /// The ODS code is malformed.
    BadCode(String),
    /// The name is empty.
    EmptyName,
    /// The name cannot be an organisation's name (too long).
    BadName(String),
    /// The postcode is longer than any postcode (10 characters).
    BadPostcode(String),
    /// A date is not `YYYYMMDD`.
    BadDate {
        /// Which date ("open date" or "close date").
        what: String,
        /// The value.
        value: String,
    },
    /// The status is not A, C, D or P.
    UnknownStatus(String),
    /// The prescribing setting is not a number.
    BadSetting(String),
    /// The code appeared on an earlier line of the same file.
    Duplicate {
        /// The earlier line.
        first_line: u64,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Columns { found, expected } => write!(f, "{found} columns where the layout has {expected}"),
            Self::NotText { column } => write!(f, "column {column} is neither UTF-8 nor Windows-1252 text"),
            Self::BadCode(why) => write!(f, "not an ODS code: {why}"),
            Self::EmptyName => f.write_str("the name is empty"),
            Self::BadName(why) => write!(f, "not an organisation name: {why}"),
            Self::BadPostcode(p) => write!(f, "“{p}” is not a postcode (longer than 10 characters)"),
            Self::BadDate { what, value } => write!(f, "the {what} “{value}” is not a date (YYYYMMDD)"),
            Self::UnknownStatus(s) => write!(f, "unknown status “{s}” (A, C, D or P)"),
            Self::BadSetting(s) => write!(f, "the prescribing setting “{s}” is not a number"),
            Self::Duplicate { first_line } => write!(f, "the code is already on line {first_line}"),
        }
    }
}

/// What a file held: its organisations, and the rows that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OdsRows {
    /// The rows read, in file order.
    pub records: Vec<OdsRecord>,
    /// The rows rejected, in file order.
    pub rejected: Vec<Rejected>,
    /// The lines whose text was Windows-1252 rather than UTF-8 (read all the same).
    pub windows_1252_lines: Vec<u64>,
}

/// Reads an ODS file of layout `file`. Rows that cannot be read are in
/// [`OdsRows::rejected`]; only a failure to read the bytes at all is an error.
///
/// ```
/// use carespace::directory::{read_ods, OdsFile};
/// let csv = "\"A81001\",\"THE DENSHAM SURGERY\",\"Y63\",\"Q74\",\"THE HEALTH CENTRE\",\"LAWSON STREET\",\
///            \"STOCKTON-ON-TEES\",\"CLEVELAND\",\"\",\"TS18 1HU\",\"19740401\",\"\",\"A\",\"B\",\"00K\",\
///            \"20130401\",\"\",\"01642 672351\",\"\",\"\",\"\",\"0\",\"\",\"00K\",\"\",\"4\",\"\"\n";
/// let rows = read_ods(OdsFile::Practices, csv.as_bytes())?;
/// assert_eq!(rows.records[0].name.as_str(), "The Densham Surgery");
/// assert_eq!(rows.records[0].postcode.as_deref(), Some("TS18 1HU"));
/// # Ok::<(), carespace::Error>(())
/// ```
pub fn read_ods(file: OdsFile, reader: impl Read) -> Result<OdsRows, Error> {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
    let mut rows = OdsRows::default();
    let mut seen: HashMap<OdsCode, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(Error::Unreadable {
                    what: format!("the ODS {} file", file.as_str()),
                    reason: e.to_string(),
                });
            }
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(<[u8]>::is_empty) {
            continue; // a blank line
        }
        let mut windows_1252 = false;
        match read_row(file, &record, &mut windows_1252) {
            Ok(mut found) => {
                found.line = line;
                if windows_1252 {
                    rows.windows_1252_lines.push(line);
                }
                if let Some(first_line) = seen.get(&found.code) {
                    let reason = RejectReason::Duplicate { first_line: *first_line };
                    rows.rejected.push(Rejected { line, code: Some(found.code.to_string()), reason });
                } else {
                    seen.insert(found.code.clone(), line);
                    rows.records.push(found);
                }
            }
            Err(reason) => {
                let code = record.get(0).map(|c| decode(c).0.trim().to_owned()).filter(|c| !c.is_empty());
                rows.rejected.push(Rejected { line, code, reason });
            }
        }
    }
    Ok(rows)
}

/// One row, its line left for the caller to fill in.
fn read_row(file: OdsFile, record: &csv::ByteRecord, windows_1252: &mut bool) -> Result<OdsRecord, RejectReason> {
    let expected = file.columns();
    if record.len() != expected {
        return Err(RejectReason::Columns { found: record.len(), expected });
    }
    let field = |i: usize| -> Result<String, RejectReason> {
        let (text, ok) = decode(record.get(i).unwrap_or_default());
        if !ok {
            return Err(RejectReason::NotText { column: i + 1 });
        }
        Ok(text.trim().to_owned())
    };
    for i in 0..record.len() {
        if std::str::from_utf8(record.get(i).unwrap_or_default()).is_err() {
            *windows_1252 = true;
        }
    }
    let code = OdsCode::parse(&field(0)?).map_err(|e| RejectReason::BadCode(e.to_string()))?;
    let source_name = field(1)?;
    if source_name.is_empty() {
        return Err(RejectReason::EmptyName);
    }
    let name =
        OrganisationName::parse(&readable_name(&source_name)).map_err(|e| RejectReason::BadName(e.to_string()))?;
    let postcode = Some(field(9)?.to_uppercase()).filter(|p| !p.is_empty());
    if let Some(long) = postcode.as_ref().filter(|p| p.chars().count() > 10) {
        return Err(RejectReason::BadPostcode(long.clone()));
    }
    date("open date", &field(10)?)?;
    let close_date = date("close date", &field(11)?)?;
    let (status, kind) = match file {
        OdsFile::Trusts => (OdsStatus::Active, OrganisationKind::NhsTrust),
        OdsFile::Practices => {
            let status = match field(12)?.as_str() {
                "A" => OdsStatus::Active,
                "C" => OdsStatus::Closed,
                "D" => OdsStatus::Dormant,
                "P" => OdsStatus::Proposed,
                other => return Err(RejectReason::UnknownStatus(other.to_owned())),
            };
            let setting = field(25)?;
            let code: u32 = setting.parse().map_err(|_| RejectReason::BadSetting(setting.clone()))?;
            (status, OrganisationKind::from_prescribing_setting(code))
        }
    };
    Ok(OdsRecord { line: 0, code, source_name, name, kind, postcode, close_date, status })
}

/// A `YYYYMMDD` date, or none for an empty field.
fn date(what: &'static str, value: &str) -> Result<Option<Date>, RejectReason> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || RejectReason::BadDate { what: what.to_owned(), value: value.to_owned() };
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| value.get(range).and_then(|s| s.parse::<u16>().ok()).ok_or_else(bad);
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let month = u8::try_from(month).ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(bad)?;
    let day = u8::try_from(day).map_err(|_| bad())?;
    Date::from_calendar_date(i32::from(year), month, day).map(Some).map_err(|_| bad())
}

/// A field's text: UTF-8, or else Windows-1252 (older ODS files); `false` when it is
/// neither (a byte Windows-1252 leaves undefined).
fn decode(bytes: &[u8]) -> (String, bool) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_owned(), true);
    }
    let mut ok = true;
    let text = bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => WINDOWS_1252.get(usize::from(b - 0x80)).copied().flatten().unwrap_or_else(|| {
                ok = false;
                char::REPLACEMENT_CHARACTER
            }),
            _ => char::from(b),
        })
        .collect();
    (text, ok)
}

/// Windows-1252's characters for bytes 0x80–0x9F (the rest are Latin-1's); `None` where
/// it defines none.
const WINDOWS_1252: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];
