//! Tests of the local backend through the public `Store`, on a fresh temp `data_dir` each.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::{BackendConfig, StateError, Store};

async fn open(dir: &Path) -> Store {
    let cfg = BackendConfig::Local {
        data_dir: dir.to_owned(),
    };
    Store::open(&cfg).await.unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn set_get_get_all_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    assert_eq!(store.backend_name(), "local");
    assert_eq!(store.get("overrides", "odoo").await.unwrap(), None);
    assert!(store.get_all("overrides").await.unwrap().is_empty());

    store
        .set("overrides", "odoo", Some(r#"{"weight":10}"#))
        .await
        .unwrap();
    store.set("overrides", "hooks", Some("{}")).await.unwrap();
    store.set("ramp", "odoo", Some("[5,10]")).await.unwrap();
    assert_eq!(
        store.get("overrides", "odoo").await.unwrap().as_deref(),
        Some(r#"{"weight":10}"#)
    );
    let all = store.get_all("overrides").await.unwrap();
    let expected: BTreeMap<String, String> = [("hooks", "{}"), ("odoo", r#"{"weight":10}"#)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(all, expected);

    store.set("overrides", "odoo", None).await.unwrap();
    store.set("overrides", "never-there", None).await.unwrap();
    assert_eq!(store.get("overrides", "odoo").await.unwrap(), None);
    assert_eq!(store.get_all("overrides").await.unwrap().len(), 1);
    assert_eq!(store.get_all("ramp").await.unwrap().len(), 1);
}

#[tokio::test]
async fn compare_and_set_success_and_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    // Create only if absent.
    assert!(store
        .compare_and_set("ns", "k", None, Some("1"))
        .await
        .unwrap());
    assert!(!store
        .compare_and_set("ns", "k", None, Some("2"))
        .await
        .unwrap());
    // Replace only from the expected value.
    assert!(!store
        .compare_and_set("ns", "k", Some("0"), Some("2"))
        .await
        .unwrap());
    assert!(store
        .compare_and_set("ns", "k", Some("1"), Some("2"))
        .await
        .unwrap());
    assert_eq!(store.get("ns", "k").await.unwrap().as_deref(), Some("2"));
    // Conditional delete.
    assert!(!store
        .compare_and_set("ns", "k", Some("1"), None)
        .await
        .unwrap());
    assert!(store
        .compare_and_set("ns", "k", Some("2"), None)
        .await
        .unwrap());
    assert_eq!(store.get("ns", "k").await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_compare_and_set_has_one_winner() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let value = i.to_string();
                store.compare_and_set("ns", "k", None, Some(&value)).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn survives_reopen_and_leaves_no_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path()).await;
        for i in 0..5 {
            store
                .set("overrides", &format!("k{i}"), Some("v"))
                .await
                .unwrap();
        }
        store.set("overrides", "k0", None).await.unwrap();
        store.set("ramp", "odoo", Some("7")).await.unwrap();
    }
    let state_dir = tmp.path().join("state");
    assert_eq!(files_in(&state_dir), ["overrides.json", "ramp.json"]);

    // A crash between write and rename leaves a temp file; reopening sweeps it.
    std::fs::write(state_dir.join(".ramp.json.tmp"), "half").unwrap();
    let store = open(tmp.path()).await;
    assert_eq!(files_in(&state_dir), ["overrides.json", "ramp.json"]);
    assert_eq!(store.get_all("overrides").await.unwrap().len(), 4);
    assert_eq!(
        store.get("ramp", "odoo").await.unwrap().as_deref(),
        Some("7")
    );
}

#[tokio::test]
async fn corrupt_file_is_an_error_naming_it_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let path = tmp.path().join("state").join("overrides.json");
    for garbage in ["{\"k\": ", "[1,2]", "{\"k\": 5}"] {
        std::fs::write(&path, garbage).unwrap();
        for err in [
            store.get_all("overrides").await.unwrap_err(),
            store.set("overrides", "k", Some("v")).await.unwrap_err(),
        ] {
            let StateError::Corrupt { what, .. } = &err else {
                panic!("want Corrupt, got {err:?}");
            };
            assert!(what.ends_with("overrides.json"), "{what}");
            assert!(err.to_string().contains("overrides.json"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), garbage);
    }
    // Other namespaces are unaffected.
    store.set("ramp", "k", Some("v")).await.unwrap();
}

#[tokio::test]
async fn writes_are_announced_on_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let mut changes = store.changes();
    store.set("overrides", "k", Some("v")).await.unwrap();
    assert!(!store
        .compare_and_set("ramp", "k", Some("x"), None)
        .await
        .unwrap());
    assert!(store
        .compare_and_set("ramp", "k", None, Some("1"))
        .await
        .unwrap());
    for want in ["overrides", "ramp"] {
        let got = tokio::time::timeout(Duration::from_secs(1), changes.recv()).await;
        assert_eq!(got.unwrap().unwrap(), want);
    }
    // The failed CAS announced nothing.
    assert!(changes.try_recv().is_err());
}

#[tokio::test]
async fn rejects_namespaces_outside_the_alphabet() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let err = store.set("../escape", "k", Some("v")).await.unwrap_err();
    assert!(matches!(err, StateError::InvalidNamespace(_)), "{err:?}");
    assert!(!tmp.path().join("escape.json").exists());
}

#[tokio::test]
async fn dedupe_claims_and_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::Store::open(&crate::BackendConfig::Local {
        data_dir: dir.path().to_owned(),
    })
    .await
    .unwrap();
    let ttl = std::time::Duration::from_secs(60);
    assert_eq!(s.dedupe_claim("k", ttl).await.unwrap(), crate::Claim::New);
    assert_eq!(
        s.dedupe_claim("k", ttl).await.unwrap(),
        crate::Claim::Seen(None)
    );
    s.dedupe_record("k", "200", ttl).await.unwrap();
    assert_eq!(
        s.dedupe_claim("k", ttl).await.unwrap(),
        crate::Claim::Seen(Some("200".into()))
    );
    s.dedupe_release("k").await.unwrap();
    assert_eq!(s.dedupe_claim("k", ttl).await.unwrap(), crate::Claim::New);
}
