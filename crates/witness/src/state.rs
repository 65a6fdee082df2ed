//! The witness's durable state: per log, the last checkpoint it cosigned. One JSON file,
//! replaced whole (written to a temporary file beside it, flushed to disk, renamed over it,
//! and the directory flushed), so that after a crash the file holds either the old state or
//! the new one, never half of each. A lock on `<state>.lock` keeps a second witness process
//! off the same file (the lock dies with the process). Refused forks are kept as files in
//! `<state>.evidence/`, written the same way, before the refusal is answered.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decide::{Evidence, LogRecord};

/// The format name in the state file.
pub(crate) const STATE_FORMAT: &str = "kpledger-witness-state/1";

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// An I/O error, with the path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory it failed on: the state file, its lock, a temporary file or the evidence directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a witness state file.
    #[error(
        "{path} is not a kpledger witness state file ({reason}); give another --state, or restore it from a backup"
    )]
    Malformed {
        /// The state file given as `--state`.
        path: PathBuf,
        /// What is wrong with its contents.
        reason: String,
    },
    /// Another process holds the state.
    #[error("{0} is in use by another witness process: one state file serves one witness at a time")]
    Locked(PathBuf),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    format: String,
    logs: BTreeMap<String, LogRecord>,
}

/// The open state file (holding its lock) and its contents.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    logs: BTreeMap<String, LogRecord>,
    _lock: File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_owned(), source }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl StateFile {
    /// Opens (or, when it does not exist, starts) the state at `path`, taking its lock.
    pub fn open(path: &Path) -> Result<StateFile, StateError> {
        let lock_path = with_suffix(path, ".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StateError::Locked(path.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let logs = match fs::read(path) {
            Ok(bytes) => {
                let malformed = |reason: String| StateError::Malformed { path: path.to_owned(), reason };
                let value =
                    kpledger_model::canonical::parse_bounded(&bytes).map_err(|e| malformed(e.to_string()))?;
                let disk: OnDisk = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
                if disk.format != STATE_FORMAT {
                    return Err(malformed(format!("format {:?}, expected {STATE_FORMAT:?}", disk.format)));
                }
                disk.logs
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io(path)(e)),
        };
        Ok(StateFile { path: path.to_owned(), logs, _lock: lock })
    }

    /// The last checkpoint cosigned, per origin.
    pub fn logs(&self) -> &BTreeMap<String, LogRecord> {
        &self.logs
    }

    /// Records `record` for `origin`, durably: when this returns `Ok`, the new state survives
    /// a crash or a power loss; when it returns an error, the state (in memory and on disk) is
    /// the old one.
    pub fn commit(&mut self, origin: &str, record: LogRecord) -> Result<(), StateError> {
        let mut logs = self.logs.clone();
        logs.insert(origin.to_owned(), record);
        let disk = OnDisk { format: STATE_FORMAT.to_owned(), logs };
        let mut text = serde_json::to_string_pretty(&disk)
            .map_err(|e| StateError::Malformed { path: self.path.clone(), reason: e.to_string() })?;
        text.push('\n');
        replace_durably(&self.path, text.as_bytes())?;
        self.logs = disk.logs;
        Ok(())
    }

    /// Keeps `evidence` as a new file in `<state>.evidence/`, durably; returns its path.
    pub fn keep_evidence(&self, evidence: &Evidence, now: u64) -> Result<PathBuf, StateError> {
        let dir = with_suffix(&self.path, ".evidence");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let tag: String = evidence
            .origin
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
            .take(60)
            .collect();
        let mut text = serde_json::to_string_pretty(evidence)
            .map_err(|e| StateError::Malformed { path: dir.clone(), reason: e.to_string() })?;
        text.push('\n');
        for n in 0..10_000u32 {
            let path = dir.join(format!("{tag}-{now}-{n}.json"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(text.as_bytes()).map_err(io(&path))?;
                    f.sync_all().map_err(io(&path))?;
                    sync_dir(&dir)?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Err(io(&dir)(std::io::Error::other("10,000 evidence files for one second: clear the directory")))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `bytes` to a temporary file beside `path`, flushes it, renames it over `path` and
/// flushes the directory.
fn replace_durably(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}
