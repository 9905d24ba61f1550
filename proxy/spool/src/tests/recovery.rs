//! Recovery: a torn tail of the last segment is cut (at every byte offset of the last frame),
//! a flipped byte in the last frame is cut, a zero-filled tail is cut, and a bad frame anywhere
//! else refuses to open with `Corrupt`, leaving the files untouched.

use std::fs;
use std::path::{Path, PathBuf};

use super::{assert_same, opts, pending, segment_files, webhook};
use crate::{NewRecord, Spool, SpoolError, SpoolOptions};

/// Appends `recs` one batch each into a fresh spool; returns the spool's single segment file
/// and the offset where the last frame starts.
async fn log_of(dir: &Path, recs: &[NewRecord]) -> (PathBuf, u64) {
    let spool = Spool::open(opts(dir)).unwrap();
    let mut last = 0;
    for rec in recs {
        last = spool.append(rec.clone()).await.unwrap();
    }
    let start = spool.shared().index().loc(last).unwrap().off;
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    (dir.join(&files[0]), start)
}

fn three() -> Vec<NewRecord> {
    vec![webhook("dhl", 1), webhook("edi", 2), webhook("dhl", 3)]
}

/// Opens the spool and checks that exactly the first two of `three()` are there.
fn assert_first_two_intact(dir: &Path) -> Spool {
    let spool = Spool::open(opts(dir)).unwrap();
    let recs = three();
    let dhl = pending(&spool, "dhl");
    assert_eq!(
        dhl.len(),
        1,
        "the torn record is gone, the other dhl one stays"
    );
    assert_same(&dhl[0], &recs[0]);
    assert_same(&pending(&spool, "edi")[0], &recs[1]);
    spool
}

#[tokio::test]
async fn torn_tail_at_every_offset_loses_only_the_torn_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let (seg, start) = log_of(tmp.path(), &three()).await;
    let whole = fs::read(&seg).unwrap();
    for cut in start as usize..whole.len() {
        fs::write(&seg, &whole[..cut]).unwrap();
        let spool = assert_first_two_intact(tmp.path());
        let truncated = spool.recovery().truncated.clone();
        if cut == start as usize {
            assert_eq!(truncated, None, "a clean frame boundary is not a torn tail");
        } else {
            let t = truncated.unwrap_or_else(|| panic!("cut at {cut} not reported"));
            assert_eq!(
                (t.offset, t.bytes),
                (start, cut as u64 - start),
                "cut at {cut}"
            );
        }
        drop(spool);
        assert_eq!(
            fs::metadata(&seg).unwrap().len(),
            start,
            "cut at {cut}: file truncated"
        );
    }
}

#[tokio::test]
async fn flipped_byte_in_the_last_frame_is_cut_as_torn() {
    let tmp = tempfile::tempdir().unwrap();
    let (seg, start) = log_of(tmp.path(), &three()).await;
    let whole = fs::read(&seg).unwrap();
    // Every byte after the length field: the CRC and the whole payload.
    for at in start as usize + 4..whole.len() {
        let mut bad = whole.clone();
        bad[at] ^= 0x5a;
        fs::write(&seg, &bad).unwrap();
        let spool = assert_first_two_intact(tmp.path());
        let t = spool.recovery().truncated.clone().unwrap();
        assert_eq!(
            (t.offset, t.reason.as_str()),
            (start, "CRC mismatch in the last frame"),
            "flip at {at}"
        );
    }
}

#[tokio::test]
async fn zero_filled_tail_is_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let (seg, _) = log_of(tmp.path(), &three()).await;
    let mut bytes = fs::read(&seg).unwrap();
    let len = bytes.len() as u64;
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(&seg, &bytes).unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    let t = spool.recovery().truncated.clone().unwrap();
    assert_eq!(
        (t.offset, t.bytes, t.reason.as_str()),
        (len, 4096, "zero-filled tail")
    );
    assert_eq!(spool.recovery().pending, 3);
}

#[tokio::test]
async fn flipped_byte_in_an_earlier_frame_is_corrupt_not_silent_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let (seg, last) = log_of(tmp.path(), &three()).await;
    let whole = fs::read(&seg).unwrap();
    // The second frame's payload: after the first frame, before the last one.
    let first_len = u32::from_le_bytes(whole[0..4].try_into().unwrap()) as usize + 8;
    for at in [first_len + 8, first_len + 20, last as usize - 1] {
        let mut bad = whole.clone();
        bad[at] ^= 0x01;
        fs::write(&seg, &bad).unwrap();
        match Spool::open(opts(tmp.path())) {
            Err(SpoolError::Corrupt(msg)) => {
                assert!(msg.contains("seg-0000000000000001.log"), "{msg}");
                assert!(msg.contains(&format!("at byte {first_len}")), "{msg}");
            }
            Err(e) => panic!("flip at {at}: wrong error {e}"),
            Ok(_) => panic!("flip at {at}: opened a corrupt spool"),
        }
        assert_eq!(
            fs::read(&seg).unwrap(),
            bad,
            "a corrupt spool is left untouched"
        );
    }
}

#[tokio::test]
async fn bad_tail_of_an_earlier_segment_is_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let small = SpoolOptions {
        segment_bytes: 1,
        ..opts(tmp.path())
    };
    {
        let spool = Spool::open(small.clone()).unwrap();
        for rec in three() {
            spool.append(rec).await.unwrap();
        }
    }
    let first = tmp.path().join(&segment_files(tmp.path())[0]);
    let whole = fs::read(&first).unwrap();
    for bad in [whole[..whole.len() - 3].to_vec(), flip_last(&whole)] {
        fs::write(&first, &bad).unwrap();
        let err = Spool::open(small.clone()).err().unwrap();
        assert!(
            matches!(&err, SpoolError::Corrupt(m) if m.contains("not the last")),
            "{err}"
        );
    }
}

fn flip_last(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(b) = out.last_mut() {
        *b ^= 0xff;
    }
    out
}

#[tokio::test]
async fn torn_ack_only_brings_the_record_back_for_another_delivery() {
    let tmp = tempfile::tempdir().unwrap();
    let seg = {
        let spool = Spool::open(opts(tmp.path())).unwrap();
        spool.append(webhook("dhl", 1)).await.unwrap();
        spool.ack(1).unwrap();
        spool.sync().await.unwrap();
        tmp.path().join(&segment_files(tmp.path())[0])
    };
    let len = fs::metadata(&seg).unwrap().len();
    fs::File::options()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 2)
        .unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    assert_eq!(
        super::pending_seqs(&spool, "dhl"),
        [1],
        "at least once: delivered again"
    );
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_spool() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = Spool::open(opts(tmp.path())).unwrap();
    let err = Spool::open(opts(tmp.path())).err().unwrap();
    assert!(
        matches!(&err, SpoolError::Io(m) if m.contains("locked")),
        "{err}"
    );
}
