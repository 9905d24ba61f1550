//! Round trips across reopen and the delivery queue: ack, dead letters, replay, purge, FIFO per
//! partner, pause, retry pacing with an injected clock and rng, stats.

use std::time::Duration;

use super::{assert_same, opts, pending, pending_seqs, webhook, webhook_sized};
use crate::{RetryOutcome, RetryPolicy, Spool};

#[tokio::test]
async fn appended_records_read_back_identical_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let recs = [
        webhook("dhl", 1),
        webhook("edi", 2),
        // Larger than the writer's staging buffer: written straight from the caller's Bytes.
        webhook_sized("dhl", 3, 3 << 20),
        webhook_sized("dhl", 4, 0),
    ];
    {
        let spool = Spool::open(opts(tmp.path())).unwrap();
        let mut seqs = Vec::new();
        for rec in &recs {
            seqs.push(spool.append(rec.clone()).await.unwrap());
        }
        assert_eq!(seqs, [1, 2, 3, 4]);
        let dhl = pending(&spool, "dhl");
        for (got, want) in dhl.iter().zip([&recs[0], &recs[2], &recs[3]]) {
            assert_same(got, want);
        }
    }
    let spool = Spool::open(opts(tmp.path())).unwrap();
    let report = spool.recovery();
    assert_eq!((report.pending, report.dead, report.frames), (4, 0, 4));
    assert_eq!(report.truncated, None);
    let dhl = pending(&spool, "dhl");
    assert_eq!(dhl.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 3, 4]);
    for (got, want) in dhl.iter().zip([&recs[0], &recs[2], &recs[3]]) {
        assert_same(got, want);
    }
    assert_same(&pending(&spool, "edi")[0], &recs[1]);
    assert_eq!(
        spool.append(webhook("edi", 5)).await.unwrap(),
        5,
        "seqs continue"
    );
}

#[tokio::test]
async fn ack_dead_replay_purge_survive_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let open = || Spool::open(opts(tmp.path())).unwrap();
    {
        let spool = open();
        for n in 1..=4 {
            spool.append(webhook("dhl", n)).await.unwrap();
        }
        spool.ack(1).unwrap();
        spool.dead_letter(2, "upstream answered 400").unwrap();
        spool.dead_letter(3, "upstream answered 410").unwrap();
        spool.ack(99).unwrap(); // unknown: ignored
    }
    {
        let spool = open();
        assert_eq!(pending_seqs(&spool, "dhl"), [4]);
        let dead = spool.dead("dhl", 10);
        let reasons: Vec<(u64, &str)> = dead.iter().map(|(r, why)| (r.seq, why.as_str())).collect();
        assert_eq!(
            reasons,
            [(2, "upstream answered 400"), (3, "upstream answered 410")]
        );
        assert_same(&dead[0].0, &webhook("dhl", 2));
        assert_eq!(spool.dead("dhl", 1).len(), 1, "limit");
        assert_eq!(spool.stats("dhl", 0).dead, 2);
        assert_eq!(spool.replay_dead("dhl").unwrap(), 2);
        assert_eq!(
            pending_seqs(&spool, "dhl"),
            [2, 3, 4],
            "replayed in seq order"
        );
    }
    {
        let spool = open();
        assert_eq!(pending_seqs(&spool, "dhl"), [2, 3, 4]);
        assert!(spool.dead("dhl", 10).is_empty());
        spool.dead_letter(4, "bad payload").unwrap();
        assert_eq!(spool.purge_dead("dhl").unwrap(), 1);
        assert_eq!(spool.purge_dead("dhl").unwrap(), 0);
        spool.sync().await.unwrap();
    }
    let spool = open();
    assert_eq!(pending_seqs(&spool, "dhl"), [2, 3]);
    assert_eq!(spool.stats("dhl", 0).dead, 0);
    assert_eq!(spool.recovery().pending, 2);
}

const POLICY: RetryPolicy = RetryPolicy {
    initial: Duration::from_secs(1),
    max: Duration::from_secs(4),
    max_age: Duration::from_secs(60),
};

#[tokio::test]
async fn fifo_per_partner_and_partners_are_independent() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    let a1 = spool.append(webhook("dhl", 1)).await.unwrap();
    let a2 = spool.append(webhook("dhl", 2)).await.unwrap();
    let b1 = spool.append(webhook("edi", 3)).await.unwrap();
    let now = 1_700_000_010_000;
    assert_eq!(spool.next_due("dhl", now).unwrap().seq, a1);
    let retry = spool.retry_later(a1, now, &POLICY, &mut || 0.0);
    assert_eq!(
        retry,
        RetryOutcome::Scheduled(now + 500),
        "equal jitter: at least half of 1 s"
    );
    assert!(
        spool.next_due("dhl", now).is_none(),
        "a later record never overtakes"
    );
    assert_eq!(
        spool.next_due("edi", now).unwrap().seq,
        b1,
        "other partners go on"
    );
    assert!(spool.next_due("dhl", now + 499).is_none());
    let again = spool.next_due("dhl", now + 500).unwrap();
    assert_eq!((again.seq, again.attempts), (a1, 1));
    spool.ack(a1).unwrap();
    assert_eq!(spool.next_due("dhl", now + 500).unwrap().seq, a2);
    assert!(spool.next_due("nobody", now).is_none());
    assert_eq!(spool.partners(), ["dhl", "edi"]);
}

#[tokio::test]
async fn pause_hides_due_records_until_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    spool.append(webhook("dhl", 1)).await.unwrap();
    spool.pause("dhl", true);
    assert!(spool.next_due("dhl", u64::MAX).is_none());
    assert!(spool.stats("dhl", 0).paused);
    spool.pause("dhl", false);
    assert_eq!(spool.next_due("dhl", 0).unwrap().seq, 1);
}

#[tokio::test]
async fn retry_later_doubles_to_max_then_dead_letters_after_max_age() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    let rec = webhook("dhl", 1);
    let received = rec.received_at_ms;
    let seq = spool.append(rec).await.unwrap();
    let mut rolls = [0.0, 1.0].into_iter().cycle();
    let mut rng = || rolls.next().unwrap_or(0.0);
    let mut now = received;
    for (failure, ceiling) in [(1, 1_000), (2, 2_000), (3, 4_000), (4, 4_000), (5, 4_000)] {
        let RetryOutcome::Scheduled(at) = spool.retry_later(seq, now, &POLICY, &mut rng) else {
            panic!("failure {failure} must be scheduled");
        };
        let want = if failure % 2 == 1 {
            ceiling / 2
        } else {
            ceiling
        };
        assert_eq!(at - now, want, "failure {failure}");
        now = at;
    }
    assert_eq!(spool.stats("dhl", now).attempts_total, 5);
    let expired = received + 60_000;
    assert_eq!(
        spool.retry_later(seq, expired, &POLICY, &mut rng),
        RetryOutcome::Dead
    );
    assert!(spool.next_due("dhl", u64::MAX).is_none());
    let dead = spool.dead("dhl", 10);
    assert_eq!((dead[0].0.seq, dead[0].1.as_str()), (seq, "max_age"));
    assert_eq!(
        spool.retry_later(seq, expired, &POLICY, &mut rng),
        RetryOutcome::Dead,
        "not pending"
    );
    assert_eq!(spool.replay_dead("dhl").unwrap(), 1);
    assert_eq!(
        spool.next_due("dhl", 0).unwrap().attempts,
        0,
        "replay starts a new attempt count"
    );
}

#[tokio::test]
async fn stats_report_depth_age_bytes_and_dead() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = Spool::open(opts(tmp.path())).unwrap();
    assert_eq!(spool.stats("dhl", 5), Default::default());
    for n in 1..=3 {
        spool.append(webhook("dhl", n)).await.unwrap();
    }
    spool.dead_letter(3, "400").unwrap();
    let now = webhook("dhl", 1).received_at_ms + 2_500;
    let stats = spool.stats("dhl", now);
    assert_eq!(
        (stats.depth, stats.dead, stats.oldest_age_ms, stats.paused),
        (2, 1, 2_500, false)
    );
    spool.sync().await.unwrap();
    let put_bytes = super::segment_bytes_on_disk(tmp.path()) - marker_bytes(&spool);
    assert_eq!(stats.bytes, put_bytes, "pending + dead frames");
    assert_eq!(spool.used_bytes(), super::segment_bytes_on_disk(tmp.path()));
}

/// Bytes of the marker frames written so far (the one Dead marker of the stats test).
fn marker_bytes(_spool: &Spool) -> u64 {
    crate::frame::marker_frame(crate::frame::Kind::Dead, 3, "400").len() as u64
}
