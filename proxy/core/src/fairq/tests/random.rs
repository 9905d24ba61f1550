//! Long pseudo-random sequences against a model: every waiter is exactly one of holding,
//! queued, rejected or cancelled, and no slot leaks.

use super::*;

/// A tiny deterministic generator (Knuth's MMIX LCG); the high bits are the good ones.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).expect("fits") % n
    }
}

/// What the test knows about each waiter it created.
#[derive(Default)]
struct Model {
    holding: Vec<(usize, u64)>,
    queued: Vec<(usize, u64)>,
    handed: usize,
    rejected: usize,
}

impl Model {
    fn take_slots(&mut self, handed: Vec<(usize, u64)>) {
        for h in handed {
            let at = self
                .queued
                .iter()
                .position(|q| *q == h)
                .expect("handed a queued waiter");
            self.queued.remove(at);
            self.holding.push(h);
            self.handed += 1;
        }
    }

    fn agrees_with(&self, q: &FairQueue<u64>, tenants: usize) {
        for t in 0..tenants {
            let holding = self.holding.iter().filter(|h| h.0 == t).count();
            let queued = self.queued.iter().filter(|h| h.0 == t).count();
            assert_eq!(
                (q.in_flight(t), q.queued(t)),
                (holding, queued),
                "tenant {t}"
            );
        }
        assert_eq!(q.total_in_flight(), self.holding.len());
    }
}

fn run(seed: u64, global: usize, caps: &HashMap<usize, (usize, usize)>, steps: usize) {
    let mut rng = Lcg(seed);
    let mut q = FairQueue::new(global);
    let mut m = Model::default();
    let tenants = caps.len();
    for id in 0..steps as u64 {
        match rng.below(10) {
            // Tenant 0 floods: it asks as often as all others together.
            0..=4 => {
                let t = if rng.below(2) == 0 {
                    0
                } else {
                    rng.below(tenants)
                };
                let (max, cap) = caps[&t];
                match q.try_acquire(t, max, cap, id) {
                    Admit::Now => m.holding.push((t, id)),
                    Admit::Queued => m.queued.push((t, id)),
                    Admit::Rejected => m.rejected += 1,
                }
            }
            5..=8 if !m.holding.is_empty() => {
                let (t, _) = m.holding.swap_remove(rng.below(m.holding.len()));
                m.take_slots(q.release(t));
            }
            _ if !m.queued.is_empty() => {
                let (t, w) = m.queued.remove(rng.below(m.queued.len()));
                assert!(q.cancel(t, &w), "a queued waiter can cancel");
                assert!(!q.cancel(t, &w), "but only once");
            }
            _ => {}
        }
        check_invariants(&q, caps);
        m.agrees_with(&q, tenants);
    }
    assert!(
        m.handed > 0 && m.rejected > 0,
        "seed {seed}: the sequence exercises both"
    );
    // Drain: every slot comes back, nothing is left queued or remembered.
    while let Some((t, _)) = m.holding.pop() {
        m.take_slots(q.release(t));
        check_invariants(&q, caps);
    }
    assert!(m.queued.is_empty(), "draining serves every waiter");
    assert!(q.tenants.is_empty() && q.ring.is_empty() && q.total == 0);
}

#[test]
fn no_slot_leaks_over_long_random_sequences() {
    let configs: [(usize, &[(usize, usize)]); 4] = [
        (8, &[(4, 20), (4, 20), (2, 5)]),
        (3, &[(10, 50), (1, 1), (2, 0), (3, 3)]),
        (100, &[(5, 10), (5, 10)]),
        (6, &[(6, 200), (2, 2), (2, 2), (2, 2), (1, 4)]),
    ];
    for (i, (global, caps)) in configs.into_iter().enumerate() {
        let caps: HashMap<usize, (usize, usize)> = caps.iter().copied().enumerate().collect();
        for seed in 0..8 {
            run(seed * 31 + i as u64, global, &caps, 3_000);
        }
    }
}
