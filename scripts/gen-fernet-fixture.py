#!/usr/bin/env python3
"""Writes tests/fixtures/fernet/python-tokens.json: one Fernet key and tokens made from it by
Python's `cryptography` (the library Tacker uses), so the Rust vault can prove it reads tokens
that existing Tacker deployments wrote.

Run once, by hand, in a throwaway virtualenv that has `cryptography` installed:

    python3 scripts/gen-fernet-fixture.py > tests/fixtures/fernet/python-tokens.json

The committed output is the fixture; re-running it produces a different key and tokens.
"""

import json
import sys

import cryptography
from cryptography.fernet import Fernet

PLAINTEXTS = [
    ("empty", ""),
    ("ascii_password", "devstack"),
    ("non_ascii", "pässwörd-密码-🔑"),
    ("bearer_token", "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9." + "a" * 300 + ".sig"),
    ("ca_cert_pem", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n"
                    + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789\n" * 20
                    + "-----END CERTIFICATE-----\n"),
    ("block_boundary_16", "0123456789abcdef"),
    ("long", "x" * 10000),
]


def main():
    key = Fernet.generate_key()
    other_key = Fernet.generate_key()
    f = Fernet(key)
    cases = [{"name": name, "plaintext": text, "token": f.encrypt(text.encode("utf-8")).decode()}
             for name, text in PLAINTEXTS]
    # A token with a fixed, old timestamp: Tacker never sets a ttl, so age must not matter.
    cases.append({"name": "fixed_time_2016", "plaintext": "old-secret",
                  "token": f.encrypt_at_time(b"old-secret", 1451606400).decode()})
    out = {
        "generator": "scripts/gen-fernet-fixture.py",
        "cryptography_version": cryptography.__version__,
        "key": key.decode(),
        "cases": cases,
        "foreign_key_token": Fernet(other_key).encrypt(b"not for this key").decode(),
    }
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
