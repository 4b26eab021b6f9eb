"""Render WebOb error pages for the Rust tests (crates/common/tests/webob_pages.rs).

Reads a JSON list of cases on stdin, each {"status": int, "explanation": str|null,
"detail": str|null, "method": str, "accept": str|null}, and writes a JSON list with, for each
case, {"status": "<code> <title>", "content_type": str|null, "content_length": str|null,
"body": str} as WebOb itself answers a request with that method and Accept header (no
Accept header when "accept" is null).
"""
import json
import sys

import webob.exc
from webob import Request


def render(case):
    cls = webob.exc.status_map[case["status"]]
    kwargs = {}
    if case.get("explanation") is not None:
        kwargs["explanation"] = case["explanation"]
    exc = cls(detail=case.get("detail"), **kwargs)
    headers = {}
    if case.get("accept") is not None:
        headers["Accept"] = case["accept"]
    req = Request.blank("/", method=case["method"], headers=headers)
    resp = req.get_response(exc)
    return {
        "status": resp.status,
        "content_type": resp.headers.get("Content-Type"),
        "content_length": resp.headers.get("Content-Length"),
        "body": resp.body.decode("utf-8"),
    }


def main():
    cases = json.load(sys.stdin)
    json.dump([render(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
