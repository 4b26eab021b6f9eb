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

# Barbican parsed an empty configuration at import; parse again with the test's file so that
# the database, crypto plugin and the filter's [ext_oauth2_auth] group come from it.
config.CONF(args=['--config-file', os.environ['BARBICAN_CONFIG_FILE']],
            project='barbican', prog='barbican')

_HERE = os.path.dirname(os.path.abspath(__file__))
application = deploy.loadapp('config:' + os.path.join(_HERE, 'api-paste.ini'))
