"""Registers VIMs in real Tacker's database with Tacker's own code (benchmark only).

Usage: tacker_seed_vims.py <tacker.conf> <bodies.json>   (run with .venv/tacker's Python)

`bodies.json` holds a list of `POST /v1.0/vims` bodies. Each goes through
`NfvoPlugin.create_vim` with an admin context, the code behind Tacker's `POST /v1.0/vims`:
the OpenStack driver's Keystone calls, the Fernet key in `[vim_keys] openstack`, the rows.
Tacker's API server cannot register VIMs on SQLite: oslo.db emits BEGIN for every session
transaction, reads included, so a session left in a transaction keeps a SHARED lock, and the
next `create_vim` commit waits for it until "database is locked". Here each VIM gets a context
of its own whose session is closed after the commit.
"""

import json
import sys

import sqlalchemy

from tacker.common import config
from tacker import context
from tacker.nfvo import nfvo_plugin


def main():
    conf, bodies_file = sys.argv[1], sys.argv[2]
    config.init(['--config-file', conf])
    with open(bodies_file) as f:
        bodies = json.load(f)
    plugin = nfvo_plugin.NfvoPlugin()
    for body in bodies:
        # The API fills this attribute default before create_vim (RESOURCE_ATTRIBUTE_MAP:
        # extra None -> convert_none_to_empty_dict).
        body['vim'].setdefault('extra', {})
        ctx = context.get_admin_context()
        vim = plugin.create_vim(ctx, body)
        # Ends the transaction the session began after its commit (its SHARED lock).
        ctx.session.close()
        print(f'tacker_seed_vims: {vim["id"]} {vim["name"]}')
    # SQLite keeps the microseconds of created_at, which Tacker's production databases
    # (MySQL DATETIME) drop; drop them too, so that the list is the same text as there.
    engine = sqlalchemy.create_engine(config.cfg.CONF.database.connection)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            "UPDATE vims SET created_at = substr(created_at, 1, 19)"))


if __name__ == '__main__':
    main()
