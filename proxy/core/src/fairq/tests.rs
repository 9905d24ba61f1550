use std::collections::{HashMap, HashSet};

use super::*;

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// Checks every structural invariant; `caps` gives each tenant's (max_in_flight, queue_cap).
fn check_invariants<W>(q: &FairQueue<W>, caps: &HashMap<usize, (usize, usize)>) {
    let sum: usize = q.tenants.values().map(|t| t.in_flight).sum();
    assert_eq!(q.total, sum, "total matches the tenants' slots");
    assert!(q.total <= q.global_limit, "global limit held");
    let mut in_ring = HashSet::new();
    for id in &q.ring {
        assert!(in_ring.insert(*id), "tenant {id} twice in the ring");
    }
    for (id, t) in &q.tenants {
        let (max, cap) = caps[id];
        assert!(t.in_flight <= max, "tenant {id} over its cap");
        assert!(t.queue.len() <= cap, "tenant {id} over its queue");
        assert!(
            t.in_flight > 0 || !t.queue.is_empty(),
            "idle tenant {id} kept"
        );
        assert_eq!(
            in_ring.contains(id),
            !t.queue.is_empty(),
            "ring membership of {id}"
        );
        if !t.queue.is_empty() {
            let blocked = t.in_flight >= t.max_in_flight || q.total >= q.global_limit;
            assert!(blocked, "tenant {id} waits although a slot is free for it");
        }
    }
    assert!(in_ring.iter().all(|id| q.tenants.contains_key(id)));
}

#[test]
fn per_tenant_cap_queues_then_hands_over() {
    let mut q = FairQueue::new(100);
    let got: Vec<Admit> = (0..5).map(|w| q.try_acquire(A, 2, 2, w)).collect();
    use Admit::*;
    assert_eq!(got, [Now, Now, Queued, Queued, Rejected]);
    assert_eq!((q.in_flight(A), q.queued(A)), (2, 2));
    assert_eq!(q.release(A), [(A, 2)]);
    assert_eq!(q.release(A), [(A, 3)]);
    assert_eq!(q.release(A), []);
    assert_eq!(q.release(A), []);
    assert_eq!((q.in_flight(A), q.queued(A)), (0, 0));
    assert!(q.tenants.is_empty(), "no state left behind");
    assert_eq!(q.release(A), [], "a release without a slot is ignored");
    assert_eq!(q.total_in_flight(), 0);
}

#[test]
fn global_cap_bounds_the_sum() {
    let mut q = FairQueue::new(5);
    let mut admitted = 0;
    for w in 0..30 {
        if q.try_acquire(w % 3, 10, 10, w) == Admit::Now {
            admitted += 1;
        }
    }
    assert_eq!((admitted, q.total_in_flight()), (5, 5));
    assert_eq!(q.queued(A) + q.queued(B) + q.queued(C), 25);
    assert_eq!(q.release(B).len(), 1);
    assert_eq!(q.total_in_flight(), 5);
}

#[test]
fn freed_slots_go_round_robin_in_order_of_arrival() {
    // Global 1: each release hands exactly one waiter. Tenants queue in the order C, A, B.
    let mut q = FairQueue::new(1);
    assert_eq!(q.try_acquire(9, 1, 0, 0), Admit::Now);
    for (tenant, w) in [
        (C, 1),
        (C, 2),
        (A, 3),
        (C, 4),
        (B, 5),
        (A, 6),
        (B, 7),
        (C, 8),
    ] {
        assert_eq!(q.try_acquire(tenant, 5, 5, w), Admit::Queued);
    }
    let mut order = Vec::new();
    let mut holder = 9;
    while let [(tenant, w)] = q.release(holder)[..] {
        order.push(w);
        holder = tenant;
    }
    assert_eq!(order, [1, 3, 5, 2, 6, 7, 4, 8]);
}

#[test]
fn flooding_tenant_cannot_starve_another() {
    let cases = [
        // (global, A's cap, B's cap, queue cap): B's requests arrive while A floods.
        (10, 8, 8, 100),
        (10, 10, 10, 300),
        (4, 100, 100, 1_000),
        (64, 64, 16, 128),
    ];
    for (global, cap_a, cap_b, queue) in cases {
        let mut q = FairQueue::new(global);
        let flood: Vec<Admit> = (0..2_000)
            .map(|w| q.try_acquire(A, cap_a, queue, w))
            .collect();
        let count = |a: Admit| flood.iter().filter(|&&x| x == a).count();
        assert_eq!(count(Admit::Queued), queue, "A fills only its own queue");
        assert_eq!(
            count(Admit::Now) + count(Admit::Queued) + count(Admit::Rejected),
            2_000
        );
        // B sends 3 requests: admitted now if a slot is free, else queued.
        let b: Vec<Admit> = (0..3)
            .map(|w| q.try_acquire(B, cap_b, queue, 10_000 + w))
            .collect();
        assert!(b.iter().all(|&x| x != Admit::Rejected), "{b:?}");
        // Every B waiter is served within two freed slots of the previous one.
        let mut freed = 0;
        while q.queued(B) > 0 {
            let before = q.queued(B);
            q.release(A);
            freed += 1;
            assert!(
                freed <= 2 * 3,
                "B still waits after {freed} releases ({global})"
            );
            if q.queued(B) == before {
                q.release(A);
                freed += 1;
                assert!(q.queued(B) < before, "B skipped twice in a row ({global})");
            }
        }
        assert_eq!(q.in_flight(B), 3);
        assert!(q.queued(A) > 0, "A's backlog is still waiting behind B");
    }
}

#[test]
fn cancel_removes_only_queued_waiters() {
    let mut q = FairQueue::new(1);
    assert_eq!(q.try_acquire(A, 1, 5, "a1"), Admit::Now);
    assert_eq!(q.try_acquire(A, 1, 5, "a2"), Admit::Queued);
    assert_eq!(q.try_acquire(B, 1, 5, "b1"), Admit::Queued);
    assert_eq!(q.try_acquire(B, 1, 5, "b2"), Admit::Queued);
    let cases = [
        (A, "a1", false), // holds a slot: cancel can't free it
        (B, "a2", false), // wrong tenant
        (C, "c1", false), // unknown tenant
        (A, "a2", true),
        (A, "a2", false), // already gone
        (B, "b2", true),
    ];
    for (tenant, w, want) in cases {
        assert_eq!(q.cancel(tenant, &w), want, "cancel {w} of {tenant}");
    }
    assert_eq!((q.queued(A), q.queued(B)), (0, 1));
    assert_eq!(q.ring, [B], "A left the ring with its last waiter");
    assert_eq!(q.release(A), [(B, "b1")]);
    assert!(
        !q.cancel(B, &"b1"),
        "handed over: the caller releases instead"
    );
    assert_eq!(q.release(B), []);
    assert!(q.tenants.is_empty());
}

#[test]
fn impossible_tenants_and_queue_limits() {
    let mut q = FairQueue::new(2);
    assert_eq!(
        q.try_acquire(A, 0, 10, 1),
        Admit::Rejected,
        "cap 0 never runs"
    );
    assert!(q.tenants.is_empty());
    assert_eq!(q.try_acquire(A, 2, 0, 2), Admit::Now);
    assert_eq!(q.try_acquire(A, 2, 0, 3), Admit::Now);
    assert_eq!(
        q.try_acquire(A, 2, 0, 4),
        Admit::Rejected,
        "queue cap 0: no queueing"
    );
    assert_eq!(
        q.try_acquire(B, 2, 0, 5),
        Admit::Rejected,
        "global full, no queue"
    );
    assert!(
        !q.tenants.contains_key(&B),
        "a rejected newcomer leaves no state"
    );
    let mut none: FairQueue<u32> = FairQueue::new(0);
    assert_eq!(none.try_acquire(A, 5, 5, 1), Admit::Rejected);
}

#[test]
fn raising_the_global_limit_hands_waiters_over() {
    let mut q = FairQueue::new(1);
    assert_eq!(q.try_acquire(A, 5, 5, 1), Admit::Now);
    for (tenant, w) in [(A, 2), (A, 3), (B, 4)] {
        assert_eq!(q.try_acquire(tenant, 5, 5, w), Admit::Queued);
    }
    assert_eq!(q.set_global_limit(3), [(A, 2), (B, 4)]);
    assert_eq!(q.set_global_limit(1), []);
    assert_eq!(q.release(A), [], "still above the lowered limit");
    assert_eq!(q.release(A), [], "still at the lowered limit");
    assert_eq!(q.release(B), [(A, 3)]);
}

mod random;
