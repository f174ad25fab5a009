//! The few server-rendered pages that links in messages and start-up output
//! open before the web console exists: a shared frame and HTML escaping.

use axum::response::Html;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small, self-contained page: no scripts, no external resources.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
         label{{display:block;margin-top:1rem}}input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}\
         button{{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}}.error{{color:#a00}}code{{background:#f3f3f3;padding:.1rem .3rem}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    ))
}
