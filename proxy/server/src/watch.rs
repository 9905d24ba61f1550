//! Config file watching: the *directory* holding the config is watched (not the file's inode),
//! so a Kubernetes ConfigMap symlink swap, an editor's write-to-temp-and-rename, or a plain
//! write are all seen — and so are the directories of the policy modules the config names at
//! start (a rebuilt `.wasm` reloads). Events are debounced; the reload itself skips when the
//! config and its modules hash the same.

use crate::live::{Shared, Trigger};
use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Debounce window.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches the config directory until the returned watcher is dropped; reloads on change.
pub fn spawn(shared: Arc<Shared>) -> Result<notify::RecommendedWatcher, String> {
    let path = shared.config_path.clone();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| std::path::PathBuf::from("."), |d| d.to_path_buf());
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if ev.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    let mut module_dirs: Vec<std::path::PathBuf> = shared
        .live
        .load()
        .config
        .policies
        .iter()
        .filter_map(|p| {
            p.module.parent().map(|d| {
                if d.as_os_str().is_empty() {
                    std::path::PathBuf::from(".")
                } else {
                    d.to_path_buf()
                }
            })
        })
        .filter(|d| *d != dir)
        .collect();
    module_dirs.sort();
    module_dirs.dedup();
    for d in module_dirs {
        // A module directory that cannot be watched still reloads on SIGHUP or the API.
        let _ = watcher.watch(&d, RecursiveMode::NonRecursive);
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Debounce: wait until events stop for a moment.
            loop {
                match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            let st = shared.reload(Trigger::FileWatch, "file-watch").await;
            if st.result != "unchanged" {
                eprintln!(
                    "{}",
                    serde_json::json!({"level": "info", "msg": "config reload", "status": st})
                );
            }
        }
    });
    Ok(watcher)
}
