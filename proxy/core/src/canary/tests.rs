use super::*;

fn tenants(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("tenant-{i:05}")).collect()
}

fn ask(weight: Weight, bucket: u16) -> Ask {
    Ask {
        weight,
        bucket,
        pilot: false,
        excluded: false,
        forced: None,
    }
}

#[test]
fn distribution_within_two_points_over_ten_thousand_tenants() {
    let ts = tenants(10_000);
    for pct in [0.0, 1.0, 5.0, 12.5, 25.0, 50.0, 75.0, 99.99, 100.0] {
        let w = Weight::from_percent(pct).expect("valid");
        let on = ts
            .iter()
            .filter(|t| decide(&ask(w, bucket("odoo", t.as_bytes()))).0 == Variant::Canary)
            .count();
        let share = on as f64 / ts.len() as f64 * 100.0;
        assert!((share - pct).abs() <= 2.0, "weight {pct}: {share:.2} %");
    }
}

#[test]
fn monotone_in_the_weight() {
    let ts = tenants(10_000);
    let weights: Vec<Weight> = [0.5, 1.0, 5.0, 10.0, 33.33, 50.0, 90.0, 100.0]
        .iter()
        .map(|p| Weight::from_percent(*p).expect("valid"))
        .collect();
    for t in &ts {
        let b = bucket("odoo", t.as_bytes());
        let mut was_canary = false;
        for w in &weights {
            let canary = decide(&ask(*w, b)).0 == Variant::Canary;
            assert!(
                canary || !was_canary,
                "{t} left canary when the weight rose to {w}"
            );
            was_canary = canary;
        }
    }
}

#[test]
fn buckets_depend_on_the_route_and_are_stable() {
    assert_eq!(bucket("odoo", b"acme"), bucket("odoo", b"acme"));
    let differ = tenants(100)
        .iter()
        .filter(|t| bucket("a", t.as_bytes()) != bucket("b", t.as_bytes()))
        .count();
    assert!(differ > 90, "route names must salt the hash ({differ})");
}

#[test]
fn weights_take_at_most_two_decimals() {
    assert_eq!(Weight::from_percent(5.0).map(Weight::basis_points), Ok(500));
    assert_eq!(
        Weight::from_percent(12.34).map(Weight::basis_points),
        Ok(1234)
    );
    assert_eq!(Weight::from_percent(100.0), Ok(Weight::FULL));
    for bad in [-0.01, 100.01, 1.234, f64::NAN, f64::INFINITY] {
        assert!(Weight::from_percent(bad).is_err(), "{bad}");
    }
}

#[test]
fn cookie_buckets_parse_strictly() {
    assert_eq!(parse_bucket("0"), Some(0));
    assert_eq!(parse_bucket("9999"), Some(9999));
    for bad in ["", "10000", "-1", "12a", "+12", " 1", "00001"] {
        assert_eq!(parse_bucket(bad), None, "{bad:?}");
    }
}

#[test]
fn precedence_excluded_override_pilot_weight() {
    let w5 = Weight::from_percent(5.0).expect("valid");
    let high = 9_000; // a bucket far above 5 %
    let cases = [
        // (excluded, pilot, forced, weight, bucket) → (variant, reason)
        (
            true,
            true,
            Some(Forced::Always),
            w5,
            0,
            Variant::Stable,
            Reason::Excluded,
        ),
        (
            false,
            false,
            Some(Forced::Always),
            Weight::ZERO,
            high,
            Variant::Canary,
            Reason::Override,
        ),
        (
            false,
            true,
            Some(Forced::Never),
            w5,
            0,
            Variant::Stable,
            Reason::Override,
        ),
        (false, true, None, w5, high, Variant::Canary, Reason::Pilot),
        (
            false,
            true,
            None,
            Weight::ZERO,
            0,
            Variant::Stable,
            Reason::Weight,
        ),
        (false, false, None, w5, 499, Variant::Canary, Reason::Weight),
        (false, false, None, w5, 500, Variant::Stable, Reason::Weight),
    ];
    for (excluded, pilot, forced, weight, bucket, variant, reason) in cases {
        let a = Ask {
            weight,
            bucket,
            pilot,
            excluded,
            forced,
        };
        assert_eq!(decide(&a), (variant, reason), "{a:?}");
    }
}

#[test]
fn override_values() {
    assert_eq!(Forced::parse(b"Always"), Some(Forced::Always));
    assert_eq!(Forced::parse(b"never"), Some(Forced::Never));
    assert_eq!(Forced::parse(b"yes"), None);
}
