//! Real faults: a spool on a 1 MiB tmpfs that fills up (ENOSPC), and fdatasync failing with
//! EIO from the third call on (strace's fault injection on the `append` example). Each skips
//! with a message where the machine cannot mount or trace.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Arc;

use super::{
    append_together_results, assert_same, opts, pending, pending_seqs, segment_bytes_on_disk,
    webhook_sized,
};
use crate::{NewRecord, Spool, SpoolError, SpoolOptions};

/// A tmpfs mounted for one test; unmounted on drop (after the spool on it was dropped).
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &Path, size: &str) -> Option<Tmpfs> {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output();
    match out {
        Ok(out) if out.status.success() => Some(Tmpfs(dir.to_owned())),
        Ok(out) => {
            println!(
                "skipped: cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        Err(e) => {
            println!("skipped: cannot run mount: {e}");
            None
        }
    }
}

#[tokio::test]
async fn disk_full_refuses_with_io_and_keeps_every_stored_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("spool");
    let Some(_mount) = mount_tmpfs(&dir, "1m") else {
        return;
    };
    let on_tmpfs = SpoolOptions {
        max_bytes: 64 << 20,
        ..opts(&dir)
    };
    let mut stored = Vec::new();
    {
        let spool = Arc::new(Spool::open(on_tmpfs.clone()).unwrap());
        let refused = fill_until_refused(&spool, &mut stored).await;
        assert_eq!(
            refused.len(),
            4,
            "every waiter of the failed batch is refused"
        );
        for err in &refused {
            let SpoolError::Io(msg) = err else {
                panic!("want Io, got {err}")
            };
            assert!(msg.contains("os error 28"), "ENOSPC: {msg}");
        }
        assert!(stored.len() >= 8, "only {} stored", stored.len());
        let on_disk = segment_bytes_on_disk(&dir);
        assert_eq!(spool.used_bytes(), on_disk, "refused bytes are gone");
        // The refused bytes were truncated away, so a smaller webhook fits again.
        let small = webhook_sized("dhl", 1_000, 16 << 10);
        stored.push((spool.append(small.clone()).await.unwrap(), small));
    }
    let spool = Spool::open(on_tmpfs).unwrap();
    assert_eq!(
        spool.recovery().truncated,
        None,
        "nothing refused was left on disk"
    );
    let got = pending(&spool, "dhl");
    let seqs: Vec<u64> = got.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, stored.iter().map(|s| s.0).collect::<Vec<_>>());
    for (rec, (_, want)) in got.iter().zip(&stored) {
        assert_same(rec, want);
    }
}

/// Appends batches of four 64 KiB webhooks until one is refused; returns its errors. The
/// refused batch has already written some of its frames, which must be truncated away.
async fn fill_until_refused(
    spool: &Arc<Spool>,
    stored: &mut Vec<(u64, NewRecord)>,
) -> Vec<SpoolError> {
    for _ in 0..10 {
        let n = stored.len() as u64;
        let recs: Vec<_> = (n..n + 4)
            .map(|i| webhook_sized("dhl", i, 64 << 10))
            .collect();
        match try_append_together(spool, recs.clone()).await {
            Ok(seqs) => stored.extend(seqs.into_iter().zip(recs)),
            Err(errs) => return errs,
        }
    }
    panic!("a 1 MiB tmpfs must fill within 40 × 64 KiB");
}

/// The `append` example, built by `cargo test` next to this test binary.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().and_then(Path::parent).unwrap();
    target.join("examples").join("append")
}

/// Runs the example appending `n` records to `dir`, with fdatasync failing with EIO from the
/// third call on.
fn append_under_strace(bin: &Path, dir: &Path, n: u32) -> std::process::Output {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync"])
        .args(["-e", "inject=fdatasync:error=EIO:when=3+"])
        .arg(bin)
        .arg(dir)
        .arg(n.to_string())
        .output()
        .unwrap()
}

fn strace_works() -> bool {
    let probe = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            println!(
                "skipped: strace cannot trace here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            println!("skipped: strace is not installed ({e})");
            false
        }
    }
}

#[tokio::test]
async fn fdatasync_eio_refuses_every_later_append_and_keeps_the_earlier_ones() {
    if !strace_works() {
        return;
    }
    let bin = example_binary();
    assert!(
        bin.exists(),
        "{} missing: `cargo test` builds the examples",
        bin.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = append_under_strace(&bin, tmp.path(), 6);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    let ok: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("ok ")?.parse().ok())
        .collect();
    assert_eq!(
        ok,
        [1, 2],
        "one fdatasync per append until the injection: {stdout}"
    );
    for line in &lines[2..] {
        assert!(
            line.starts_with("err ") && line.contains("fdatasync"),
            "{line}"
        );
        assert!(line.contains("os error 5"), "EIO: {line}");
    }
    let spool = Spool::open(opts(tmp.path())).unwrap();
    assert_eq!(
        pending_seqs(&spool, "dhl"),
        ok,
        "exactly the records that printed ok"
    );
}

/// Appends `recs` as one batch: their seqs if all were stored, else every error.
async fn try_append_together(
    spool: &Arc<Spool>,
    recs: Vec<crate::NewRecord>,
) -> Result<Vec<u64>, Vec<SpoolError>> {
    let results = append_together_results(spool, recs).await;
    if results.iter().all(Result::is_ok) {
        return Ok(results.into_iter().filter_map(Result::ok).collect());
    }
    Err(results.into_iter().filter_map(Result::err).collect())
}
