//! The maintenance page: small, self-contained (no external assets), every inserted text
//! HTML-escaped.

use switchyard_policy_sdk::html_escape;

/// The page for `tenant` (may be empty when every tenant is held).
pub fn render(tenant: &str, message: Option<&str>, retry_after: u64) -> String {
    let who = if tenant.is_empty() {
        String::new()
    } else {
        format!(" for <strong>{}</strong>", html_escape(tenant))
    };
    let message = html_escape(
        message.unwrap_or("We are carrying out scheduled maintenance. Please try again shortly."),
    );
    let minutes = retry_after.div_ceil(60).max(1);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Maintenance in progress</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}}\
h1{{font-size:1.5rem}}</style></head>\n<body><h1>Maintenance in progress</h1>\
<p>The service{who} is under maintenance.</p><p>{message}</p>\
<p>Expected back in about {minutes} minute{s}.</p></body></html>\n",
        s = if minutes == 1 { "" } else { "s" },
    )
}
