use super::*;

#[test]
fn db_manager_paths() {
    let manager = [
        "/web/database",
        "/web/database/",
        "/web/database/manager",
        "/web/database/list",
        "/web/database/backup",
        "/WEB/Database/Manager",
        "/web/DATABASE/drop/",
        "/web/database;jsessionid=x/manager",
        "/web;v=1/database/selector",
        "/web/database;/create",
        "/web/%64atabase/manager",
        "/web/data%62ase/manager",
        "/web/%44%41%54%41%42%41%53%45",
        "/web/%2564atabase/manager",
        "/web%2Fdatabase/manager",
        "//web///database//manager",
        "/web/./database",
        "/web/login/../database/drop",
        "/web\\database\\manager",
        "/xmlrpc/db",
        "/xmlrpc/db/",
        "/xmlrpc/2/db",
        "/XMLRPC/2/DB/",
        "/xmlrpc/2;x=y/db",
        "/xmlrpc/%32/%64b",
        "/xmlrpc/2/db;p",
        "/xmlrpc/2/db/extra",
    ];
    for p in manager {
        assert!(is_db_manager_path(p), "{p}");
    }
    let not_manager = [
        "/",
        "/web",
        "/web/",
        "/web/login",
        "/web/databases",
        "/web/databases-info",
        "/web/database-manager",
        "/web/dataset/call_kw",
        "/web/dataset/call_kw/res.partner/read",
        "/web/database/../login",
        "/web/database%00",
        "/database/manager",
        "/api/web/database",
        "/xmlrpc/2/object",
        "/xmlrpc/2/common",
        "/xmlrpc/object",
        "/xmlrpc/2",
        "/xmlrpc/3/db",
        "/xmlrpc/2/dbx",
        "/xmlrpc/dbs",
        "/jsonrpc",
        "/web/%zzatabase",
    ];
    for p in not_manager {
        assert!(!is_db_manager_path(p), "{p}");
    }
}

#[test]
fn jsonrpc_services() {
    use JsonRpcError::*;
    let some = |s: &str| Ok(Some(s.to_owned()));
    let cases: Vec<(&str, Result<Option<String>, JsonRpcError>)> = vec![
        (
            r#"{"jsonrpc":"2.0","method":"call","params":{"service":"db","method":"list","args":[]}}"#,
            some("db"),
        ),
        (
            r#"{"jsonrpc":"2.0","method":"call","params":{"service":"object","method":"execute_kw","args":["acme_prod",2,"pw","res.partner","read",[[1]]]},"id":7}"#,
            some("object"),
        ),
        (
            r#" { "params" : { "service" : "common" } } "#,
            some("common"),
        ),
        (r#"{"params":{"service":"d\u0062"}}"#, some("db")),
        (r#"{"params":{"service":"DB"}}"#, some("DB")),
        (
            r#"{"params":{"service":"object","args":[{"service":"db"}]}}"#,
            some("object"),
        ),
        (
            r#"{"params":{"args":{"params":{"service":"db"}}}}"#,
            Ok(None),
        ),
        (r#"{"jsonrpc":"2.0","method":"call"}"#, Ok(None)),
        (r#"{"params":{}}"#, Ok(None)),
        (r#"{"params":{"service":1}}"#, Err(Invalid)),
        (r#"{"params":{"service":null}}"#, Err(Invalid)),
        (r#"{"params":{"service":["db"]}}"#, Err(Invalid)),
        (
            r#"{"params":[["service","db"],["method","list"]]}"#,
            Err(Invalid),
        ),
        (r#"{"params":null}"#, Err(Invalid)),
        (r#"{"params":"service=db"}"#, Err(Invalid)),
        (r#"[{"params":{"service":"db"}}]"#, Err(Invalid)),
        (r#""db""#, Err(Invalid)),
        ("", Err(Invalid)),
        ("{", Err(Invalid)),
        (
            r#"{"params":{"service":"object"}} {"params":{"service":"db"}}"#,
            Err(Invalid),
        ),
        (r#"{"params":{"service":"object"},"id":NaN}"#, Err(Invalid)),
        ("\u{feff}{\"params\":{}}", Err(Invalid)),
        (
            r#"{"params":{"service":"object"},"params":{"service":"db"}}"#,
            Err(DuplicateKey),
        ),
        (
            r#"{"params":{"service":"object","service":"db"}}"#,
            Err(DuplicateKey),
        ),
        (
            r#"{"params":{"service":"object","servic\u0065":"db"}}"#,
            Err(DuplicateKey),
        ),
        (
            r#"{"par\u0061ms":{"service":"db"},"params":{}}"#,
            Err(DuplicateKey),
        ),
        (
            r#"{"params":{"service":"object","args":[1,{"a":1,"a":2}]}}"#,
            Err(DuplicateKey),
        ),
        (
            r#"{"id":1,"id":2,"params":{"service":"object"}}"#,
            Err(DuplicateKey),
        ),
    ];
    for (body, want) in cases {
        assert_eq!(jsonrpc_service(body.as_bytes(), 1 << 20), want, "{body}");
    }
}

#[test]
fn jsonrpc_limits() {
    let body = br#"{"params":{"service":"db"}}"#;
    assert_eq!(jsonrpc_service(body, body.len()), Ok(Some("db".to_owned())));
    assert_eq!(
        jsonrpc_service(body, body.len() - 1),
        Err(JsonRpcError::TooLarge)
    );
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    assert_eq!(
        jsonrpc_service(deep.as_bytes(), 1 << 20),
        Err(JsonRpcError::Invalid)
    );
    let invalid_utf8 = b"{\"params\":{\"service\":\"d\xffb\"}}";
    assert_eq!(
        jsonrpc_service(invalid_utf8, 1 << 20),
        Err(JsonRpcError::Invalid)
    );
}

#[test]
fn db_service_names() {
    for (s, want) in [
        ("db", true),
        ("DB", true),
        (" db ", true),
        ("dbx", false),
        ("object", false),
        ("", false),
    ] {
        assert_eq!(is_db_service(s), want, "{s:?}");
    }
}

#[test]
fn session_suffixes() {
    let cases = [
        ("abc123.acme_prod", Some("acme_prod")),
        ("abc123", None),
        ("", None),
        ("abc.", Some("")),
        (".acme", Some("acme")),
        ("abc.acme.prod", Some("acme.prod")),
    ];
    for (sid, want) in cases {
        assert_eq!(session_db(sid), want, "{sid}");
    }
}

#[test]
fn query_params() {
    let cases: [(&str, &str, &[&str]); 17] = [
        ("db=a&db=b", "db", &["a", "b"]),
        ("x=1&%64b=evil", "db", &["evil"]),
        ("d%62=x", "db", &["x"]),
        ("db=acme+prod", "db", &["acme prod"]),
        ("db=acme%5Fprod", "db", &["acme_prod"]),
        ("db", "db", &[""]),
        ("db=", "db", &[""]),
        ("x=1;db=y", "db", &["y"]),
        ("DB=x&dB=y", "db", &[]),
        ("db=%zz&db=%4", "db", &["%zz", "%4"]),
        ("db=%C3%A9", "db", &["é"]),
        ("db=%FF", "db", &["\u{fffd}"]),
        ("db=a=b", "db", &["a=b"]),
        ("a=b&&", "db", &[]),
        ("", "db", &[]),
        ("session_id=x.y&db=z", "session_id", &["x.y"]),
        ("session%5Fid=x%2Ey", "session_id", &["x.y"]),
    ];
    for (query, name, want) in cases {
        let got: Vec<Cow<'_, str>> = query_param(query, name).collect();
        assert_eq!(got, want, "{query}");
    }
    let plain: Vec<Cow<'_, str>> = query_param("a=1&db=acme_prod", "db").collect();
    assert!(
        matches!(plain[..], [Cow::Borrowed("acme_prod")]),
        "no allocation when plain"
    );
}

#[test]
fn cookies() {
    let cases: [(&[&str], &[&str]); 9] = [
        (&["session_id=abc.acme"], &["abc.acme"]),
        (&["a=1; session_id=x; b=2", "session_id=y"], &["x", "y"]),
        (&[" session_id = \"q.db\" "], &["q.db"]),
        (&["session_id=\""], &["\""]),
        (&["Session_Id=z"], &[]),
        (&["session_idx=1; xsession_id=2"], &[]),
        (&["session_id"], &[]),
        (&["session_id=a=b"], &["a=b"]),
        (&[], &[]),
    ];
    for (headers, want) in cases {
        let got: Vec<&str> = cookie(headers, "session_id").collect();
        assert_eq!(got, want, "{headers:?}");
    }
}

mod pin;
