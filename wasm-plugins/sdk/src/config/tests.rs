use super::*;

fn parse(s: &str) -> Value {
    Value::parse(s.as_bytes()).expect("valid JSON")
}

#[test]
fn parses_json() {
    let v = parse(r#" {"a": [1, -2.5e3, "x\u00e9\n", true, false, null], "b": {}} "#);
    let Value::Map(m) = &v else {
        panic!("map expected")
    };
    assert_eq!(m.len(), 2);
    assert_eq!(
        v.get("A"),
        Some(&Value::List(vec![
            Value::Number("1".into()),
            Value::Number("-2.5e3".into()),
            Value::String("xé\n".into()),
            Value::Bool(true),
            Value::Bool(false),
            Value::Null
        ]))
    );
    assert_eq!(parse("  "), Value::Null);
    assert_eq!(parse(r#""\ud83d\ude00""#), Value::String("😀".into()));
}

#[test]
fn refuses_bad_json() {
    for bad in [
        "{",
        "[1,]",
        "{\"a\" 1}",
        "tru",
        "\"x",
        "1 2",
        "{1: 2}",
        "--1",
        "\"\\q\"",
    ] {
        assert!(Value::parse(bad.as_bytes()).is_err(), "{bad}");
    }
    let deep = "[".repeat(100) + &"]".repeat(100);
    assert!(Value::parse(deep.as_bytes()).is_err());
}

#[test]
fn lenient_scalars() {
    // switchyard (typed) and Traefik (strings) spellings read alike.
    for text in [
        r#"{"n": 856, "b": true}"#,
        r#"{"n": "856", "b": "true"}"#,
        r#"{"N": " 856 ", "B": "Yes"}"#,
    ] {
        let v = parse(text);
        let c = Config::new(&v).expect("map");
        assert_eq!(c.field("n").u64(0), Ok(856), "{text}");
        assert_eq!(c.field("b").bool(false), Ok(true), "{text}");
        assert_eq!(c.field("n").str(), Ok(Some("856")), "{text}");
    }
    let v = parse(r#"{"n": "", "m": null, "x": "ten", "y": [1]}"#);
    let c = Config::new(&v).expect("map");
    assert_eq!(c.field("n").u64(7), Ok(7));
    assert_eq!(c.field("m").bool(true), Ok(true));
    assert_eq!(c.field("absent").str(), Ok(None));
    assert_eq!(
        c.field("x").u64(0).map_err(|e| e.to_string()),
        Err("config.x: must be a non-negative integer, got \"ten\"".to_owned())
    );
    assert!(c.field("y").str().is_err());
    assert!(c.field("x").bool(false).is_err());
}

#[test]
fn lenient_lists() {
    let want = vec!["a".to_owned(), "b c".to_owned()];
    for text in [
        r#"{"l": ["a", " b c "]}"#,
        r#"{"l": "a, b c"}"#,
        r#"{"l": {"1": "b c", "0": "a"}}"#,
        r#"{"l": ["a", null, "b c", ""]}"#,
    ] {
        let v = parse(text);
        let c = Config::new(&v).expect("map");
        assert_eq!(c.field("l").strings(), Ok(want.clone()), "{text}");
    }
    let v = parse(r#"{"l": {"a": "b"}, "m": [[1]], "e": ""}"#);
    let c = Config::new(&v).expect("map");
    assert!(c.field("l").strings().is_err());
    assert_eq!(
        c.field("m").strings().map_err(|e| e.path),
        Err("m[0]".to_owned())
    );
    assert_eq!(c.field("e").strings(), Ok(vec![]));
    assert_eq!(c.field("none").strings(), Ok(vec![]));
}

#[test]
fn maps_and_unknown_keys() {
    let v = parse(r#"{"routes": {"856": "workers", "810": 7, "x": null}, "typo": 1}"#);
    let c = Config::new(&v).expect("map");
    assert_eq!(
        c.field("routes").string_map(),
        Ok(vec![
            ("856".into(), "workers".into()),
            ("810".into(), "7".into())
        ])
    );
    let e = c.deny_unknown(&["routes"]).expect_err("typo refused");
    assert_eq!(e.path, "typo");
    assert!(c.deny_unknown(&["routes", "typo"]).is_ok());
    assert!(Config::new(&Value::List(vec![])).is_err());
    assert!(Config::new(&Value::Null).is_ok());
}
