"""Print a VIM's credentials as Python Tacker decrypts them before a VNF operation.

Usage: vim_auth.py <tacker.conf> <vim id>

Tacker's own code path (tacker.vnfm.vim_client.VimClient.get_vim: the NFVO plugin reads the
VIM unmasked, the key comes from [vim_keys] openstack or Barbican, Fernet decrypts), so a VIM
written by another server is usable by Python Tacker exactly when this succeeds. Prints one
line `vim_auth: <JSON of the vim_auth object>`.
"""

import json
import sys

from tacker.common import config
from tacker import context
from tacker.vnfm import vim_client


def main():
    conf, vim_id = sys.argv[1], sys.argv[2]
    config.init(['--config-file', conf])
    vim = vim_client.VimClient().get_vim(context.get_admin_context(), vim_id)
    print('vim_auth: ' + json.dumps(vim['vim_auth']))


if __name__ == '__main__':
    main()
