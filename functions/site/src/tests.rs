//! The embedded client is complete and keeps to the Content-Security-Policy.

use super::client::FILES;

fn bytes(path: &str) -> &'static [u8] {
    FILES
        .iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| panic!("{path} is not embedded"))
        .bytes
}

fn file(path: &str) -> &'static str {
    std::str::from_utf8(bytes(path)).unwrap()
}

/// Every quoted value after `marker` in `text`, e.g. the targets of `src="`.
fn quoted_after<'t>(text: &'t str, marker: &str) -> Vec<&'t str> {
    text.split(marker)
        .skip(1)
        .filter_map(|rest| rest.split(['"', '\'']).next())
        .collect()
}

#[test]
fn the_three_pages_and_the_font_with_its_license_are_embedded() {
    for path in [
        "index.html",
        "login.html",
        "dashboard.html",
        "assets/fonts/OFL.txt",
    ] {
        assert!(!file(path).is_empty(), "{path}");
    }
    assert!(
        FILES
            .iter()
            .any(|file| file.path.ends_with(".woff2") && file.bytes.starts_with(b"wOF2"))
    );
}

#[test]
fn every_local_reference_resolves_to_an_embedded_file() {
    let mut checked = 0;
    for page in ["index.html", "login.html", "dashboard.html"] {
        let html = file(page);
        for target in quoted_after(html, "src=\"")
            .into_iter()
            .chain(quoted_after(html, "href=\""))
        {
            if let Some(asset) = target.strip_prefix("/assets/") {
                bytes(&format!("assets/{asset}"));
                checked += 1;
            }
        }
    }
    // Relative module imports and stylesheet URLs.
    for source in FILES
        .iter()
        .filter(|file| file.path.ends_with(".js") || file.path.ends_with(".css"))
    {
        let dir = source.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let text = std::str::from_utf8(source.bytes).unwrap();
        let targets = quoted_after(text, "from '")
            .into_iter()
            .chain(quoted_after(text, "url(\""));
        for target in targets {
            let relative = target.strip_prefix("./").unwrap_or(target);
            bytes(&format!("{dir}/{relative}"));
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} references found: is the scan still working?"
    );
}

#[test]
fn pages_need_no_inline_script_or_style() {
    for page in ["index.html", "login.html", "dashboard.html"] {
        let html = file(page);
        for tag in html.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap();
            assert!(
                open.contains(" src="),
                "{page} has an inline script: <script{open}>"
            );
        }
        assert!(!html.contains("<style"), "{page} has an inline <style>");
        assert!(!html.contains(" style="), "{page} has a style attribute");
        assert!(
            !html.contains(" onclick=") && !html.contains(" onload="),
            "{page} has an inline handler"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page} loads something from elsewhere"
        );
    }
}
