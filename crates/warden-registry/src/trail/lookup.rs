//! Reading the registry's CloudTrail-format audit trail back, with the filters, paging and
//! response shape of CloudTrail's `LookupEvents` (`aws cloudtrail lookup-events`).
//!
//! # The trail on disk
//!
//! Under the trail directory (`<data-dir>/trail` by default):
//!
//! - **Sealed files**, named exactly as CloudTrail names its log files
//!   (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>):
//!   `AWSLogs/<AccountID>/CloudTrail/<Region>/<YYYY>/<MM>/<DD>/<AccountID>_CloudTrail_<Region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`,
//!   each the gzip of `{"Records": [event, ...]}`. The whole `AWSLogs` tree is walked for
//!   `*.json.gz`, whatever the account or region; anything else (a half-written `*.tmp`) is
//!   skipped.
//! - **Write-ahead logs** of events not sealed yet: `wal/*.jsonl`, one event object per line,
//!   each complete line ending in `\n`. A last line without its `\n` was torn by a crash and is
//!   ignored; blank lines are ignored; any other line that is not a JSON object is an error
//!   naming the file and line.
//!
//! An event sealed just before a crash may still be in its WAL as well: events are
//! de-duplicated by `eventID` (with its `eventTime`, which is the same in both copies). WALs are
//! read before the sealed files, so an event that moves from a WAL into a sealed file while we
//! read is found in one or the other.
//!
//! Inputs are bounded rather than trusted: a sealed file that decompresses to more than
//! [`MAX_DECOMPRESSED_BYTES`], or a WAL line longer than [`MAX_LINE_BYTES`], is an error. Only the
//! page being built (at most `MaxResults + 1` events) is kept in memory, whatever the trail's
//! size.
//!
//! # CloudTrail's LookupEvents rules
//!
//! From the API reference
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>,
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html>):
//!
//! - `LookupAttributes` "can contain only one item"; its keys are `EventId`, `EventName`,
//!   `ReadOnly`, `Username`, `ResourceType`, `ResourceName`, `EventSource` and `AccessKeyId`;
//!   values are 1 to 2000 characters and match exactly. More than one attribute is an
//!   `InvalidLookupAttributesException`.
//! - `StartTime` and `EndTime` are inclusive; a start after the end is an
//!   `InvalidTimeRangeException`.
//! - `MaxResults` is 1 through 50, default 50; anything else is an `InvalidMaxResultsException`.
//! - `NextToken` "must be passed in with the same parameters that were specified in the original
//!   call": the token names the query it was issued for, and a token that is malformed or was
//!   issued for other attributes or times is an `InvalidNextTokenException`.
//! - Events come newest first; events of the same second are ordered by `eventID`, so the order
//!   is total and stable.
//!
//! The token is the position of the last event returned (its time and `eventID`), so a page
//! starts strictly after it in that order: events recorded after the first page was read are
//! newer, sort before the position, and never shift later pages.
//!
//! The response's `EventTime` is printed as the AWS CLI prints timestamps
//! (`2026-12-06T10:11:12+00:00`); `CloudTrailEvent` is the whole record as a JSON string, its
//! text as the trail holds it.
//! `Username` is what CloudTrail shows: an IAM user's `userName`, an assumed role's session name
//! (the last segment of its ARN), `root` for the root user, and nothing for service events.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// The largest a sealed file may be once decompressed.
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;
/// The longest a WAL line may be (without its `\n`).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The longest `NextToken` accepted.
pub const MAX_NEXT_TOKEN_CHARS: usize = 512;
/// The default and largest `MaxResults`.
pub const MAX_RESULTS: usize = 50;
/// The longest lookup attribute value CloudTrail accepts.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 2000;
/// The longest `eventID` a token may carry.
const MAX_TOKEN_EVENT_ID: usize = 128;

/// A point in time of a query (`StartTime`, `EndTime`).
pub type Time = DateTime<Utc>;

/// One `LookupAttribute`: the key, with the value to match exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupAttribute {
    /// `EventId`: the record's `eventID`.
    EventId(String),
    /// `EventName`: the record's `eventName` (`PutImage`).
    EventName(String),
    /// `ReadOnly`: `true` or `false`, the record's `readOnly`.
    ReadOnly(String),
    /// `Username`: the user name CloudTrail shows for the caller (see the module doc).
    Username(String),
    /// `ResourceType`: the `type` of one of the record's `resources` (`AWS::ECR::Repository`).
    ResourceType(String),
    /// `ResourceName`: one of the record's `resources`, by its ARN or by its plain name.
    ResourceName(String),
    /// `EventSource`: the record's `eventSource` (`ecr.amazonaws.com`).
    EventSource(String),
    /// `AccessKeyId`: the caller's `userIdentity.accessKeyId`.
    AccessKeyId(String),
}

impl LookupAttribute {
    /// The attribute for an `AttributeKey` and `AttributeValue`, validated as CloudTrail does.
    pub fn new(key: &str, value: &str) -> Result<Self, LookupError> {
        let value_len = value.chars().count();
        if value_len == 0 || value_len > MAX_ATTRIBUTE_VALUE_CHARS {
            return Err(LookupError::InvalidLookupAttributes(format!(
                "AttributeValue of {key} must be 1 to {MAX_ATTRIBUTE_VALUE_CHARS} characters long"
            )));
        }
        let v = value.to_owned();
        Ok(match key {
            "EventId" => Self::EventId(v),
            "EventName" => Self::EventName(v),
            "ReadOnly" => {
                if value != "true" && value != "false" {
                    return Err(LookupError::InvalidLookupAttributes(format!(
                        "the value of ReadOnly must be `true` or `false`, not `{value}`"
                    )));
                }
                Self::ReadOnly(v)
            }
            "Username" => Self::Username(v),
            "ResourceType" => Self::ResourceType(v),
            "ResourceName" => Self::ResourceName(v),
            "EventSource" => Self::EventSource(v),
            "AccessKeyId" => Self::AccessKeyId(v),
            other => {
                return Err(LookupError::InvalidLookupAttributes(format!(
                    "`{other}` is not an AttributeKey: EventId, EventName, ReadOnly, Username, ResourceType, \
                     ResourceName, EventSource or AccessKeyId"
                )))
            }
        })
    }

    /// The `AttributeKey`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::EventId(_) => "EventId",
            Self::EventName(_) => "EventName",
            Self::ReadOnly(_) => "ReadOnly",
            Self::Username(_) => "Username",
            Self::ResourceType(_) => "ResourceType",
            Self::ResourceName(_) => "ResourceName",
            Self::EventSource(_) => "EventSource",
            Self::AccessKeyId(_) => "AccessKeyId",
        }
    }

    /// The `AttributeValue`.
    pub fn value(&self) -> &str {
        match self {
            Self::EventId(v)
            | Self::EventName(v)
            | Self::ReadOnly(v)
            | Self::Username(v)
            | Self::ResourceType(v)
            | Self::ResourceName(v)
            | Self::EventSource(v)
            | Self::AccessKeyId(v) => v,
        }
    }

    /// One attribute in the AWS CLI's shorthand: `AttributeKey=EventName,AttributeValue=PutImage`.
    /// The value is everything after `AttributeValue=` (or before `,AttributeKey=` when the value
    /// comes first), so it may hold commas; a key never does.
    pub fn parse_shorthand(s: &str) -> Result<Self, LookupError> {
        let bad =
            || LookupError::InvalidLookupAttributes(format!("`{s}` is not `AttributeKey=KEY,AttributeValue=VALUE`"));
        let s = s.trim();
        let (key, value) = if let Some(rest) = s.strip_prefix("AttributeKey=") {
            let (key, rest) = rest.split_once(',').ok_or_else(bad)?;
            (key, rest.strip_prefix("AttributeValue=").ok_or_else(bad)?)
        } else if let Some(rest) = s.strip_prefix("AttributeValue=") {
            let (value, key) = rest.rsplit_once(",AttributeKey=").ok_or_else(bad)?;
            (key, value)
        } else {
            return Err(bad());
        };
        Self::new(key.trim(), value)
    }

    /// Attributes as JSON: `[{"AttributeKey": "EventName", "AttributeValue": "PutImage"}]`, or
    /// one such object.
    pub fn parse_json(s: &str) -> Result<Vec<Self>, LookupError> {
        let bad = |why: String| LookupError::InvalidLookupAttributes(format!("not a LookupAttributes list: {why}"));
        let v: Value = serde_json::from_str(s).map_err(|e| bad(e.to_string()))?;
        let items = match v {
            Value::Array(items) => items,
            obj @ Value::Object(_) => vec![obj],
            _ => return Err(bad("expected an array of objects".to_owned())),
        };
        items
            .iter()
            .map(|item| {
                let key = item.get("AttributeKey").and_then(Value::as_str);
                let value = item.get("AttributeValue").and_then(Value::as_str);
                match (key, value) {
                    (Some(k), Some(v)) => Self::new(k, v),
                    _ => Err(bad("each item needs string AttributeKey and AttributeValue".to_owned())),
                }
            })
            .collect()
    }

    /// One `--lookup-attributes` argument: JSON when it starts with `[` or `{`, else shorthand.
    pub fn parse_cli(s: &str) -> Result<Vec<Self>, LookupError> {
        let t = s.trim_start();
        if t.starts_with('[') || t.starts_with('{') {
            Self::parse_json(t)
        } else {
            Self::parse_shorthand(t).map(|a| vec![a])
        }
    }

    fn matches(&self, record: &Value) -> bool {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        match self {
            Self::EventId(v) => s(record, "eventID").as_deref() == Some(v),
            Self::EventName(v) => s(record, "eventName").as_deref() == Some(v),
            Self::EventSource(v) => s(record, "eventSource").as_deref() == Some(v),
            Self::ReadOnly(v) => read_only(record) == *v,
            Self::Username(v) => username(record).as_deref() == Some(v),
            Self::AccessKeyId(v) => access_key_id(record).as_deref() == Some(v),
            Self::ResourceType(v) => resources(record).iter().any(|r| r.resource_type.as_deref() == Some(v)),
            Self::ResourceName(v) => resources(record)
                .iter()
                .filter_map(|r| r.resource_name.as_deref())
                .any(|name| name == v || plain_name(name) == Some(v.as_str())),
        }
    }
}

/// A `LookupEvents` request.
#[derive(Debug, Clone, Default)]
pub struct LookupQuery {
    /// `LookupAttributes`: at most one.
    pub attributes: Vec<LookupAttribute>,
    /// `StartTime`: events at or after it.
    pub start_time: Option<Time>,
    /// `EndTime`: events at or before it.
    pub end_time: Option<Time>,
    /// `MaxResults`: 1 through 50 (default 50).
    pub max_results: Option<usize>,
    /// `NextToken` of the previous page.
    pub next_token: Option<String>,
}

/// A `LookupEvents` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupResponse {
    /// The events, newest first.
    pub events: Vec<Event>,
    /// The token of the next page, when there are more events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One event of a [`LookupResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: String,
    /// `readOnly`, as `"true"` or `"false"`.
    pub read_only: String,
    /// The caller's access key, when it used one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// `eventTime`, as the AWS CLI prints it (`2026-12-06T10:11:12+00:00`).
    pub event_time: String,
    /// `eventSource`.
    pub event_source: String,
    /// The user name CloudTrail shows (absent for service events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The record's `resources`.
    pub resources: Vec<Resource>,
    /// The whole record, as a JSON string.
    pub cloud_trail_event: String,
}

/// A resource of an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    /// The resource's type (`AWS::ECR::Repository`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The resource's ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

/// Why a lookup failed. `Display` is `<AWS exception name>: <message>`.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The lookup attributes are invalid (more than one, an unknown key, a bad value).
    #[error("InvalidLookupAttributesException: {0}")]
    InvalidLookupAttributes(String),
    /// `MaxResults` is outside 1 through 50.
    #[error("InvalidMaxResultsException: MaxResults must be 1 through {MAX_RESULTS}, not {0}")]
    InvalidMaxResults(usize),
    /// `StartTime` is after `EndTime`.
    #[error("InvalidTimeRangeException: StartTime {start} is after EndTime {end}")]
    InvalidTimeRange {
        /// The start.
        start: DateTime<Utc>,
        /// The end.
        end: DateTime<Utc>,
    },
    /// The token is malformed, or was issued for another query.
    #[error("InvalidNextTokenException: {0}")]
    InvalidNextToken(String),
    /// A time argument is neither ISO 8601 nor epoch seconds (the AWS CLI's parameter check).
    #[error("ParamValidationError: {name}: `{value}` is not an ISO 8601 time or epoch seconds")]
    InvalidTimestamp {
        /// The parameter.
        name: &'static str,
        /// The value.
        value: String,
    },
    /// There is no trail directory.
    #[error("TrailNotFoundException: no trail at {}", .0.display())]
    TrailNotFound(PathBuf),
    /// A trail file could not be read.
    #[error("TrailReadException: {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A trail file is not in the trail's format.
    #[error("TrailReadException: {}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The WAL line (1-based), for WAL files.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

impl LookupError {
    /// The AWS exception name this error is reported as.
    pub fn aws_exception(&self) -> &'static str {
        match self {
            Self::InvalidLookupAttributes(_) => "InvalidLookupAttributesException",
            Self::InvalidMaxResults(_) => "InvalidMaxResultsException",
            Self::InvalidTimeRange { .. } => "InvalidTimeRangeException",
            Self::InvalidNextToken(_) => "InvalidNextTokenException",
            Self::InvalidTimestamp { .. } => "ParamValidationError",
            Self::TrailNotFound(_) => "TrailNotFoundException",
            Self::Io { .. } | Self::Corrupt { .. } => "TrailReadException",
        }
    }
}

/// Parses a time as the AWS CLI does: epoch seconds (`1796731200`, `1796731200.5`), ISO 8601
/// with `Z` or an offset, or without one (taken as UTC), or a bare date (midnight UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let is_number = !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && unsigned.bytes().filter(|&b| b == b'.').count() <= 1;
    if is_number {
        let secs: f64 = s.parse().ok()?;
        if !secs.is_finite() {
            return None;
        }
        let whole = secs.floor();
        let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
        // f64 → i64: `as` saturates; out-of-range years are rejected by `from_timestamp`.
        return DateTime::from_timestamp(whole as i64, nanos);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y%m%dT%H%M%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y%m%dT%H%M%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// Looks events up in the trail at `trail_dir`, as CloudTrail's `LookupEvents` does.
pub fn lookup(trail_dir: &Path, query: &LookupQuery) -> Result<LookupResponse, LookupError> {
    if query.attributes.len() > 1 {
        return Err(LookupError::InvalidLookupAttributes(format!(
            "LookupAttributes can contain only one item, not {}",
            query.attributes.len()
        )));
    }
    let max_results = query.max_results.unwrap_or(MAX_RESULTS);
    if !(1..=MAX_RESULTS).contains(&max_results) {
        return Err(LookupError::InvalidMaxResults(max_results));
    }
    if let (Some(start), Some(end)) = (query.start_time, query.end_time) {
        if start > end {
            return Err(LookupError::InvalidTimeRange { start, end });
        }
    }
    let fingerprint = fingerprint(query);
    let after = match &query.next_token {
        Some(token) => Some(decode_token(token, fingerprint)?),
        None => None,
    };
    if !trail_dir.is_dir() {
        return Err(LookupError::TrailNotFound(trail_dir.to_path_buf()));
    }

    let mut page = Page { limit: max_results + 1, query, after, events: BTreeMap::new() };
    for path in wal_files(trail_dir)? {
        read_wal(&path, &mut page)?;
    }
    for path in sealed_files(trail_dir)? {
        read_sealed(&path, &mut page)?;
    }

    let more = page.events.len() > max_results;
    let kept: Vec<(Key, (Value, String))> = page.events.into_iter().take(max_results).collect();
    let next_token = match kept.last() {
        Some((key, _)) if more => Some(encode_token(key, fingerprint)),
        _ => None,
    };
    let events = kept.iter().map(|(key, record)| summarize(key, &record.0, &record.1)).collect();
    Ok(LookupResponse { events, next_token })
}

/// An event's position: newest first, then by `eventID`.
type Key = (Reverse<i64>, String);

/// The page being built: the first `limit` matching events after the token's position.
struct Page<'a> {
    limit: usize,
    query: &'a LookupQuery,
    after: Option<Key>,
    /// The events kept, parsed and as their text.
    events: BTreeMap<Key, (Value, String)>,
}

impl Page<'_> {
    /// Takes one record's text if it belongs on the page.
    fn offer(&mut self, text: &str, path: &Path, line: Option<usize>) -> Result<(), LookupError> {
        let corrupt = |reason: String| LookupError::Corrupt { path: path.to_path_buf(), line, reason };
        let record: Value = serde_json::from_str(text).map_err(|e| corrupt(format!("not a JSON event: {e}")))?;
        if !record.is_object() {
            return Err(corrupt("a record is not a JSON object".to_owned()));
        }
        let id = record
            .get("eventID")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| corrupt("a record has no eventID".to_owned()))?;
        let time_text = record
            .get("eventTime")
            .and_then(Value::as_str)
            .ok_or_else(|| corrupt(format!("record {id} has no eventTime")))?;
        let time = DateTime::parse_from_rfc3339(time_text)
            .map_err(|e| corrupt(format!("record {id}: eventTime `{time_text}`: {e}")))?
            .with_timezone(&Utc);
        let secs = time.timestamp();
        let at = DateTime::from_timestamp(secs, 0).unwrap_or(time);
        if self.query.start_time.is_some_and(|s| at < s) || self.query.end_time.is_some_and(|e| at > e) {
            return Ok(());
        }
        let key: Key = (Reverse(secs), id.to_owned());
        if self.after.as_ref().is_some_and(|after| key <= *after) {
            return Ok(());
        }
        if self.events.len() >= self.limit && self.events.last_key_value().is_some_and(|(last, _)| key > *last) {
            return Ok(());
        }
        if self.events.contains_key(&key) || !self.query.attributes.iter().all(|a| a.matches(&record)) {
            return Ok(());
        }
        self.events.insert(key, (record, text.to_owned()));
        if self.events.len() > self.limit {
            self.events.pop_last();
        }
        Ok(())
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LookupError + '_ {
    move |source| LookupError::Io { path: path.to_path_buf(), source }
}

/// `TRAIL/wal/*.jsonl`, sorted.
fn wal_files(trail_dir: &Path) -> Result<Vec<PathBuf>, LookupError> {
    let dir = trail_dir.join("wal");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(&dir))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "jsonl") && entry.file_type().map_err(io_error(&path))?.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every `*.json.gz` under `TRAIL/AWSLogs`, sorted.
fn sealed_files(trail_dir: &Path) -> Result<Vec<PathBuf>, LookupError> {
    let mut files = Vec::new();
    let mut dirs = vec![trail_dir.join("AWSLogs")];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_error(&dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io_error(&path))?;
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() && entry.file_name().to_string_lossy().ends_with(".json.gz") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn open(path: &Path) -> Result<Option<File>, LookupError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        // Sealed and removed since it was listed: its events are in a sealed file listed later.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

fn read_wal(path: &Path, page: &mut Page<'_>) -> Result<(), LookupError> {
    let Some(file) = open(path)? else { return Ok(()) };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line = 0usize;
    loop {
        buf.clear();
        line += 1;
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        let n = (&mut reader).take(limit).read_until(b'\n', &mut buf).map_err(io_error(path))?;
        if n == 0 {
            return Ok(());
        }
        let Some(content) = buf.strip_suffix(b"\n") else {
            if buf.len() > MAX_LINE_BYTES {
                return Err(LookupError::Corrupt {
                    path: path.to_path_buf(),
                    line: Some(line),
                    reason: format!("line longer than {MAX_LINE_BYTES} bytes"),
                });
            }
            // The last line, torn by a crash before its `\n` was written.
            return Ok(());
        };
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = std::str::from_utf8(content).map_err(|e| LookupError::Corrupt {
            path: path.to_path_buf(),
            line: Some(line),
            reason: format!("not UTF-8: {e}"),
        })?;
        page.offer(text, path, Some(line))?;
    }
}

fn read_sealed(path: &Path, page: &mut Page<'_>) -> Result<(), LookupError> {
    let Some(file) = open(path)? else { return Ok(()) };
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(BufReader::new(file))
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| LookupError::Corrupt { path: path.to_path_buf(), line: None, reason: format!("gzip: {e}") })?;
    if u64::try_from(data.len()).unwrap_or(u64::MAX) > MAX_DECOMPRESSED_BYTES {
        return Err(LookupError::Corrupt {
            path: path.to_path_buf(),
            line: None,
            reason: format!("larger than {MAX_DECOMPRESSED_BYTES} bytes decompressed"),
        });
    }
    #[derive(serde::Deserialize)]
    struct LogFile<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    let log: LogFile = serde_json::from_slice(&data).map_err(|e| LookupError::Corrupt {
        path: path.to_path_buf(),
        line: None,
        reason: format!("not a CloudTrail log file ({{\"Records\": [...]}}): {e}"),
    })?;
    for record in log.records {
        page.offer(record.get(), path, None)?;
    }
    Ok(())
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn read_only(record: &Value) -> String {
    match record.get("readOnly") {
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "false".to_owned(),
    }
}

fn access_key_id(record: &Value) -> Option<String> {
    record
        .get("userIdentity")
        .and_then(|u| u.get("accessKeyId"))
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

/// The user name CloudTrail shows for a record's caller.
fn username(record: &Value) -> Option<String> {
    let identity = record.get("userIdentity")?;
    let field = |k: &str| identity.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let last_segment = || field("arn").and_then(|arn| arn.rsplit('/').next()).filter(|s| !s.is_empty());
    match field("type") {
        Some("Root") => Some("root".to_owned()),
        Some("AssumedRole") => last_segment().or_else(|| field("userName")).map(str::to_owned),
        // IAM users, and the other kinds with an ARN; service events have neither: no user name.
        _ => field("userName").or_else(last_segment).map(str::to_owned),
    }
}

fn resources(record: &Value) -> Vec<Resource> {
    let Some(list) = record.get("resources").and_then(Value::as_array) else { return Vec::new() };
    list.iter()
        .map(|r| Resource {
            resource_type: r.get("type").and_then(Value::as_str).map(str::to_owned),
            resource_name: r.get("ARN").and_then(Value::as_str).map(str::to_owned),
        })
        .collect()
}

/// The plain name in an ARN: `team/app` of `arn:aws:ecr:us-east-1:111122223333:repository/team/app`.
fn plain_name(arn: &str) -> Option<&str> {
    let resource = arn.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    resource.split_once('/').map(|(_, name)| name).or(Some(resource))
}

fn summarize(key: &Key, record: &Value, text: &str) -> Event {
    let event_time = DateTime::from_timestamp(key.0 .0, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default();
    Event {
        event_id: key.1.clone(),
        event_name: str_field(record, "eventName"),
        read_only: read_only(record),
        access_key_id: access_key_id(record),
        event_time,
        event_source: str_field(record, "eventSource"),
        username: username(record),
        resources: resources(record),
        cloud_trail_event: text.to_owned(),
    }
}

/// What a token is bound to: the attributes and times of the query (not `MaxResults`).
fn fingerprint(query: &LookupQuery) -> u64 {
    let mut text = String::new();
    for a in &query.attributes {
        text.push_str(a.key());
        text.push('=');
        text.push_str(a.value());
        text.push('\u{0}');
    }
    let time = |t: Option<DateTime<Utc>>| t.map(|t| format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
    text.push_str(&time(query.start_time).unwrap_or_default());
    text.push('\u{0}');
    text.push_str(&time(query.end_time).unwrap_or_default());
    // FNV-1a: a fingerprint to catch a token reused with other parameters, not a MAC.
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn encode_token(key: &Key, fingerprint: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("1\n{}\n{}\n{fingerprint:016x}", key.0 .0, key.1))
}

fn decode_token(token: &str, fingerprint: u64) -> Result<Key, LookupError> {
    let bad = || LookupError::InvalidNextToken("the token is not one this trail issued".to_owned());
    if token.is_empty() || token.len() > MAX_NEXT_TOKEN_CHARS {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.split('\n');
    let (Some("1"), Some(secs), Some(id), Some(fp), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    if id.is_empty() || id.len() > MAX_TOKEN_EVENT_ID {
        return Err(bad());
    }
    if u64::from_str_radix(fp, 16).map_err(|_| bad())? != fingerprint {
        return Err(LookupError::InvalidNextToken(
            "the token was issued for other LookupAttributes, StartTime or EndTime".to_owned(),
        ));
    }
    Ok((Reverse(secs), id.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

    use std::io::Write as _;

    use serde_json::json;

    use super::*;

    const ACCOUNT: &str = "111122223333";
    const REPO_ARN: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";

    fn user(name: &str, key: &str) -> Value {
        json!({
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            "accountId": ACCOUNT,
            "accessKeyId": key,
            "userName": name,
        })
    }

    fn role_session(session: &str) -> Value {
        json!({
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE:{session}"),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/{session}"),
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "Deployer"}},
        })
    }

    fn event(id: &str, time: &str, name: &str, identity: Value, read_only: bool) -> Value {
        json!({
            "eventVersion": "1.08",
            "userIdentity": identity,
            "eventTime": time,
            "eventSource": "ecr.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.1",
            "userAgent": "docker/27",
            "requestParameters": {"repositoryName": "team/app"},
            "responseElements": null,
            "requestID": format!("req-{id}"),
            "eventID": id,
            "readOnly": read_only,
            "resources": [{"ARN": REPO_ARN, "accountId": ACCOUNT, "type": "AWS::ECR::Repository"}],
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT,
        })
    }

    fn service_event(id: &str, time: &str) -> Value {
        json!({
            "eventVersion": "1.08",
            "userIdentity": {"accountId": ACCOUNT, "invokedBy": "AWS Internal"},
            "eventTime": time,
            "eventSource": "ecr.amazonaws.com",
            "eventName": "PolicyExecutionEvent",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "AWS Internal",
            "userAgent": "AWS Internal",
            "requestParameters": null,
            "responseElements": null,
            "requestID": format!("req-{id}"),
            "eventID": id,
            "readOnly": false,
            "eventType": "AwsServiceEvent",
            "recipientAccountId": ACCOUNT,
        })
    }

    fn write_sealed(trail: &Path, region: &str, stamp: &str, suffix: &str, records: &[Value]) -> PathBuf {
        let (y, m, d) = (&stamp[0..4], &stamp[4..6], &stamp[6..8]);
        let dir = trail.join(format!("AWSLogs/{ACCOUNT}/CloudTrail/{region}/{y}/{m}/{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{ACCOUNT}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"));
        let mut gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::default());
        gz.write_all(json!({ "Records": records }).to_string().as_bytes()).unwrap();
        gz.finish().unwrap();
        path
    }

    fn write_wal(trail: &Path, name: &str, text: &str) -> PathBuf {
        let dir = trail.join("wal");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn lines(records: &[Value]) -> String {
        records.iter().map(|r| format!("{r}\n")).collect()
    }

    /// A trail of 9 events over two regions' sealed files and two WALs.
    fn sample() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_sealed(
            t,
            "us-east-1",
            "20261206T1000Z",
            "AbCdEfGh12345678",
            &[
                event("e1", "2026-12-06T09:00:00Z", "CreateRepository", user("alice", "AKIAALICE"), false),
                event("e2", "2026-12-06T09:30:00Z", "PutImage", user("alice", "AKIAALICE"), false),
                event("e3", "2026-12-06T09:30:00Z", "BatchGetImage", role_session("ci-run-7"), true),
            ],
        );
        write_sealed(
            t,
            "eu-west-1",
            "20261206T1100Z",
            "ZyXwVuTs98765432",
            &[
                event("e4", "2026-12-06T10:15:00Z", "PutImage", role_session("ci-run-8"), false),
                service_event("e5", "2026-12-06T10:45:00Z"),
            ],
        );
        let mut root = event(
            "e6",
            "2026-12-06T11:00:00Z",
            "DescribeImages",
            json!({"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT}),
            true,
        );
        root["resources"] = json!([]);
        write_wal(
            t,
            "0001.jsonl",
            &lines(&[root, event("e7", "2026-12-06T11:30:00Z", "PutImage", user("bob", "AKIABOB"), false)]),
        );
        write_wal(
            t,
            "0002.jsonl",
            &format!(
                "{}\n{}",
                lines(&[
                    event("e8", "2026-12-06T12:00:00Z", "BatchGetImage", user("bob", "AKIABOB"), true),
                    event("e9", "2026-12-06T12:00:00Z", "GetAuthorizationToken", user("bob", "AKIABOB"), true),
                ]),
                r#"{"eventID": "torn", "eventTime": "2026-12-06T13:00:00Z", "eventNa"#
            ),
        );
        tmp
    }

    fn ids(r: &LookupResponse) -> Vec<&str> {
        r.events.iter().map(|e| e.event_id.as_str()).collect()
    }

    fn with(key: &str, value: &str) -> LookupQuery {
        LookupQuery { attributes: vec![LookupAttribute::new(key, value).unwrap()], ..LookupQuery::default() }
    }

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(parse_time(s).unwrap())
    }

    #[test]
    fn all_events_newest_first_ties_by_event_id_torn_line_ignored() {
        let t = sample();
        let r = lookup(t.path(), &LookupQuery::default()).unwrap();
        assert_eq!(ids(&r), ["e8", "e9", "e7", "e6", "e5", "e4", "e2", "e3", "e1"]);
        assert_eq!(r.next_token, None);
    }

    #[test]
    fn response_has_the_lookup_events_shape() {
        let t = sample();
        let r = lookup(t.path(), &with("EventId", "e3")).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1, "no NextToken on the last page: {v}");
        let e = &v["Events"][0];
        assert_eq!(e["EventId"], "e3");
        assert_eq!(e["EventName"], "BatchGetImage");
        assert_eq!(e["ReadOnly"], "true");
        assert_eq!(e["AccessKeyId"], "ASIAEXAMPLE");
        assert_eq!(e["EventTime"], "2026-12-06T09:30:00+00:00");
        assert_eq!(e["EventSource"], "ecr.amazonaws.com");
        assert_eq!(e["Username"], "ci-run-7");
        assert_eq!(e["Resources"], json!([{"ResourceType": "AWS::ECR::Repository", "ResourceName": REPO_ARN}]));
        let inner: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(inner["requestID"], "req-e3");
        assert_eq!(inner["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"], "Deployer");

        // A service event has no user name and no access key; root is `root`.
        let r = lookup(t.path(), &LookupQuery::default()).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        let svc = v["Events"].as_array().unwrap().iter().find(|e| e["EventId"] == "e5").unwrap();
        assert!(svc.get("Username").is_none() && svc.get("AccessKeyId").is_none(), "{svc}");
        assert_eq!(svc["Resources"], json!([]));
        let root = v["Events"].as_array().unwrap().iter().find(|e| e["EventId"] == "e6").unwrap();
        assert_eq!(root["Username"], "root");
    }

    #[test]
    fn each_attribute_filters_exactly() {
        let t = sample();
        let cases: &[(&str, &str, &[&str])] = &[
            ("EventId", "e4", &["e4"]),
            ("EventName", "PutImage", &["e7", "e4", "e2"]),
            ("EventName", "putimage", &[]),
            ("ReadOnly", "true", &["e8", "e9", "e6", "e3"]),
            ("ReadOnly", "false", &["e7", "e5", "e4", "e2", "e1"]),
            ("Username", "alice", &["e2", "e1"]),
            ("Username", "bob", &["e8", "e9", "e7"]),
            ("Username", "ci-run-8", &["e4"]),
            ("Username", "Deployer", &[]),
            ("Username", "root", &["e6"]),
            ("ResourceType", "AWS::ECR::Repository", &["e8", "e9", "e7", "e4", "e2", "e3", "e1"]),
            ("ResourceName", REPO_ARN, &["e8", "e9", "e7", "e4", "e2", "e3", "e1"]),
            ("ResourceName", "team/app", &["e8", "e9", "e7", "e4", "e2", "e3", "e1"]),
            ("ResourceName", "team", &[]),
            ("EventSource", "ecr.amazonaws.com", &["e8", "e9", "e7", "e6", "e5", "e4", "e2", "e3", "e1"]),
            ("EventSource", "iam.amazonaws.com", &[]),
            ("AccessKeyId", "AKIABOB", &["e8", "e9", "e7"]),
            ("AccessKeyId", "ASIAEXAMPLE", &["e4", "e3"]),
        ];
        for (key, value, want) in cases {
            let r = lookup(t.path(), &with(key, value)).unwrap();
            assert_eq!(ids(&r), *want, "{key}={value}");
        }
    }

    #[test]
    fn time_range_is_inclusive() {
        let t = sample();
        let q = LookupQuery {
            start_time: at("2026-12-06T09:30:00Z"),
            end_time: at("2026-12-06T11:00:00Z"),
            ..LookupQuery::default()
        };
        assert_eq!(ids(&lookup(t.path(), &q).unwrap()), ["e6", "e5", "e4", "e2", "e3"]);
        let q = LookupQuery { start_time: at("2026-12-06T11:30:00+00:00"), ..LookupQuery::default() };
        assert_eq!(ids(&lookup(t.path(), &q).unwrap()), ["e8", "e9", "e7"]);
        let q = LookupQuery { end_time: at("2026-12-06T10:00:00+01:00"), ..LookupQuery::default() };
        assert_eq!(ids(&lookup(t.path(), &q).unwrap()), ["e1"]);
        // Start equal to end is a one-second range.
        let q = LookupQuery { start_time: at("1796558400"), end_time: at("1796558400"), ..LookupQuery::default() };
        assert_eq!(ids(&lookup(t.path(), &q).unwrap()), ["e8", "e9"]);
    }

    fn all_pages(trail: &Path, base: &LookupQuery, size: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..100 {
            let q = LookupQuery { max_results: Some(size), next_token: token.take(), ..base.clone() };
            let r = lookup(trail, &q).unwrap();
            assert!(r.events.len() <= size);
            out.extend(r.events.iter().map(|e| e.event_id.clone()));
            match r.next_token {
                Some(t) => {
                    assert!(t.len() <= MAX_NEXT_TOKEN_CHARS);
                    assert!(!r.events.is_empty());
                    token = Some(t);
                }
                None => return out,
            }
        }
        panic!("paging did not end");
    }

    #[test]
    fn pages_cover_everything_once_across_files() {
        let t = sample();
        let full: Vec<String> =
            ids(&lookup(t.path(), &LookupQuery::default()).unwrap()).into_iter().map(str::to_owned).collect();
        for size in 1..=10 {
            assert_eq!(all_pages(t.path(), &LookupQuery::default(), size), full, "pages of {size}");
        }
        let q = with("EventName", "PutImage");
        assert_eq!(all_pages(t.path(), &q, 1), ["e7", "e4", "e2"]);
        let q = LookupQuery { start_time: at("2026-12-06T09:30:00Z"), ..with("ReadOnly", "true") };
        assert_eq!(all_pages(t.path(), &q, 2), ["e8", "e9", "e6", "e3"]);
    }

    #[test]
    fn a_page_ends_exactly_at_max_results_without_a_token_when_nothing_is_left() {
        let t = sample();
        let q = LookupQuery { max_results: Some(9), ..LookupQuery::default() };
        assert_eq!(lookup(t.path(), &q).unwrap().next_token, None);
        let q = LookupQuery { max_results: Some(8), ..LookupQuery::default() };
        assert!(lookup(t.path(), &q).unwrap().next_token.is_some());
    }

    #[test]
    fn newer_events_do_not_shift_later_pages() {
        let t = sample();
        let first = lookup(t.path(), &LookupQuery { max_results: Some(3), ..LookupQuery::default() }).unwrap();
        assert_eq!(ids(&first), ["e8", "e9", "e7"]);
        // Meanwhile: the torn line is completed and more events arrive.
        write_wal(
            t.path(),
            "0003.jsonl",
            &lines(&[
                event("n1", "2026-12-06T13:00:00Z", "PutImage", user("carol", "AKIACAROL"), false),
                event("n2", "2026-12-06T14:00:00Z", "PutImage", user("carol", "AKIACAROL"), false),
            ]),
        );
        let q = LookupQuery { max_results: Some(3), next_token: first.next_token, ..LookupQuery::default() };
        let second = lookup(t.path(), &q).unwrap();
        assert_eq!(ids(&second), ["e6", "e5", "e4"]);
    }

    #[test]
    fn an_event_in_both_a_wal_and_a_sealed_file_is_listed_once() {
        let t = sample();
        let dup = event("e7", "2026-12-06T11:30:00Z", "PutImage", user("bob", "AKIABOB"), false);
        write_sealed(t.path(), "us-east-1", "20261206T1130Z", "Dup0000000000000", &[dup]);
        let r = lookup(t.path(), &LookupQuery::default()).unwrap();
        assert_eq!(ids(&r), ["e8", "e9", "e7", "e6", "e5", "e4", "e2", "e3", "e1"]);
        for size in [1, 2, 4] {
            assert_eq!(all_pages(t.path(), &LookupQuery::default(), size), ids(&r));
        }
    }

    #[test]
    fn blank_lines_tmp_files_and_a_missing_wal_dir_are_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let e = event("a", "2026-12-06T09:00:00Z", "PutImage", user("alice", "AKIAALICE"), false);
        write_wal(t, "0001.jsonl", &format!("\n  \n{e}\n\r\n"));
        write_wal(t, "0002.jsonl.tmp", "garbage\n");
        let sealed = write_sealed(t, "us-east-1", "20261206T1000Z", "AbCdEfGh12345678", &[]);
        std::fs::write(sealed.with_extension("gz.tmp"), b"not gzip").unwrap();
        assert_eq!(ids(&lookup(t, &LookupQuery::default()).unwrap()), ["a"]);

        let only_sealed = tempfile::tempdir().unwrap();
        write_sealed(only_sealed.path(), "us-east-1", "20261206T1000Z", "AbCdEfGh12345678", &[e]);
        assert_eq!(ids(&lookup(only_sealed.path(), &LookupQuery::default()).unwrap()), ["a"]);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(lookup(empty.path(), &LookupQuery::default()).unwrap().events, []);
    }

    #[test]
    fn cloud_trail_event_is_the_record_text_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        let wal_text =
            r#"{"eventVersion": "1.08", "eventTime": "2026-12-06T10:00:00Z", "eventID": "w", "readOnly": true}"#;
        let sealed_text =
            r#"{"eventVersion":"1.08","eventTime":"2026-12-06T09:00:00Z","eventID":"s","readOnly":false}"#;
        write_wal(tmp.path(), "0001.jsonl", &format!("{wal_text}\n"));
        let sealed = write_sealed(tmp.path(), "us-east-1", "20261206T1000Z", "AbCdEfGh12345678", &[]);
        let mut gz = flate2::write::GzEncoder::new(File::create(&sealed).unwrap(), flate2::Compression::default());
        gz.write_all(format!("{{\"Records\": [{sealed_text}]}}").as_bytes()).unwrap();
        gz.finish().unwrap();
        let r = lookup(tmp.path(), &LookupQuery::default()).unwrap();
        let texts: Vec<&str> = r.events.iter().map(|e| e.cloud_trail_event.as_str()).collect();
        assert_eq!(texts, [wal_text, sealed_text]);
    }

    #[test]
    fn query_errors_are_the_cloudtrail_exceptions() {
        let t = sample();
        let two = LookupQuery {
            attributes: vec![
                LookupAttribute::new("EventName", "PutImage").unwrap(),
                LookupAttribute::new("Username", "bob").unwrap(),
            ],
            ..LookupQuery::default()
        };
        assert!(matches!(lookup(t.path(), &two), Err(LookupError::InvalidLookupAttributes(_))));
        for n in [0, 51, 1000] {
            let q = LookupQuery { max_results: Some(n), ..LookupQuery::default() };
            let err = lookup(t.path(), &q).unwrap_err();
            assert!(matches!(err, LookupError::InvalidMaxResults(m) if m == n));
            assert_eq!(err.aws_exception(), "InvalidMaxResultsException");
        }
        let q = LookupQuery {
            start_time: at("2026-12-06T10:00:01Z"),
            end_time: at("2026-12-06T10:00:00Z"),
            ..LookupQuery::default()
        };
        let err = lookup(t.path(), &q).unwrap_err();
        assert!(matches!(err, LookupError::InvalidTimeRange { .. }));
        assert!(err.to_string().starts_with("InvalidTimeRangeException: "), "{err}");

        for token in ["", "!!!", "bm90IGEgdG9rZW4", &"A".repeat(MAX_NEXT_TOKEN_CHARS + 1)] {
            let q = LookupQuery { next_token: Some(token.to_owned()), ..LookupQuery::default() };
            let err = lookup(t.path(), &q).unwrap_err();
            assert!(matches!(err, LookupError::InvalidNextToken(_)), "{token}: {err}");
            assert_eq!(err.aws_exception(), "InvalidNextTokenException");
        }
        // A token must come back with the parameters it was issued for (MaxResults may change).
        let first = lookup(t.path(), &LookupQuery { max_results: Some(2), ..with("ReadOnly", "true") }).unwrap();
        let token = first.next_token.unwrap();
        let other = LookupQuery { next_token: Some(token.clone()), ..with("ReadOnly", "false") };
        assert!(matches!(lookup(t.path(), &other), Err(LookupError::InvalidNextToken(_))));
        let later = LookupQuery {
            next_token: Some(token.clone()),
            start_time: at("2026-01-01T00:00:00Z"),
            ..with("ReadOnly", "true")
        };
        assert!(matches!(lookup(t.path(), &later), Err(LookupError::InvalidNextToken(_))));
        let same = LookupQuery { next_token: Some(token), max_results: Some(5), ..with("ReadOnly", "true") };
        assert_eq!(ids(&lookup(t.path(), &same).unwrap()), ["e6", "e3"]);

        let missing = t.path().join("nope");
        assert!(matches!(lookup(&missing, &LookupQuery::default()), Err(LookupError::TrailNotFound(_))));
    }

    #[test]
    fn attribute_parsing() {
        assert_eq!(
            LookupAttribute::parse_cli("AttributeKey=EventName,AttributeValue=PutImage").unwrap(),
            [LookupAttribute::EventName("PutImage".to_owned())]
        );
        assert_eq!(
            LookupAttribute::parse_cli("AttributeValue=a,b,AttributeKey=Username").unwrap(),
            [LookupAttribute::Username("a,b".to_owned())]
        );
        assert_eq!(
            LookupAttribute::parse_cli(r#"[{"AttributeKey":"ResourceName","AttributeValue":"team/app"}]"#).unwrap(),
            [LookupAttribute::ResourceName("team/app".to_owned())]
        );
        assert_eq!(
            LookupAttribute::parse_cli(r#"{"AttributeKey":"ReadOnly","AttributeValue":"true"}"#).unwrap(),
            [LookupAttribute::ReadOnly("true".to_owned())]
        );
        for bad in [
            "AttributeKey=EventName",
            "EventName=PutImage",
            "AttributeKey=Nope,AttributeValue=x",
            "AttributeKey=EventName,AttributeValue=",
            "AttributeKey=ReadOnly,AttributeValue=yes",
            r#"[{"AttributeKey":"EventName"}]"#,
            "[1",
        ] {
            assert!(matches!(LookupAttribute::parse_cli(bad), Err(LookupError::InvalidLookupAttributes(_))), "{bad}");
        }
        let long = "x".repeat(MAX_ATTRIBUTE_VALUE_CHARS + 1);
        assert!(LookupAttribute::new("EventName", &long).is_err());
    }

    #[test]
    fn times_parse_as_the_aws_cli_parses_them() {
        let want = DateTime::from_timestamp(1_796_558_400, 0);
        for s in [
            "2026-12-06T12:00:00Z",
            "2026-12-06T13:00:00+01:00",
            "2026-12-06T07:00:00-0500",
            "2026-12-06T12:00:00",
            "1796558400",
            "1796558400.0",
        ] {
            assert_eq!(parse_time(s), want, "{s}");
        }
        assert_eq!(parse_time("2026-12-06"), DateTime::from_timestamp(1_796_515_200, 0));
        assert_eq!(parse_time("1796558400.5").map(|t| t.timestamp_subsec_millis()), Some(500));
        for s in ["", "yesterday", "2026-13-01T00:00:00Z", "1.2.3", "-"] {
            assert_eq!(parse_time(s), None, "{s}");
        }
    }

    #[test]
    fn unreadable_trails_are_errors_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let e = event("a", "2026-12-06T09:00:00Z", "PutImage", user("alice", "AKIAALICE"), false);
        let wal = write_wal(tmp.path(), "0001.jsonl", &format!("{e}\nnot json\n{e}\n"));
        match lookup(tmp.path(), &LookupQuery::default()) {
            Err(LookupError::Corrupt { path, line: Some(2), .. }) => assert_eq!(path, wal),
            other => panic!("{other:?}"),
        }
        let err = lookup(tmp.path(), &LookupQuery::default()).unwrap_err();
        assert!(err.to_string().contains("0001.jsonl:2: "), "{err}");
        assert_eq!(err.aws_exception(), "TrailReadException");

        // A record without an eventID or with a bad eventTime.
        write_wal(tmp.path(), "0001.jsonl", "{\"eventTime\": \"2026-12-06T09:00:00Z\"}\n");
        assert!(matches!(lookup(tmp.path(), &LookupQuery::default()), Err(LookupError::Corrupt { line: Some(1), .. })));
        write_wal(tmp.path(), "0001.jsonl", "{\"eventID\": \"x\", \"eventTime\": \"yesterday\"}\n");
        assert!(matches!(lookup(tmp.path(), &LookupQuery::default()), Err(LookupError::Corrupt { .. })));

        // A line over the limit, complete or torn.
        let long = format!("{{\"eventID\": \"{}\"}}", "x".repeat(MAX_LINE_BYTES));
        write_wal(tmp.path(), "0001.jsonl", &format!("{long}\n"));
        assert!(matches!(lookup(tmp.path(), &LookupQuery::default()), Err(LookupError::Corrupt { line: Some(1), .. })));
        write_wal(tmp.path(), "0001.jsonl", &long);
        assert!(matches!(lookup(tmp.path(), &LookupQuery::default()), Err(LookupError::Corrupt { line: Some(1), .. })));
        std::fs::remove_file(&wal).unwrap();

        // A sealed file that is not gzip, or not a log file.
        let sealed = write_sealed(tmp.path(), "us-east-1", "20261206T1000Z", "AbCdEfGh12345678", &[]);
        std::fs::write(&sealed, b"plain text").unwrap();
        match lookup(tmp.path(), &LookupQuery::default()) {
            Err(LookupError::Corrupt { path, line: None, .. }) => assert_eq!(path, sealed),
            other => panic!("{other:?}"),
        }
        let mut gz = flate2::write::GzEncoder::new(File::create(&sealed).unwrap(), flate2::Compression::default());
        gz.write_all(b"[1, 2]").unwrap();
        gz.finish().unwrap();
        assert!(matches!(lookup(tmp.path(), &LookupQuery::default()), Err(LookupError::Corrupt { .. })));
    }

    #[test]
    fn a_sealed_file_over_the_size_limit_is_an_error_not_an_allocation() {
        let tmp = tempfile::tempdir().unwrap();
        let sealed = write_sealed(tmp.path(), "us-east-1", "20261206T1000Z", "AbCdEfGh12345678", &[]);
        // A gzip bomb: zeros compress about a thousandfold.
        let mut gz = flate2::write::GzEncoder::new(File::create(&sealed).unwrap(), flate2::Compression::fast());
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..=(MAX_DECOMPRESSED_BYTES / (1024 * 1024)) {
            gz.write_all(&chunk).unwrap();
        }
        gz.finish().unwrap();
        let err = lookup(tmp.path(), &LookupQuery::default()).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
