//! Tests of the spool on real files in a temp dir, with real fdatasync: round trips across
//! reopen, per-partner FIFO, group commit, torn-tail recovery, segment reclamation, limits, and
//! faults (a full tmpfs, fdatasync EIO injected with strace).
#![allow(clippy::unwrap_used)]

mod commit;
mod faults;
mod queue;
mod recovery;
mod segments;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::spool::read;
use crate::{NewRecord, Record, Spool, SpoolError, SpoolOptions, DEFAULT_SEGMENT_BYTES};

fn opts(dir: &Path) -> SpoolOptions {
    SpoolOptions {
        dir: dir.to_owned(),
        max_bytes: 1 << 30,
        segment_bytes: DEFAULT_SEGMENT_BYTES,
    }
}

/// A webhook whose fields all depend on `n`, with binary header values.
fn webhook(partner: &str, n: u64) -> NewRecord {
    NewRecord {
        partner: partner.to_owned(),
        id: format!("msg_{partner}_{n}"),
        received_at_ms: 1_700_000_000_000 + n,
        method: "POST".to_owned(),
        path_and_query: format!("/hooks/{partner}/events?n={n}"),
        headers: vec![
            ("content-type".to_owned(), b"application/json".to_vec()),
            ("webhook-id".to_owned(), format!("msg_{n}").into_bytes()),
            ("x-raw".to_owned(), vec![0, 0xff, b'\r', n as u8]),
        ],
        body: Bytes::from(format!("{{\"shipment\":{n},\"status\":\"delivered\"}}")),
    }
}

/// A webhook with a body of `size` bytes covering every byte value.
fn webhook_sized(partner: &str, n: u64, size: usize) -> NewRecord {
    let body: Vec<u8> = (0..size).map(|i| (i as u64 * 31 + n) as u8).collect();
    NewRecord {
        body: Bytes::from(body),
        ..webhook(partner, n)
    }
}

/// Asserts that a record read back is the webhook appended.
fn assert_same(got: &Record, want: &NewRecord) {
    assert_eq!(got.partner, want.partner);
    assert_eq!(got.id, want.id);
    assert_eq!(got.received_at_ms, want.received_at_ms);
    assert_eq!(got.method, want.method);
    assert_eq!(got.path_and_query, want.path_and_query);
    assert_eq!(got.headers, want.headers);
    assert_eq!(got.body, want.body, "body of {}", want.id);
}

/// Pending seqs of `partner`, in queue order.
fn pending_seqs(spool: &Spool, partner: &str) -> Vec<u64> {
    let ix = spool.shared().index();
    ix.queues
        .get(partner)
        .map(|q| q.pending.iter().copied().collect())
        .unwrap_or_default()
}

/// Pending records of `partner`, in queue order, read back from disk.
fn pending(spool: &Spool, partner: &str) -> Vec<Record> {
    let seqs = pending_seqs(spool, partner);
    seqs.iter()
        .map(|s| read(&spool.shared().index().loc(*s).unwrap()).unwrap())
        .collect()
}

/// Segment file names in `dir`, sorted.
fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seg-"))
        .collect();
    names.sort();
    names
}

/// Sum of the segment file sizes in `dir`.
fn segment_bytes_on_disk(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|n| std::fs::metadata(dir.join(n)).unwrap().len())
        .sum()
}

/// Appends `recs` so that they are all queued before the writer takes any of them: the
/// writer's gate is held until every append was handed over, so they form one batch.
async fn append_together(spool: &Arc<Spool>, recs: Vec<NewRecord>) -> Vec<u64> {
    let results = append_together_results(spool, recs).await;
    results.into_iter().map(Result::unwrap).collect()
}

/// [`append_together`] returning each append's result.
// Holding the gate across awaits is the point: only the writer thread (never a task) waits on
// it, so the appending tasks keep running and cannot deadlock.
#[allow(clippy::await_holding_lock)]
async fn append_together_results(
    spool: &Arc<Spool>,
    recs: Vec<NewRecord>,
) -> Vec<Result<u64, SpoolError>> {
    let n = recs.len() as u64;
    let before = spool.shared().queued.load(Ordering::Relaxed);
    let gate = spool.shared().gate.lock().unwrap();
    let tasks: Vec<_> = recs
        .into_iter()
        .map(|rec| {
            let spool = Arc::clone(spool);
            tokio::spawn(async move { spool.append(rec).await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while spool.shared().queued.load(Ordering::Relaxed) < before + n {
        assert!(
            Instant::now() < deadline,
            "appends were not queued within 10 s"
        );
        tokio::task::yield_now().await;
    }
    drop(gate);
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// The server shares one spool between tasks and threads.
#[test]
fn spool_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Spool>();
    shareable::<Arc<Spool>>();
}
