"""Reference resource server for the differential tests (test-only).

A WSGI echo app behind keystonemiddleware 13.0.1's ``external_oauth2_token`` filter, configured
exactly as Tacker configures it: options from the ``[ext_oauth2_auth]`` group of a tacker.conf
file, overridden by the keys of an api-paste.ini ``[filter:external_oauth2_token]`` section.

Environment (set by the Rust harness, ``tacker_test_support::KmwReference``):

* ``KMW_CONFIG_FILE``  path of the tacker.conf-style file (required)
* ``KMW_PASTE_FILE``   optional api-paste.ini whose ``[filter:external_oauth2_token]`` keys are
  passed to ``filter_factory`` as paste local_conf
* ``KMW_DEBUG``        ``1`` to log keystonemiddleware at DEBUG on stderr

The echo app answers every request that the filter lets through with 200 and a JSON object
``{"status": 200, "method": ..., "path": ..., "headers": {<identity headers received>}}``;
``/app-401`` makes the app itself answer 401 (upstream test_process_response_401).

Run under gunicorn: ``gunicorn --no-control-socket ... app:application``.
"""

import configparser
import json
import logging
import os
import ssl
import sys

from keystonemiddleware import external_oauth2_token

# Headers keystonemiddleware may set for the app (§2.9 of the spec), plus the credentials the
# app still sees, so that tests can compare what reached the application.
IDENTITY_HEADERS = (
    'X-Identity-Status', 'X-Roles', 'X-Role', 'X-Is-Admin-Project',
    'X-User-Id', 'X-User-Name', 'X-User-Domain-Id', 'X-User-Domain-Name', 'X-User',
    'X-Project-Id', 'X-Project-Name', 'X-Project-Domain-Id', 'X-Project-Domain-Name',
    'X-Tenant-Id', 'X-Tenant-Name', 'X-Tenant',
    'X-Domain-Id', 'X-Domain-Name', 'OpenStack-System-Scope',
    'X-Service-Catalog', 'X-Service-Roles',
)


def _environ_key(header):
    return 'HTTP_' + header.upper().replace('-', '_')


def echo_app(environ, start_response):
    path = environ.get('PATH_INFO', '')
    headers = {}
    for name in IDENTITY_HEADERS:
        value = environ.get(_environ_key(name))
        if value is not None:
            headers[name] = value
    if path == '/app-401':
        status = '401 Unauthorized'
        code = 401
    else:
        status = '200 OK'
        code = 200
    body = json.dumps({
        'status': code,
        'method': environ.get('REQUEST_METHOD'),
        'path': path,
        'headers': headers,
    }).encode('utf-8')
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(body)))])
    return [body]


def peer_certificate_to_environ(app):
    """Expose the TLS client certificate as Apache mod_ssl does.

    gunicorn does not put the peer certificate into the WSGI environ, and keystonemiddleware's
    thumbprint check reads ``SSL_CLIENT_CERT`` (or an eventlet socket). A client cannot set
    this key: request headers only ever become ``HTTP_*`` keys.
    """
    def wrapper(environ, start_response):
        environ.pop('SSL_CLIENT_CERT', None)
        sock = environ.get('gunicorn.socket')
        if isinstance(sock, ssl.SSLSocket):
            der = sock.getpeercert(binary_form=True)
            if der:
                environ['SSL_CLIENT_CERT'] = ssl.DER_cert_to_PEM_cert(der)
        return app(environ, start_response)
    return wrapper


def _paste_overrides(paste_file):
    if not paste_file:
        return {}
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    with open(paste_file, encoding='utf-8') as f:
        parser.read_file(f)
    section = 'filter:external_oauth2_token'
    if not parser.has_section(section):
        return {}
    return {k: v for k, v in parser.items(section)
            if k not in ('paste.filter_factory', 'use')}


def make_app():
    if os.environ.get('KMW_DEBUG') == '1':
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG,
                            format='%(levelname)s %(name)s %(message)s')
    config_file = os.environ['KMW_CONFIG_FILE']
    local_conf = _paste_overrides(os.environ.get('KMW_PASTE_FILE'))
    # A private ConfigOpts reading this file only, as a paste deployment with
    # oslo_config_project/oslo_config_file would.
    local_conf['oslo_config_project'] = 'tacker'
    local_conf['oslo_config_file'] = config_file
    auth = external_oauth2_token.filter_factory({}, **local_conf)(echo_app)
    return peer_certificate_to_environ(auth)


application = make_app()
