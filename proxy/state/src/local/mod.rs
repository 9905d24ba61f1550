//! The local backend: state of one process, kept under `data_dir/state/`, one JSON object file
//! per namespace (`<ns>.json`, keys to opaque string values). It owns the file format, the
//! serialisation of writers, and the atomic-and-durable replace of a file; change
//! notifications stay inside the process.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{broadcast, Mutex};

use crate::StateError;

/// Temp files are `.<ns>.json.tmp` next to their target, so a rename never crosses a filesystem.
const TMP_SUFFIX: &str = ".tmp";

/// State files of one process under `data_dir/state/`.
pub(crate) struct LocalBackend {
    /// Dedupe keys (in memory).
    pub(crate) dedupe: crate::dedupe::LocalDedupe,
    dir: PathBuf,
    // Owned guards travel into the blocking write, so a caller that gives up waiting cannot
    // let a second write start on the same temp file while the first is still running.
    write_lock: Arc<Mutex<()>>,
    changes: broadcast::Sender<String>,
}

impl LocalBackend {
    /// Creates `data_dir/state/` if needed and removes temp files left by a crash.
    pub(crate) async fn open(
        data_dir: &Path,
        changes: broadcast::Sender<String>,
    ) -> Result<Self, StateError> {
        let dir = data_dir.join("state");
        let prepare = dir.clone();
        blocking(&dir, move || prepare_dir(&prepare)).await?;
        Ok(LocalBackend {
            dedupe: Default::default(),
            dir,
            write_lock: Arc::new(Mutex::new(())),
            changes,
        })
    }

    pub(crate) fn changes(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    pub(crate) async fn get_all(&self, ns: &str) -> Result<BTreeMap<String, String>, StateError> {
        let path = self.file(ns);
        blocking(&path.clone(), move || read_namespace(&path)).await
    }

    pub(crate) async fn get(&self, ns: &str, key: &str) -> Result<Option<String>, StateError> {
        Ok(self.get_all(ns).await?.remove(key))
    }

    /// Read-modify-write of one key under the writer lock; `expected == None` writes always.
    /// The change is announced from the blocking task, so it is sent even if the caller
    /// stopped waiting.
    pub(crate) async fn compare_and_set(
        &self,
        ns: &str,
        key: &str,
        expected: Option<Option<&str>>,
        new: Option<&str>,
    ) -> Result<bool, StateError> {
        let guard = self.write_lock.clone().lock_owned().await;
        let path = self.file(ns);
        let (ns, key) = (ns.to_owned(), key.to_owned());
        let expected = expected.map(|e| e.map(str::to_owned));
        let new = new.map(str::to_owned);
        let changes = self.changes.clone();
        blocking(&path.clone(), move || {
            let _guard = guard;
            let mut map = read_namespace(&path)?;
            if let Some(expected) = expected {
                if map.get(&key) != expected.as_ref() {
                    return Ok(false);
                }
            }
            match new {
                Some(value) => map.insert(key, value),
                None => map.remove(&key),
            };
            write_namespace(&path, &map)?;
            // No receiver is not an error: nobody is watching yet.
            let _ = changes.send(ns);
            Ok(true)
        })
        .await
    }

    fn file(&self, ns: &str) -> PathBuf {
        self.dir.join(format!("{ns}.json"))
    }
}

/// Runs blocking file I/O off the async workers; a panicked task becomes an I/O error on `path`.
async fn blocking<T, F>(path: &Path, f: F) -> Result<T, StateError>
where
    F: FnOnce() -> Result<T, StateError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) => Err(StateError::Io {
            path: path.to_owned(),
            source: io::Error::other(join.to_string()),
        }),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

fn prepare_dir(dir: &Path) -> Result<(), StateError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Only our own leftovers: a crash between writing and renaming a temp file.
        if name.starts_with('.') && name.ends_with(TMP_SUFFIX) {
            let path = entry.path();
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

/// A missing file is an empty namespace; an unreadable one is `Corrupt`, never emptied.
fn read_namespace(path: &Path) -> Result<BTreeMap<String, String>, StateError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_err(path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
        what: path.display().to_string(),
        reason: format!("expected a JSON object of string values: {e}"),
    })
}

fn write_namespace(path: &Path, map: &BTreeMap<String, String>) -> Result<(), StateError> {
    let mut bytes = serde_json::to_vec_pretty(map).map_err(|e| StateError::Io {
        path: path.to_owned(),
        source: io::Error::other(e),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Replaces `path` with `bytes` so that a crash at any point leaves either the old or the new
/// content, and the new content is on disk when this returns: temp file, fdatasync, rename,
/// fsync of the directory (which makes the rename itself durable).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{}{TMP_SUFFIX}", name.unwrap_or_default()));
    let written = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        // Best effort: the write already failed, and `open` sweeps leftovers anyway.
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path)(e));
    }
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)?;
    file.write_all(bytes)?;
    file.sync_data()
}

#[cfg(test)]
mod tests;
