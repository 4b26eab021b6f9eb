//! Every WebOb page the server writes, compared byte for byte with WebOb 1.8.9 itself
//! (`tests/peers/pytools/webob_pages.py` in the venv of `scripts/setup/pytools.sh`): status
//! line, `Content-Type`, and body, for each `Accept` shape WebOb distinguishes (none, empty,
//! invalid, wildcards, q-values, parameters) and for `HEAD`.
//!
//! The pages: the routes' 404 (`HTTPNotFound()`), the extension controller's 404s with a
//! detail, the versions app's 404 with its own explanation, `keystonecontext`'s 401,
//! `catch_errors`' 500, and the listener's refusals: 400 with the detail `Header Line Too Long`
//! (a header line over `max_header_line`), 408 (a request body that stops arriving) and 413 (a
//! declared body over the limit).

use std::io::Write;
use std::process::{Command, Stdio};

use axum::body::to_bytes;
use http::{header, HeaderMap, Method, StatusCode};
use serde_json::{json, Value};
use tacker_common::WebObError;

struct Page {
    status: u16,
    explanation: Option<&'static str>,
    detail: Option<&'static str>,
}

const PAGES: &[Page] = &[
    Page {
        status: 404,
        explanation: None,
        detail: None,
    },
    Page {
        status: 404,
        explanation: None,
        detail: Some("Resource not found."),
    },
    Page {
        status: 404,
        explanation: None,
        // The alias comes from the URL: it must be escaped in HTML.
        detail: Some("Extension with alias <b>&\"x'</b> does not exist"),
    },
    Page {
        status: 404,
        explanation: Some("Unknown API version specified"),
        detail: None,
    },
    Page {
        status: 401,
        explanation: None,
        detail: None,
    },
    Page {
        status: 500,
        explanation: None,
        detail: None,
    },
    Page {
        status: 400,
        explanation: None,
        detail: Some("Header Line Too Long"),
    },
    Page {
        status: 408,
        explanation: None,
        detail: None,
    },
    Page {
        status: 413,
        explanation: None,
        detail: None,
    },
];

const ACCEPTS: &[Option<&str>] = &[
    None,
    Some(""),
    Some("*/*"),
    Some("text/html"),
    Some("application/json"),
    Some("text/plain"),
    Some("application/json;q=0.5, text/html;q=0.4"),
    Some("text/*;q=0.1, application/*;q=0.2"),
    Some("*/*, text/html;q=0"),
    Some("text/html;level=1"),
    Some("garbage"),
    Some("text/html;q=2"),
    Some("Application/JSON"),
    Some(" , application/json ,"),
];

fn python() -> std::path::PathBuf {
    tacker_test_support::repo_root().join(".venv/pytools/bin/python")
}

#[tokio::test]
async fn every_page_matches_webob_byte_for_byte() {
    let python = python();
    assert!(
        python.is_file(),
        "{} missing: run scripts/setup/pytools.sh",
        python.display()
    );
    let mut cases = Vec::new();
    for page in PAGES {
        for accept in ACCEPTS {
            cases.push((page, Method::GET, *accept));
        }
        cases.push((page, Method::HEAD, Some("*/*")));
    }
    let input: Vec<Value> = cases
        .iter()
        .map(|(p, m, a)| {
            json!({"status": p.status, "explanation": p.explanation, "detail": p.detail,
                   "method": m.as_str(), "accept": a})
        })
        .collect();
    let mut child = Command::new(&python)
        .arg(tacker_test_support::repo_root().join("tests/peers/pytools/webob_pages.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "webob_pages.py failed");
    let expected: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected.len(), cases.len());

    for ((page, method, accept), want) in cases.iter().zip(&expected) {
        let mut e = WebObError::new(StatusCode::from_u16(page.status).unwrap());
        if let Some(x) = page.explanation {
            e = e.with_explanation(x);
        }
        if let Some(d) = page.detail {
            e = e.with_detail(d);
        }
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, a.parse().unwrap());
        }
        let resp = e.render(method, &headers);
        let case = format!("{} {method} Accept={accept:?}", page.status);
        let want_code = want["status"].as_str().unwrap().split_once(' ').unwrap().0;
        assert_eq!(resp.status().as_u16().to_string(), want_code, "{case}");
        assert_eq!(
            resp.headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned()),
            want["content_type"].as_str().map(str::to_owned),
            "{case}"
        );
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            want["body"].as_str().unwrap(),
            "{case}"
        );
        if let Some(len) = want["content_length"].as_str() {
            assert_eq!(body.len().to_string(), len, "{case}: Content-Length");
        }
    }
}
