//! Segment files and the spool directory: names (`seg-<16 hex digits of the first seq>.log`, so
//! lexical order is log order), listing, creating (then fsyncing the directory so the new name
//! survives a crash), and the directory lock that keeps a second process off the same spool.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::io_err;
use crate::SpoolError;

/// Name of the lock file held (flock) while a spool is open.
const LOCK_FILE: &str = "LOCK";

/// Path of the segment whose first seq is `base`.
pub(crate) fn path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("seg-{base:016x}.log"))
}

/// The first seq encoded in a segment file name, or None for any other file.
fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// First seqs of every segment in `dir`, in log order. Other files are ignored.
pub(crate) fn list(dir: &Path) -> Result<Vec<u64>, SpoolError> {
    let entries = fs::read_dir(dir).map_err(|e| io_err("list", dir, &e))?;
    let mut bases = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", dir, &e))?;
        if let Some(base) = entry.file_name().to_str().and_then(parse_name) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Opens an existing segment for reading and writing.
pub(crate) fn open(dir: &Path, base: u64) -> Result<File, SpoolError> {
    let p = path(dir, base);
    let file = OpenOptions::new().read(true).write(true).open(&p);
    file.map_err(|e| io_err("open", &p, &e))
}

/// Creates a new, empty segment and makes its name durable.
pub(crate) fn create(dir: &Path, base: u64) -> Result<File, SpoolError> {
    let p = path(dir, base);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&p)
        .map_err(|e| io_err("create", &p, &e))?;
    sync_dir(dir)?;
    Ok(file)
}

/// fsync of the directory, so created and deleted names are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    let sync = File::open(dir).and_then(|d| d.sync_all());
    sync.map_err(|e| io_err("fsync directory", dir, &e))
}

/// Deletes a segment; a name already gone counts as deleted.
pub(crate) fn remove(dir: &Path, base: u64) -> bool {
    match fs::remove_file(path(dir, base)) {
        Ok(()) => true,
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// Takes the exclusive lock of `dir`; held until the returned file is dropped.
pub(crate) fn lock(dir: &Path) -> Result<File, SpoolError> {
    let p = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| io_err("open", &p, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(SpoolError::Io(format!(
            "{} is locked: another process has this spool open",
            p.display()
        ))),
        Err(TryLockError::Error(e)) => Err(io_err("lock", &p, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        let name = super::path(std::path::Path::new(""), 0x1f);
        assert_eq!(name.to_str(), Some("seg-000000000000001f.log"));
        assert_eq!(parse_name("seg-000000000000001f.log"), Some(0x1f));
        for other in [
            "seg-1f.log",
            "seg-000000000000001f.log.tmp",
            "LOCK",
            "seg-00000000000000zz.log",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }
}
