//! Stage 4 (Odoo guard): a tenant reaches its own database and nothing else. The database
//! manager (`/web/database/*`, `/xmlrpc[/2]/db`, and `/jsonrpc` calls to the `db` service)
//! is refused except from `tenants.odoo.db_manager_from`; a `db` query or form parameter, or
//! a session id whose `.dbname` suffix names another database, is refused (403); then the
//! proxy sets `X-Switchyard-Tenant` and `X-Odoo-dbfilter: ^<database>$`. Bodies it must read
//! (JSON-RPC, URL-encoded forms) are read up to `tenants.odoo.inspect_max` and forwarded as
//! read, byte for byte.

use crate::body::ClientBody;
use crate::ctx::ConnInfo;
use crate::rescue::Reject;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Limited};
use switchyard_core::config::Config;
use switchyard_core::odoo;

static X_SWITCHYARD_TENANT: HeaderName = HeaderName::from_static("x-switchyard-tenant");
static X_ODOO_DBFILTER: HeaderName = HeaderName::from_static("x-odoo-dbfilter");

/// What the guard needs besides the request.
pub struct Facts<'a> {
    /// The tenant (index).
    pub tenant: Option<usize>,
    /// The connection (the client's address is worked out only when it matters).
    pub conn: &'a ConnInfo,
    /// The canonical path.
    pub path: &'a str,
    /// `X-Openerp-Session-Id` as the client sent it (the trust stage removed it).
    pub session_header: Option<&'a str>,
}

fn is_form(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Reads a body the guard must look at, up to `max` bytes (413 beyond).
async fn read_body(req: &mut Request<ClientBody>, max: usize) -> Result<Bytes, Reject> {
    let body = std::mem::replace(req.body_mut(), ClientBody::Read(None));
    match Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Reject::BodyTooLarge(max as u64))
        }
        Err(e) => Err(Reject::ClientBody(e.to_string())),
    }
}

/// Runs the guard. A body it read is put back as [`ClientBody::Read`], forwarded unchanged.
pub async fn guard(
    cfg: &Config,
    f: &Facts<'_>,
    req: &mut Request<ClientBody>,
) -> Result<(), Reject> {
    let g = &cfg.tenants.odoo;
    let allowed = |req: &Request<ClientBody>| {
        let client = crate::stages::canary::client_ip(req.headers(), f.conn);
        g.db_manager_from.iter().any(|n| n.contains(&client))
    };
    if g.block_db_manager && odoo::is_db_manager_path(f.path) && !allowed(req) {
        return Err(Reject::DbManager(f.path.to_owned()));
    }
    let database = f
        .tenant
        .and_then(|t| cfg.tenants.list[t].database.as_deref())
        .filter(|_| g.pin_database);
    // Any method may carry a body Odoo reads (it dispatches /jsonrpc by content type).
    let post = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let jsonrpc =
        post && g.block_db_manager && f.path.eq_ignore_ascii_case("/jsonrpc") && !allowed(req);
    let form = post && database.is_some() && is_form(req.headers());
    let body = if jsonrpc || form {
        Some(read_body(req, g.inspect_max).await?)
    } else {
        None
    };
    if let (true, Some(b)) = (jsonrpc, &body) {
        match odoo::jsonrpc_service(b, g.inspect_max) {
            Ok(Some(s)) if odoo::is_db_service(&s) => {
                return Err(Reject::DbManager("/jsonrpc service db".into()))
            }
            Ok(_) => {}
            Err(e) => return Err(Reject::BadJsonRpc(e.to_string())),
        }
    }
    if let Some(db) = database {
        let cookies: Vec<&str> = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let form_body = if form { body.as_deref() } else { None };
        odoo::database_pin(db, req.uri().query(), &cookies, f.session_header, form_body)
            .map_err(|v| Reject::WrongDatabase(v.to_string()))?;
    }
    if let Some(t) = f.tenant {
        let h = req.headers_mut();
        if let Ok(v) = HeaderValue::try_from(cfg.tenants.names[t].as_str()) {
            h.insert(X_SWITCHYARD_TENANT.clone(), v);
        }
        if let Some(db) = cfg.tenants.list[t].database.as_deref() {
            if let Ok(v) = HeaderValue::try_from(format!("^{}$", db.replace('.', "\\."))) {
                h.insert(X_ODOO_DBFILTER.clone(), v);
            }
        }
    }
    if let Some(b) = body {
        *req.body_mut() = ClientBody::Read(Some(b));
    }
    Ok(())
}
