//! Segment rolling, reclamation (including the markers carried out of a deleted segment), and
//! `max_bytes`.

use std::sync::Arc;

use super::{
    append_together, opts, pending, pending_seqs, segment_bytes_on_disk, segment_files, webhook,
    webhook_sized,
};
use crate::{Spool, SpoolError, SpoolOptions};

#[tokio::test]
async fn segments_roll_and_fully_acked_ones_are_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let small = SpoolOptions {
        segment_bytes: 4096,
        ..opts(tmp.path())
    };
    let spool = Spool::open(small.clone()).unwrap();
    let mut seqs = Vec::new();
    for n in 0..30 {
        seqs.push(spool.append(webhook_sized("dhl", n, 1000)).await.unwrap());
    }
    let rolled = segment_files(tmp.path()).len();
    assert!(rolled >= 6, "30 KiB in 4 KiB segments gave {rolled} files");
    let before = spool.used_bytes();
    assert_eq!(before, segment_bytes_on_disk(tmp.path()));
    for &seq in &seqs[..28] {
        spool.ack(seq).unwrap();
    }
    spool.sync().await.unwrap();
    let left = segment_files(tmp.path());
    assert!(left.len() <= 2, "acked segments deleted, left {left:?}");
    assert!(
        spool.used_bytes() < before / 4,
        "{} of {before}",
        spool.used_bytes()
    );
    assert_eq!(spool.used_bytes(), segment_bytes_on_disk(tmp.path()));
    drop(spool);
    let spool = Spool::open(small).unwrap();
    let recs = pending(&spool, "dhl");
    assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), seqs[28..]);
    super::assert_same(&recs[1], &webhook_sized("dhl", 29, 1000));
}

/// With one segment per batch: a Dead marker and an Ack marker each end up in a segment that
/// is deleted while the Put they are about lives on in an older one. Both must be carried.
#[tokio::test]
async fn reclaim_carries_markers_about_records_in_surviving_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let tiny = SpoolOptions {
        segment_bytes: 1,
        ..opts(tmp.path())
    };
    let (c, d) = {
        let spool = Arc::new(Spool::open(tiny.clone()).unwrap());
        // One batch: both Puts share the first segment.
        let seqs = append_together(&spool, vec![webhook("dhl", 1), webhook("dhl", 2)]).await;
        let (a, x) = (seqs[0], seqs[1]);
        assert_eq!(segment_files(tmp.path()).len(), 1, "one batch, one segment");
        spool.ack(x).unwrap(); // a marker-only segment: Ack x
        spool.sync().await.unwrap();
        // Next segment: Dead a; the Ack x segment is deleted and Ack x carried along.
        spool.dead_letter(a, "gone").unwrap();
        spool.sync().await.unwrap();
        // Next segment: Put c; the Dead a segment is deleted, Dead a and Ack x carried again.
        let c = spool.append(webhook("dhl", 3)).await.unwrap();
        let d = spool.append(webhook("dhl", 4)).await.unwrap();
        let files = segment_files(tmp.path());
        assert_eq!(
            files.first().map(String::as_str),
            Some("seg-0000000000000001.log")
        );
        assert_eq!(files.len(), 3, "marker-only segments deleted: {files:?}");
        (c, d)
    };
    let spool = Spool::open(tiny).unwrap();
    assert_eq!(
        pending_seqs(&spool, "dhl"),
        [c, d],
        "the acked record did not come back"
    );
    let dead = spool.dead("dhl", 10);
    assert_eq!(
        (dead.len(), dead[0].0.seq, dead[0].1.as_str()),
        (1, 1, "gone")
    );
}

#[tokio::test]
async fn max_bytes_refuses_with_full_and_acks_free_the_space() {
    let tmp = tempfile::tempdir().unwrap();
    let limited = SpoolOptions {
        max_bytes: 8192,
        segment_bytes: 2048,
        ..opts(tmp.path())
    };
    let spool = Spool::open(limited).unwrap();
    let mut stored = Vec::new();
    let full = loop {
        assert!(stored.len() < 20, "8 KiB must fill within 20 × 1 KiB");
        match spool
            .append(webhook_sized("dhl", stored.len() as u64, 1000))
            .await
        {
            Ok(seq) => stored.push(seq),
            Err(e) => break e,
        }
    };
    assert_eq!(full, SpoolError::Full { max_bytes: 8192 });
    assert!(stored.len() >= 6, "{} stored", stored.len());
    assert!(spool.used_bytes() <= 8192);
    assert_eq!(
        spool.stats("dhl", 0).depth,
        stored.len(),
        "the refused one is not queued"
    );
    for &seq in &stored {
        spool.ack(seq).unwrap();
    }
    spool.sync().await.unwrap();
    assert!(
        spool.used_bytes() < 4096,
        "{} bytes still used",
        spool.used_bytes()
    );
    spool.append(webhook_sized("dhl", 99, 1000)).await.unwrap();
}

#[tokio::test]
async fn a_record_larger_than_a_frame_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    // Zeroed pages are not touched: the size check comes before the CRC.
    let body = bytes::Bytes::from(vec![0u8; crate::frame::MAX_PAYLOAD]);
    let huge = crate::NewRecord {
        body,
        ..webhook("dhl", 1)
    };
    let err = spool.append(huge).await.unwrap_err();
    assert!(matches!(err, SpoolError::TooLarge { .. }), "{err}");
    assert_eq!(spool.append(webhook("dhl", 2)).await.unwrap(), 1);
}
