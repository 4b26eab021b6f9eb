"""Schemathesis hooks for the tier-3 fuzz run against tacker-server (SCHEMATHESIS_HOOKS=st_hooks).

* Keeps every request on loopback: any `auth_url` / `oidc_token_url` in a generated body is
  replaced by $TACKER_FUZZ_VIM_URL (the in-test fake Kubernetes API), so VIM registration never
  reaches the network.
* Replaces the built-in `not_a_server_error` check: a 5xx is accepted only when it is one of the
  TackerError types Tacker reports with 500 on purpose (api-ref/openapi.yaml, TackerServerError);
  a generic `HTTPInternalServerError`, a non-JSON 5xx or any other 5xx fails the run.
"""

import json
import os

import schemathesis

LOOPBACK_VIM_URL = os.environ.get("TACKER_FUZZ_VIM_URL", "http://127.0.0.1:9")

# Exceptions Tacker maps to 500 by design (tacker-vim-sol013.md 2.9); clients depend on them.
INTENDED_500_TYPES = {
    "VimNotFoundException",
    "VimDefaultDuplicateException",
    "VimInUseException",
    "VimUnauthorizedException",
    "VimConnectionException",
    "VimEncryptKeyError",
    "VimKeyNotFoundException",
    "KeyManagerError",
    "PolicyNotAuthorized",
}

URL_KEYS = {"auth_url", "oidc_token_url"}


def _pin_urls(value):
    """Rewrites URL-valued keys in place (the case keeps its body object)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in URL_KEYS:
                value[k] = LOOPBACK_VIM_URL
            else:
                _pin_urls(v)
    elif isinstance(value, list):
        for v in value:
            _pin_urls(v)
    return value


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    _pin_urls(getattr(case, "body", None))


@schemathesis.check
def no_unintended_server_error(ctx, response, case):
    """A 5xx must be an intended TackerError type, never a crash."""
    if response.status_code < 500:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(f"{response.status_code} with a non-JSON body: {response.content[:200]!r}")
    err = body.get("TackerError") if isinstance(body, dict) else None
    if not isinstance(err, dict) or err.get("type") not in INTENDED_500_TYPES:
        raise AssertionError(f"unintended server error {response.status_code}: {json.dumps(body)[:300]}")
    return None
