"""python-tackerclient as a real client of tacker-server: VIM register, list, show by id and
by name, update, delete, through the library calls the `openstack vim ...` commands use.

Usage: tackerclient_vim.py --endpoint URL --k8s-url URL [--token TOKEN] [--tenant-id ID]
Without --token the client runs with auth_strategy=noauth; with it, every request carries
`Authorization: Bearer <token>` (external OAuth 2.0). Prints one JSON line per step; exits 1
on the first mismatch.
"""

import argparse
import json
import sys
import uuid

from keystoneauth1 import plugin as ks_plugin
from keystoneauth1 import session as ks_session
from tackerclient.common import exceptions as tc_exc
from tackerclient.tacker import v1_0 as tacker_v1_0
from tackerclient.tacker.v1_0.nfvo import vim_utils
from tackerclient.v1_0 import client as tc_client


class BearerToken(ks_plugin.BaseAuthPlugin):
    """A keystoneauth plugin that presents an externally obtained OAuth 2.0 access token."""

    def __init__(self, token, endpoint):
        super().__init__()
        self._token = token
        self._endpoint = endpoint

    def get_headers(self, session, **kwargs):
        return {"Authorization": f"Bearer {self._token}"}

    def get_endpoint(self, session, **kwargs):
        return self._endpoint


def step(name, ok, **details):
    print(json.dumps({"step": name, "ok": bool(ok), **details}), flush=True)
    if not ok:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--k8s-url", required=True)
    ap.add_argument("--token")
    ap.add_argument("--tenant-id", default="tenant-a")
    args = ap.parse_args()

    if args.token:
        sess = ks_session.Session(auth=BearerToken(args.token, args.endpoint))
        client = tc_client.Client(session=sess, endpoint_override=args.endpoint)
    else:
        client = tc_client.Client(endpoint_url=args.endpoint, auth_strategy="noauth", tenant_id=args.tenant_id)

    name = f"k8s-{uuid.uuid4().hex[:8]}"
    vim = {"name": name, "description": "registered by python-tackerclient", "auth_url": args.k8s_url}
    # The body `openstack vim register --config-file` builds.
    vim_utils.args2body_vim({"type": "kubernetes", "project_name": "default", "bearer_token": "good-token"}, vim)
    if not args.token:
        vim["tenant_id"] = args.tenant_id
    created = client.create_vim({"vim": vim})["vim"]
    vim_id = created["id"]
    step(
        "create",
        created["name"] == name
        and created["status"] == "ACTIVE"
        and created["auth_cred"].get("bearer_token") == "***"
        and created["placement_attr"] == {"regions": ["default", "kube-system"]},
        vim=created,
    )

    listed = client.list_vims()["vims"]
    step("list", any(v["id"] == vim_id for v in listed), count=len(listed))

    step("find by id", tacker_v1_0.find_resourceid_by_name_or_id(client, "vim", vim_id) == vim_id)
    step("find by name", tacker_v1_0.find_resourceid_by_name_or_id(client, "vim", name) == vim_id)
    shown = client.show_vim(vim_id)["vim"]
    step("show", shown["id"] == vim_id and shown["name"] == name and "shared" not in shown)

    new_name = name + "-renamed"
    updated = client.update_vim(vim_id, {"vim": {"name": new_name, "description": "updated"}})["vim"]
    step(
        "update",
        updated["name"] == new_name and updated["description"] == "updated" and updated["updated_at"] is not None,
    )
    step("find by new name", tacker_v1_0.find_resourceid_by_name_or_id(client, "vim", new_name) == vim_id)

    client.delete_vim(vim_id)
    step("delete", all(v["id"] != vim_id for v in client.list_vims()["vims"]))
    try:
        client.show_vim(vim_id)
        step("show after delete", False)
    except tc_exc.TackerClientException as e:
        # Tacker reports VimNotFoundException with 500; the client surfaces its message.
        step("show after delete", "is invalid" in str(e), status=e.status_code, message=str(e))


if __name__ == "__main__":
    main()
