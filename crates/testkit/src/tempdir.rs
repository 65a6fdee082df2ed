//! Temporary directories for tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory of its own for one test (unique in this process: the process id and a
/// counter are in its name), removed when dropped — unless the test is failing, when it is
/// kept and named on stderr for inspection.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    keep_on_failure: bool,
}

impl TempDir {
    /// `kpledger-TAG-PID-N` under the system's temporary directory.
    pub fn new(tag: &str) -> TempDir {
        TempDir::under(&std::env::temp_dir(), tag, true)
    }

    /// The same, on `/dev/shm` when there is one, and always removed when dropped: for the
    /// hundreds of scratch ledgers of property tests, which would otherwise spend their time
    /// waiting for a disk (every append is synced) they do not need.
    pub fn in_memory(tag: &str) -> TempDir {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
        TempDir::under(&base, tag, false)
    }

    fn under(base: &Path, tag: &str, keep_on_failure: bool) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("kpledger-{tag}-{}-{n}", std::process::id()));
        // Left over from an earlier run that had the same process id.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path, keep_on_failure }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }

    /// `ledger.kpl` inside the directory (not created).
    pub fn ledger(&self) -> PathBuf {
        self.join("ledger.kpl")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep_on_failure && std::thread::panicking() {
            eprintln!("test files kept for inspection in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
