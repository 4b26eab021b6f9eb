"""keystonemiddleware 13.0.1's ``external_oauth2_token`` around an empty WSGI app (benchmark).

The cost of the reference token filter alone: every request it lets through is answered
``200`` with an empty JSON object. Configured as Tacker configures the filter: the options of
the ``[ext_oauth2_auth]`` group of the tacker.conf named by ``KMW_CONFIG_FILE``.

Run under gunicorn from ``.venv/kmw``: ``gunicorn --workers 2 ... kmw_empty_app:application``.
"""

import os

from keystonemiddleware import external_oauth2_token

BODY = b'{}'


def empty_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(BODY)))])
    return [BODY]


def make_app():
    # A private ConfigOpts reading this file only, as a paste deployment with
    # oslo_config_project / oslo_config_file would.
    return external_oauth2_token.filter_factory(
        {},
        oslo_config_project='tacker',
        oslo_config_file=os.environ['KMW_CONFIG_FILE'],
    )(empty_app)


application = make_app()
