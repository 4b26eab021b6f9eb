"""Barbican 23.0.0 for the key-manager integration tests (test-only).

Loads Barbican's own WSGI application from ``api-paste.ini`` next to this file, with the
configuration file the Rust harness wrote (``BARBICAN_CONFIG_FILE``: SQLite, the
``simple_crypto`` plugin with a generated KEK, store backend ``store_crypto``, and the
``[ext_oauth2_auth]`` options keystonemiddleware's ``external_oauth2_token`` uses to
introspect the tokens tacker-server presents).

Run under gunicorn with one worker thread (SQLite): ``gunicorn ... app:application``.
"""

import os

from paste import deploy

from barbican.common import config

_CONFIG_FILE = os.environ['BARBICAN_CONFIG_FILE']
_parse_args = config.parse_args


def _parse_test_config(conf, args=None, usage=None, default_config_files=None):
    # Barbican's modules (the crypto and secret-store plugins included) each parse their own
    # ConfigOpts from the default locations (/etc/barbican); point all of them at the file of
    # this test instead.
    _parse_args(conf, args=['--config-file', _CONFIG_FILE], usage=usage)


config.parse_args = _parse_test_config
# The main configuration was parsed (empty) at import: parse it again with the test's file.
_parse_test_config(config.CONF)

_HERE = os.path.dirname(os.path.abspath(__file__))
application = deploy.loadapp('config:' + os.path.join(_HERE, 'api-paste.ini'))
