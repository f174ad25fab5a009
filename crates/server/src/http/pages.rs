//! The few pages that links in messages and start-up output open (setup,
//! invitation, set-password): a shared frame in the console's look, and
//! HTML escaping.

use axum::response::Html;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small page in the console's look: its stylesheet, no scripts.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · Roster</title>\
         <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/assets/console.css\">\
         </head><body class=\"narrow\"><main class=\"card stack\" id=\"main\"><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    ))
}
