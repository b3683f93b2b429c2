//! IP reputation: blocklist files loaded into an [`IpSet`] that is swapped atomically
//! on reload. Readers never lock: [`ReputationList::contains`] loads the current
//! snapshot through `arc-swap`.
//!
//! A reload reads every file first and swaps only when all of them could be read, so a
//! missing or oversized file keeps the previous list (a bad update never replaces a
//! good one). Unreadable *lines* do not stop a load: they are counted and reported with
//! `file:line` (the first [`MAX_REPORTED_LINES`] of them).

mod parse;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::config::ReputationConfig;
use crate::ipset::{EntryError, IpRange, IpSet};
use parse::{Line, parse_line};

/// Invalid lines listed in a [`ReloadReport`]; further ones are only counted.
pub const MAX_REPORTED_LINES: usize = 100;

/// A reputation file that could not be read; the previous list stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReputationError {
    /// Opening or reading the file failed.
    #[error("reputation file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than `max_file_bytes`.
    #[error("reputation file {}: larger than {max} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The configured limit.
        max: u64,
    },
}

/// A line that held no usable entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why it was rejected.
    pub reason: LineError,
}

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The entry could not be read, or is broader than allowed.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The line is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
}

impl fmt::Display for InvalidLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

/// What one file contributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Lines that held an address, block or range.
    pub entries: usize,
    /// Lines rejected as invalid.
    pub invalid: usize,
    /// Hosts-style lines naming a host instead of an address.
    pub skipped: usize,
}

/// The outcome of a (re)load that swapped the list in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// One report per file, in configuration order.
    pub files: Vec<FileReport>,
    /// Disjoint intervals in the new list after merging.
    pub intervals: usize,
    /// The first [`MAX_REPORTED_LINES`] invalid lines.
    pub invalid_lines: Vec<InvalidLine>,
}

impl ReloadReport {
    /// Invalid lines over all files (also those not listed).
    pub fn invalid_total(&self) -> usize {
        self.files.iter().map(|f| f.invalid).sum()
    }

    /// Entries over all files.
    pub fn entries_total(&self) -> usize {
        self.files.iter().map(|f| f.entries).sum()
    }
}

/// Modification time and length of a file when last read, to skip unchanged reloads.
type Stamp = Option<(SystemTime, u64)>;

/// Blocklist addresses loaded from files; see the module docs.
#[derive(Debug)]
pub struct ReputationList {
    config: ReputationConfig,
    current: ArcSwap<IpSet>,
    stamps: Mutex<Vec<Stamp>>,
}

impl ReputationList {
    /// Loads the configured files.
    pub fn load(config: ReputationConfig) -> Result<(Self, ReloadReport), ReputationError> {
        let list = Self {
            current: ArcSwap::from_pointee(IpSet::default()),
            stamps: Mutex::new(vec![None; config.files.len()]),
            config,
        };
        let report = list.reload()?;
        Ok((list, report))
    }

    /// Whether `ip` is listed.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.current.load().contains(ip)
    }

    /// The list in force now.
    pub fn snapshot(&self) -> Arc<IpSet> {
        self.current.load_full()
    }

    /// How often the caller should call [`Self::reload_if_changed`] (`refresh_secs`).
    pub fn refresh_interval(&self) -> Option<Duration> {
        self.config.refresh_secs.map(Duration::from_secs)
    }

    /// Re-reads every file and swaps the new list in atomically. On error the previous
    /// list stays in force.
    pub fn reload(&self) -> Result<ReloadReport, ReputationError> {
        let mut stamps = Vec::with_capacity(self.config.files.len());
        let mut ranges = Vec::new();
        let mut report = ReloadReport::default();
        for path in &self.config.files {
            let (stamp, bytes) = read_bounded(path, self.config.max_file_bytes)?;
            stamps.push(stamp);
            let file = self.parse_file(path, &bytes, &mut ranges, &mut report.invalid_lines);
            report.files.push(file);
        }
        let set = IpSet::from_ranges(ranges);
        report.intervals = set.intervals();
        self.current.store(Arc::new(set));
        if let Ok(mut held) = self.stamps.lock() {
            *held = stamps;
        }
        Ok(report)
    }

    /// Reloads when a file's modification time or length changed since the last load;
    /// `Ok(None)` when nothing changed.
    pub fn reload_if_changed(&self) -> Result<Option<ReloadReport>, ReputationError> {
        let now: Vec<Stamp> = self.config.files.iter().map(|p| stamp(p)).collect();
        let changed = match self.stamps.lock() {
            Ok(held) => *held != now || now.iter().any(Option::is_none),
            Err(_) => true,
        };
        if changed {
            self.reload().map(Some)
        } else {
            Ok(None)
        }
    }

    fn parse_file(
        &self,
        path: &Path,
        bytes: &[u8],
        ranges: &mut Vec<IpRange>,
        invalid_lines: &mut Vec<InvalidLine>,
    ) -> FileReport {
        let mut report = FileReport {
            path: path.to_path_buf(),
            entries: 0,
            invalid: 0,
            skipped: 0,
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            match self.parse_raw(raw) {
                Ok(Line::Entry(range)) => {
                    report.entries += 1;
                    ranges.push(range);
                }
                Ok(Line::Empty) => {}
                Ok(Line::Skipped) => report.skipped += 1,
                Err(reason) => {
                    report.invalid += 1;
                    if invalid_lines.len() < MAX_REPORTED_LINES {
                        let path = path.to_path_buf();
                        invalid_lines.push(InvalidLine {
                            path,
                            line: index + 1,
                            reason,
                        });
                    }
                }
            }
        }
        report
    }

    fn parse_raw(&self, raw: &[u8]) -> Result<Line, LineError> {
        let text = std::str::from_utf8(raw).map_err(|_| LineError::NotUtf8)?;
        let line = parse_line(text)?;
        let (min_v4, min_v6) = (self.config.min_prefix_v4, self.config.min_prefix_v6);
        match line {
            Line::Entry(range) if range.is_broader_than(min_v4, min_v6) => {
                let min = if matches!(range, IpRange::V4(..)) {
                    min_v4
                } else {
                    min_v6
                };
                Err(EntryError::TooBroad(min).into())
            }
            other => Ok(other),
        }
    }
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reads at most `max` bytes; a longer file is an error, not a truncated list.
fn read_bounded(path: &Path, max: u64) -> Result<(Stamp, Vec<u8>), ReputationError> {
    let read_error = |source| ReputationError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let stamp = file
        .metadata()
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())));
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > max {
        return Err(ReputationError::TooLarge {
            path: path.to_path_buf(),
            max,
        });
    }
    Ok((stamp, bytes))
}
