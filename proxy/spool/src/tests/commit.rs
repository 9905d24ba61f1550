//! Group commit: appends queued together share one fdatasync, and many concurrent appends are
//! all durable with distinct seqs.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{append_together, assert_same, opts, pending, webhook};
use crate::Spool;

#[tokio::test]
async fn queued_appends_share_one_fdatasync() {
    let tmp = tempfile::tempdir().unwrap();
    let recs: Vec<_> = (0..64)
        .map(|n| webhook(if n % 2 == 0 { "dhl" } else { "edi" }, n))
        .collect();
    {
        let spool = Arc::new(Spool::open(opts(tmp.path())).unwrap());
        let before = spool.fdatasyncs();
        let seqs = append_together(&spool, recs.clone()).await;
        assert_eq!(
            spool.fdatasyncs() - before,
            1,
            "64 appends, one batch, one fdatasync"
        );
        assert_eq!(
            seqs.iter().collect::<BTreeSet<_>>().len(),
            64,
            "distinct seqs"
        );
    }
    let spool = Spool::open(opts(tmp.path())).unwrap();
    assert_eq!(spool.recovery().pending, 64);
    for partner in ["dhl", "edi"] {
        for got in pending(&spool, partner) {
            let n: u64 = got.id.rsplit('_').next().unwrap().parse().unwrap();
            assert_same(&got, &recs[n as usize]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_many_tasks_are_all_durable() {
    let tmp = tempfile::tempdir().unwrap();
    const N: u64 = 200;
    let spool = Arc::new(Spool::open(opts(tmp.path())).unwrap());
    let tasks: Vec<_> = (0..N)
        .map(|n| {
            let spool = Arc::clone(&spool);
            tokio::spawn(async move { (n, spool.append(webhook("dhl", n)).await.unwrap()) })
        })
        .collect();
    let mut by_seq = Vec::new();
    for task in tasks {
        by_seq.push(task.await.unwrap());
    }
    let syncs = spool.fdatasyncs();
    assert!(syncs <= N, "{syncs} fdatasyncs for {N} appends");
    println!("{N} concurrent appends took {syncs} fdatasyncs");
    drop(spool);
    let spool = Spool::open(opts(tmp.path())).unwrap();
    let stored = pending(&spool, "dhl");
    assert_eq!(stored.len() as u64, N);
    for rec in &stored {
        let (n, _) = by_seq.iter().find(|(_, seq)| *seq == rec.seq).unwrap();
        assert_same(rec, &webhook("dhl", *n));
    }
}
