//! GET /, /login, /dashboard and /assets/*: the web client. The `site` binary embeds
//! the files of `client/` and hands them to [`handle`], which picks the file, its
//! content type and cache rule, and adds the security headers to every answer.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::Body;

use crate::http::{Request, Response, finish, require_method};
use crate::{Error, Result};

/// One embedded file of the client, its path relative to `client/`.
#[derive(Debug, Clone, Copy)]
pub struct File {
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// A quoted strong ETag derived from the content, e.g. `"1f2e…"`.
    pub etag: &'static str,
}

/// Scripts, styles, fonts and API calls from this origin only; no inline scripts or
/// styles, no plugins, and no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// Pages must always be revalidated, so a deploy shows at once.
pub const PAGE_CACHE: &str = "no-cache";
/// Assets may be reused for an hour, then revalidated by ETag.
pub const ASSET_CACHE: &str = "public, max-age=3600";

/// Answers one request from `files`; never fails (errors become JSON answers).
pub fn handle(files: &[File], req: &Request) -> Response {
    let mut response = finish(serve(files, req));
    security_headers(response.headers_mut());
    response
}

fn serve(files: &[File], req: &Request) -> Result<Response> {
    require_method(req, Method::GET)?;
    let path = file_path(req.uri().path()).ok_or_else(not_found)?;
    let file = files
        .iter()
        .find(|file| file.path == path)
        .ok_or_else(not_found)?;
    let cache = if path.ends_with(".html") {
        PAGE_CACHE
    } else {
        ASSET_CACHE
    };

    let fresh = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == file.etag || tag.trim() == "*");
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Body::Empty)
    } else {
        (StatusCode::OK, body(path, file.bytes))
    };
    http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type(path))
        .header(header::CACHE_CONTROL, cache)
        .header(header::ETAG, file.etag)
        .body(body)
        .map_err(|err| Error::Internal(format!("building the response for {path}: {err}")))
}

/// The client file for a URL path: the three pages, or anything under `/assets/`.
fn file_path(url_path: &str) -> Option<&str> {
    match url_path {
        "/" => Some("index.html"),
        "/login" => Some("login.html"),
        "/dashboard" => Some("dashboard.html"),
        other => other
            .strip_prefix('/')
            .filter(|path| path.starts_with("assets/")),
    }
}

fn not_found() -> Error {
    Error::NotFound("no such page or asset".into())
}

/// Text goes out as text, the rest (fonts, images) as binary, which API Gateway
/// carries base64-encoded.
fn body(path: &str, bytes: &'static [u8]) -> Body {
    match std::str::from_utf8(bytes) {
        Ok(text) if content_type(path).starts_with("text/") || path.ends_with(".svg") => {
            Body::Text(text.to_owned())
        }
        _ => Body::Binary(bytes.to_vec()),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn security_headers(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: &[File] = &[
        File {
            path: "index.html",
            bytes: b"<!doctype html>landing",
            etag: "\"1\"",
        },
        File {
            path: "login.html",
            bytes: b"<!doctype html>login",
            etag: "\"2\"",
        },
        File {
            path: "dashboard.html",
            bytes: b"<!doctype html>dashboard",
            etag: "\"3\"",
        },
        File {
            path: "assets/style.css",
            bytes: b"body{}",
            etag: "\"4\"",
        },
        File {
            path: "assets/js/app.js",
            bytes: b"export {};",
            etag: "\"5\"",
        },
        File {
            path: "assets/fonts/f.woff2",
            bytes: b"wOF2\x00\x01\xff",
            etag: "\"6\"",
        },
        File {
            path: "assets/favicon.svg",
            bytes: b"<svg/>",
            etag: "\"7\"",
        },
    ];

    fn get(path: &str) -> Response {
        request(
            http::Request::builder()
                .uri(path)
                .body(Body::Empty)
                .unwrap(),
        )
    }

    fn request(req: Request) -> Response {
        handle(FILES, &req)
    }

    fn header<'r>(response: &'r Response, name: &str) -> &'r str {
        response.headers().get(name).unwrap().to_str().unwrap()
    }

    fn text(response: &Response) -> &str {
        match response.body() {
            Body::Text(text) => text,
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[test]
    fn pages_are_html_and_never_cached_stale() {
        for (path, content) in [
            ("/", "landing"),
            ("/login", "login"),
            ("/dashboard", "dashboard"),
        ] {
            let response = get(path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&response, "content-type"),
                "text/html; charset=utf-8"
            );
            assert_eq!(header(&response, "cache-control"), "no-cache");
            assert!(text(&response).ends_with(content), "{path}");
        }
    }

    #[test]
    fn assets_have_their_content_type_and_are_cacheable() {
        for (path, content_type) in [
            ("/assets/style.css", "text/css; charset=utf-8"),
            ("/assets/js/app.js", "text/javascript; charset=utf-8"),
            ("/assets/fonts/f.woff2", "font/woff2"),
            ("/assets/favicon.svg", "image/svg+xml"),
        ] {
            let response = get(path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, "content-type"), content_type, "{path}");
            assert_eq!(
                header(&response, "cache-control"),
                "public, max-age=3600",
                "{path}"
            );
        }
        match get("/assets/fonts/f.woff2").body() {
            Body::Binary(bytes) => assert_eq!(bytes.as_slice(), b"wOF2\x00\x01\xff"),
            other => panic!("a font must be binary, got {other:?}"),
        }
    }

    #[test]
    fn every_answer_carries_the_security_headers() {
        for path in ["/", "/assets/style.css", "/assets/missing.js", "/nope"] {
            let response = get(path);
            let csp = header(&response, "content-security-policy");
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{path}: {csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"), "{path}");
            assert_eq!(
                header(&response, "x-content-type-options"),
                "nosniff",
                "{path}"
            );
            assert_eq!(
                header(&response, "referrer-policy"),
                "no-referrer",
                "{path}"
            );
        }
    }

    #[test]
    fn unknown_paths_are_json_404s() {
        for path in [
            "/assets/missing.js",
            "/assets/",
            "/index.html",
            "/assets/../index.html",
            "/nope",
            "/login/",
        ] {
            let response = get(path);
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(header(&response, "content-type"), "application/json");
            let body: serde_json::Value = serde_json::from_str(text(&response)).unwrap();
            assert_eq!(body["error"]["message"], "no such page or asset");
        }
    }

    #[test]
    fn other_methods_are_405() {
        let response = request(
            http::Request::builder()
                .method("POST")
                .uri("/")
                .body(Body::Empty)
                .unwrap(),
        );
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn a_matching_etag_answers_304_without_a_body() {
        let first = get("/assets/style.css");
        let etag = header(&first, "etag").to_owned();
        let again = request(
            http::Request::builder()
                .uri("/assets/style.css")
                .header("if-none-match", format!("\"other\", {etag}"))
                .body(Body::Empty)
                .unwrap(),
        );
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(matches!(again.body(), Body::Empty));
        assert_eq!(header(&again, "etag"), etag);
        let stale = request(
            http::Request::builder()
                .uri("/assets/style.css")
                .header("if-none-match", "\"old\"")
                .body(Body::Empty)
                .unwrap(),
        );
        assert_eq!(stale.status(), StatusCode::OK);
    }
}
