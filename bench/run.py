"""The benchmark of issue 11: this server against real Tacker and keystonemiddleware.

Run through ``scripts/bench`` (see ``--help``). Everything listens on 127.0.0.1 on free ports,
one server under load at a time (2-core machines: the load generator shares the cores), and every process
started here is stopped by its process group id when the run ends, also on failure.

What it does:
  1. ``cargo build --release -p tacker-server`` (honours ``CARGO_TARGET_DIR``);
  2. the idempotent peer installers under ``scripts/setup/``;
  3. a throw-away PKI (openssl) and the test suite's authorization server
     (``tests/peers/authz/server.js``, a Keycloak-shaped realm) with one client_secret_basic
     client whose tokens carry the operator guide's claims; one token for the load, fresh
     ones for the storm;
  4. each server in turn: this server with the guide's api-paste.ini and
     ``external_oauth2_token``, the same with ``auth_strategy = noauth``, real Tacker 16.0.0
     with keystonemiddleware's ``external_oauth2_token`` configured as the guide says, and
     keystonemiddleware around an empty WSGI app under gunicorn with 2 workers; 20 OpenStack
     VIMs registered in each Tacker-like server against an in-process fake Keystone (through
     this server's API; for real Tacker through its own ``create_vim`` in a process of its
     own, as its API fails VIM registration on SQLite, see tacker_seed_vims.py);
  5. wrk on ``GET /v1.0/vims`` at 16 and 64 connections, each after a warm-up; this server's
     two configurations run at once and take turns (five runs each, ``--rounds`` to change,
     alternating with the order reversed every round, the median kept; auth/noauth is the
     median of the rounds' ratios), so that drifting load on the machine falls on both alike;
  6. peak RSS (VmHWM summed over the server's process group), start-up to the first 200 of
     ``GET /v1.0/vims``, and for this server with auth a cold-token storm;
  7. one markdown table plus the issue's target ratios, printed and written to
     ``bench/results/<UTC date>-<cores>cores.md``.

``--callgrind`` instead counts instructions of a fixed request mix under valgrind, with auth and
with noauth (docs/profiling.md).
"""

import argparse
import asyncio
import base64
import datetime
import http.client
import http.server
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
GUIDE_PASTE = os.path.join(ROOT, 'etc', 'api-paste-external-oauth2.ini')

REALM = 'benchrealm'
CLIENT_ID = 'tacker_bench'
# A throw-away secret for a realm that lives as long as one run.
CLIENT_SECRET = 'tacker_bench-secret-' + base64.b32encode(os.urandom(15)).decode().lower()
# The project and user of the operator guide's log samples (the realm's token claims).
PROJECT_ID = '2e189ea6c1df4e4ba6d89de254b3a534'
USER_ID = '173c59254d3040969e359e5df0a3b475'
VIM_COUNT = 20
MIB = 1024 * 1024


def log(msg):
    print(f'[bench {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A child in a process group of its own, logging to a file, stopped by its group id."""

    live = []

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self.started = time.monotonic()
        with open(log_path, 'ab') as out:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        Proc.live.append(self)

    def running(self):
        return self.popen.poll() is None

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return ''

    def pids(self):
        """Every live process of the group (gunicorn / Tacker workers included)."""
        found = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open(f'/proc/{entry}/stat') as f:
                    stat = f.read()
            except OSError:
                continue
            # pgrp is the 3rd field after the parenthesised command name.
            fields = stat[stat.rindex(')') + 2:].split()
            if int(fields[2]) == self.pid:
                found.append(int(entry))
        return found

    def peak_rss(self):
        """Sum of VmHWM (peak resident set) over the group's processes, in bytes."""
        total = 0
        for pid in self.pids():
            try:
                with open(f'/proc/{pid}/status') as f:
                    for line in f:
                        if line.startswith('VmHWM:'):
                            total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def stop(self, grace=10.0):
        if self in Proc.live:
            Proc.live.remove(self)
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        # Workers of the group that outlived their parent.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def stop_all():
    for proc in list(Proc.live):
        proc.stop(grace=5.0)


def run(argv, **kw):
    log('$ ' + ' '.join(argv))
    subprocess.run(argv, check=True, **kw)


# ---------------------------------------------------------------------------------------------
# HTTP helpers (standard library only: the script runs on the system Python)


def http_call(port, method, path, token=None, body=None, timeout=30):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        headers = {'Accept': 'application/json'}
        if token:
            headers['Authorization'] = f'Bearer {token}'
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_first_200(proc, port, path, token, deadline):
    """Seconds from the spawn of `proc` to the first 200 of GET `path`, polled every 5 ms."""
    until = time.monotonic() + deadline
    last = None
    while time.monotonic() < until:
        if not proc.running():
            raise RuntimeError(f'{proc.name} exited before answering; its log:\n{proc.log_tail()}')
        try:
            status, body = http_call(port, 'GET', path, token, timeout=deadline)
            if status == 200:
                return time.monotonic() - proc.started
            last = f'{status} {body[:200]!r}'
        except OSError as err:
            last = repr(err)
        time.sleep(0.005)
    raise RuntimeError(f'{proc.name} gave no 200 on {path} within {deadline} s '
                       f'(last: {last}); its log:\n{proc.log_tail()}')


# ---------------------------------------------------------------------------------------------
# PKI and the authorization server


def make_pki(directory):
    """A CA and a server certificate for 127.0.0.1 (ECDSA P-256), as PEM files."""
    ca_key, ca = os.path.join(directory, 'ca.key'), os.path.join(directory, 'ca.pem')
    key, csr = os.path.join(directory, 'server.key'), os.path.join(directory, 'server.csr')
    cert, ext = os.path.join(directory, 'server.pem'), os.path.join(directory, 'server.ext')
    quiet = {'stdout': subprocess.DEVNULL, 'stderr': subprocess.DEVNULL}
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca_key, '-out', ca,
                    '-days', '2', '-subj', '/CN=Tacker Bench CA',
                    '-addext', 'basicConstraints=critical,CA:TRUE',
                    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], check=True, **quiet)
    subprocess.run(['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                    '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'],
                   check=True, **quiet)
    with open(ext, 'w') as f:
        f.write('basicConstraints=critical,CA:FALSE\n'
                'keyUsage=critical,digitalSignature\n'
                'extendedKeyUsage=serverAuth\n'
                'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    subprocess.run(['openssl', 'x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca_key,
                    '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', ext],
                   check=True, **quiet)
    return {'ca': ca, 'cert': cert, 'key': key}


class Authz:
    """tests/peers/authz/server.js with one client_secret_basic client (the guide's claims)."""

    def __init__(self, work, pki):
        self.pki = pki
        self.ssl = ssl.create_default_context(cafile=pki['ca'])
        config = {
            'realm': REALM,
            'host': '127.0.0.1',
            'https_port': 0,
            'http_port': None,
            'tls': {'cert': pki['cert'], 'key': pki['key'], 'ca': pki['ca']},
            'state_file': os.path.join(work, 'authz-store.json'),
            # Long enough for the slowest server's turn: no token expires during a run.
            'access_token_ttl': 7200,
            'clients': [{
                'client_id': CLIENT_ID,
                'auth_method': 'client_secret_basic',
                'client_secret': CLIENT_SECRET,
                'claims': {
                    'project': {'domain': {'name': 'Default', 'id': 'default'},
                                'name': 'nfv', 'id': PROJECT_ID},
                    'user': {'domain': {'name': 'Default', 'id': 'default'},
                             'roles': 'admin', 'name': 'nfv_user', 'id': USER_ID},
                },
            }],
        }
        config_path = os.path.join(work, 'authz.json')
        with open(config_path, 'w') as f:
            json.dump(config, f)
        peer = os.path.join(ROOT, 'tests', 'peers', 'authz')
        self.proc = Proc('authorization server', ['node', 'server.js', config_path],
                         os.path.join(work, 'authz.log'), cwd=peer)
        until = time.monotonic() + 60
        line = None
        while time.monotonic() < until and line is None:
            if not self.proc.running():
                raise RuntimeError(f'authorization server exited; its log:\n{self.proc.log_tail()}')
            with open(self.proc.log_path, errors='replace') as f:
                line = next((ln for ln in f if ln.startswith('READY ')), None)
            time.sleep(0.05)
        if line is None:
            raise RuntimeError(f'authorization server not ready; its log:\n{self.proc.log_tail()}')
        self.port = int(re.search(r'https=(\d+)', line).group(1))
        self.issuer = f'https://127.0.0.1:{self.port}/realms/{REALM}'
        self.token_endpoint = f'{self.issuer}/protocol/openid-connect/token'
        self.introspect_endpoint = f'{self.issuer}/protocol/openid-connect/token/introspect'
        self._conn = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPSConnection('127.0.0.1', self.port,
                                                         context=self.ssl, timeout=30)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                resp = self._conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise AssertionError('unreachable')

    def token(self):
        basic = base64.b64encode(f'{CLIENT_ID}:{CLIENT_SECRET}'.encode()).decode()
        status, body = self._request(
            'POST', urllib.parse.urlsplit(self.token_endpoint).path,
            body='grant_type=client_credentials&scope=openstack',
            headers={'Authorization': f'Basic {basic}',
                     'Content-Type': 'application/x-www-form-urlencoded'})
        if status != 200:
            raise RuntimeError(f'token request: {status} {body[:300]!r}')
        return json.loads(body)['access_token']

    def stats(self):
        status, body = self._request('GET', '/__test/stats')
        if status != 200:
            raise RuntimeError(f'authorization server stats: {status}')
        return json.loads(body)

    def ext_oauth2_section(self):
        """The guide's client_secret_basic sample against this realm (no mTLS: the load
        generator presents no client certificate, so thumbprint_verify stays off)."""
        return (
            '[ext_oauth2_auth]\n'
            'use_ext_oauth2_auth=True\n'
            f'token_endpoint={self.token_endpoint}\n'
            'scope=openstack\n'
            f'introspect_endpoint={self.introspect_endpoint}\n'
            f'audience={self.issuer}\n'
            'auth_method=client_secret_basic\n'
            f'client_id={CLIENT_ID}\n'
            f'client_secret={CLIENT_SECRET}\n'
            f'cafile={self.pki["ca"]}\n'
            'insecure=False\n'
            'thumbprint_verify=False\n'
            'mapping_project_id=project.id\n'
            'mapping_project_name=project.name\n'
            'mapping_project_domain_id=project.domain.id\n'
            'mapping_project_domain_name=project.domain.name\n'
            'mapping_user_id=user.id\n'
            'mapping_user_name=user.name\n'
            'mapping_user_domain_id=user.domain.id\n'
            'mapping_user_domain_name=user.domain.name\n'
            'mapping_roles=user.roles\n'
        )


# ---------------------------------------------------------------------------------------------
# A fake Keystone for VIM registration


class FakeKeystone:
    """What both servers' OpenStack VIM drivers call on `auth_url` (`<base>/identity`): the
    unauthenticated v3 version document, a password token (201 + X-Subject-Token), the region
    list. Anything else is a 404, logged so that a missing call shows."""

    def __init__(self):
        keystone = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, fmt, *args):
                pass

            def _send(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                if path in ('/identity/v3', '/identity/v3/'):
                    self._send(200, {'version': {
                        'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
                        'links': [{'rel': 'self', 'href': f'{keystone.url}/v3/'}],
                        'media-types': [{'base': 'application/json',
                                         'type': 'application/vnd.openstack.identity-v3+json'}]}})
                elif path == '/identity/v3/regions':
                    self._send(200, {'regions': [{'id': 'RegionOne', 'description': ''}]})
                else:
                    log(f'fake Keystone: unexpected GET {self.path}')
                    self._send(404, {'error': {'code': 404, 'title': 'Not Found',
                                               'message': self.path}})

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                self.rfile.read(length)
                path = urllib.parse.urlsplit(self.path).path
                if path == '/identity/v3/auth/tokens':
                    domain = {'id': 'default', 'name': 'Default'}
                    self._send(201, {'token': {
                        'methods': ['password'], 'expires_at': '2099-01-01T00:00:00.000000Z',
                        'issued_at': '2026-01-01T00:00:00.000000Z', 'catalog': [], 'roles': [],
                        'user': {'id': 'u1', 'name': 'nfv_user', 'domain': domain},
                        'project': {'id': 'p1', 'name': 'nfv', 'domain': domain}}},
                        headers=[('X-Subject-Token', 'fake-keystone-token')])
                else:
                    log(f'fake Keystone: unexpected POST {self.path}')
                    self._send(404, {'error': {'code': 404, 'title': 'Not Found',
                                               'message': self.path}})

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/identity'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def vim_body(i, keystone):
    return {'vim': {
        'tenant_id': PROJECT_ID,
        'name': f'bench-vim-{i:02d}',
        'description': f'benchmark VIM {i}',
        'type': 'openstack',
        'auth_url': keystone.url,
        'auth_cred': {'username': 'nfv_user', 'password': f'bench-password-{i:02d}',
                      'user_domain_name': 'Default', 'cert_verify': 'False'},
        'vim_project': {'name': 'nfv', 'project_domain_name': 'Default'},
        'is_default': i == 0,
    }}


def seed_vims(name, port, token, keystone):
    for i in range(VIM_COUNT):
        status, body = http_call(port, 'POST', '/v1.0/vims', token, vim_body(i, keystone),
                                 timeout=120)
        if status != 201:
            raise RuntimeError(f'{name}: POST /v1.0/vims answered {status}: {body[:500]!r}')
    check_listing(name, port, token)


def check_listing(name, port, token):
    status, body = http_call(port, 'GET', '/v1.0/vims', token, timeout=120)
    if status != 200:
        raise RuntimeError(f'{name}: GET /v1.0/vims answered {status}: {body[:500]!r}')
    count = len(json.loads(body)['vims'])
    if count != VIM_COUNT:
        raise RuntimeError(f'{name}: GET /v1.0/vims lists {count} VIMs, not {VIM_COUNT}')
    return len(body)


# ---------------------------------------------------------------------------------------------
# The servers


class ThisServer:
    """tacker-server with SQLite and the guide's api-paste.ini."""

    def __init__(self, work, binary, authz, auth, name, state_dir=None, metrics=True):
        self.name = name
        self.binary = binary
        self.dir = os.path.join(work, name.replace(' ', '-').replace(',', ''))
        os.makedirs(self.dir, exist_ok=True)
        if state_dir is None:
            keys = os.path.join(self.dir, 'vim_keys')
            db = os.path.join(self.dir, 'tacker.db')
        else:
            keys = os.path.join(state_dir, 'vim_keys')
            db = os.path.join(state_dir, 'tacker.db')
        self.state_dir = os.path.dirname(db)
        self.port = free_port()
        self.metrics_port = free_port() if metrics else None
        lines = [
            '[DEFAULT]',
            'bind_host = 127.0.0.1',
            f'bind_port = {self.port}',
            f'auth_strategy = {"keystone" if auth else "noauth"}',
            f'api_paste_config = {GUIDE_PASTE}',
            'debug = False',
            '[database]',
            f'connection = sqlite:///{db}',
            '[vim_keys]',
            f'openstack = {keys}',
            'use_barbican = False',
            '[k8s_vim]',
            'use_barbican = False',
        ]
        if self.metrics_port:
            lines += ['[metrics]', 'bind_host = 127.0.0.1', f'bind_port = {self.metrics_port}']
        text = '\n'.join(lines) + '\n'
        if auth:
            text += authz.ext_oauth2_section()
        self.conf = os.path.join(self.dir, 'tacker.conf')
        with open(self.conf, 'w') as f:
            f.write(text)
        self.proc = None

    def argv(self):
        return [self.binary, '--config-file', self.conf]

    def start(self):
        env = dict(os.environ, NO_COLOR='1')
        env.pop('RUST_LOG', None)
        self.proc = Proc(self.name, self.argv(), os.path.join(self.dir, 'server.log'),
                         env=env, cwd=self.dir)
        return self.proc

    def introspections_metric(self):
        """Sum of tacker_introspection_requests_total over its outcomes."""
        conn = http.client.HTTPConnection('127.0.0.1', self.metrics_port, timeout=10)
        try:
            conn.request('GET', '/metrics')
            text = conn.getresponse().read().decode()
        finally:
            conn.close()
        total = 0.0
        for line in text.splitlines():
            if line.startswith('tacker_introspection_requests_total'):
                total += float(line.rsplit(' ', 1)[1])
        return total


def python_tacker_conf(directory, port, db, keys, authz):
    return (
        '[DEFAULT]\n'
        'auth_strategy = keystone\n'
        'bind_host = 127.0.0.1\n'
        f'bind_port = {port}\n'
        f'api_paste_config = {GUIDE_PASTE}\n'
        # One API worker per core, as the keystonemiddleware reference gets 2 gunicorn workers.
        'api_workers = 2\n'
        f'state_path = {directory}\n'
        'debug = False\n'
        '[database]\n'
        f'connection = sqlite:///{db}\n'
        '[vim_keys]\n'
        f'openstack = {keys}\n'
        'use_barbican = False\n'
        '[glance_store]\n'
        f'filesystem_store_datadir = {directory}/images\n'
        '[vnf_package]\n'
        f'vnf_package_csar_path = {directory}/csar\n'
        '[oslo_concurrency]\n'
        f'lock_path = {directory}/lock\n'
        + authz.ext_oauth2_section()
    )


class PythonTacker:
    """Real Tacker 16.0.0 from .venv/tacker, keystone strategy with the guide's paste file."""

    name = 'real Tacker 16.0.0 + keystonemiddleware'

    def __init__(self, work, authz):
        self.venv = os.path.join(ROOT, '.venv', 'tacker')
        self.dir = os.path.join(work, 'python-tacker')
        os.makedirs(self.dir, exist_ok=True)
        keys = os.path.join(self.dir, 'vim_keys')
        os.makedirs(keys, mode=0o700, exist_ok=True)
        self.db = os.path.join(self.dir, 'tacker.db')
        self.port = free_port()
        self.conf = os.path.join(self.dir, 'tacker.conf')
        with open(self.conf, 'w') as f:
            f.write(python_tacker_conf(self.dir, self.port, self.db, keys, authz))
        self.proc = None

    def create_schema(self):
        """Tacker's tables on SQLite as `tacker-db-manage upgrade head` defines them."""
        run([os.path.join(self.venv, 'bin', 'python'),
             os.path.join(BENCH, 'tacker_sqlite_schema.py'), self.conf],
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'),
            stdout=open(os.path.join(self.dir, 'schema.log'), 'ab'), stderr=subprocess.STDOUT)

    def seed_vims(self, keystone):
        """The benchmark's VIMs through Tacker's own `create_vim` (see tacker_seed_vims.py)."""
        bodies = os.path.join(self.dir, 'vims.json')
        with open(bodies, 'w') as f:
            json.dump([vim_body(i, keystone) for i in range(VIM_COUNT)], f)
        run([os.path.join(self.venv, 'bin', 'python'),
             os.path.join(BENCH, 'tacker_seed_vims.py'), self.conf, bodies],
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'),
            stdout=open(os.path.join(self.dir, 'seed.log'), 'ab'), stderr=subprocess.STDOUT)

    def start(self):
        self.proc = Proc(self.name, [os.path.join(self.venv, 'bin', 'tacker-server'),
                                     '--config-file', self.conf],
                         os.path.join(self.dir, 'tacker.log'),
                         env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'), cwd=self.dir)
        return self.proc


class KmwEmpty:
    """keystonemiddleware 13.0.1 external_oauth2_token around an empty app, gunicorn, 2 workers."""

    name = 'keystonemiddleware alone, empty WSGI app, 2 gunicorn workers'

    def __init__(self, work, authz):
        self.dir = os.path.join(work, 'kmw')
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, 'tacker.conf')
        with open(self.conf, 'w') as f:
            f.write(authz.ext_oauth2_section())
        self.proc = None

    def start(self):
        gunicorn = os.path.join(ROOT, '.venv', 'kmw', 'bin', 'gunicorn')
        argv = [gunicorn, '--no-control-socket', '--workers', '2',
                '--bind', f'127.0.0.1:{self.port}', '--chdir', BENCH,
                '--timeout', '120', '--graceful-timeout', '2',
                'kmw_empty_app:application']
        env = dict(os.environ, KMW_CONFIG_FILE=self.conf, PYTHONDONTWRITEBYTECODE='1')
        self.proc = Proc(self.name, argv, os.path.join(self.dir, 'kmw.log'), env=env)
        return self.proc


# ---------------------------------------------------------------------------------------------
# Load and storm


def wrk(port, path, token, connections, seconds):
    argv = ['wrk', '-t2', f'-c{connections}', f'-d{seconds}s', '--timeout', '30s',
            '-s', os.path.join(BENCH, 'wrk-report.lua'),
            '-H', f'Authorization: Bearer {token}',
            f'http://127.0.0.1:{port}{path}']
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith('BENCH_RESULT ')), None)
    if line is None:
        raise RuntimeError(f'wrk printed no result:\n{out}')
    values = {k: int(v) for k, v in (kv.split('=') for kv in line.split()[1:])}
    values['rps'] = values['requests'] / (values['duration_us'] / 1e6)
    values['errors'] = sum(values[k] for k in ('status_errors', 'connect_errors', 'read_errors',
                                               'write_errors', 'timeouts'))
    return values


def load(name, port, path, token, args):
    """One server alone: a warm-up and one measured run at each connection count."""
    return interleaved_load([('one', name, port)], path, token, args, rounds=1)['one']


PERF_DATA = os.path.join(BENCH, 'results', 'perf.data')
PERF_REPORT = os.path.join(BENCH, 'results', 'perf-report.txt')


def start_perf(pid, seconds):
    """`perf record` of the server process for the measured c16 load (docs/profiling.md)."""
    os.makedirs(os.path.dirname(PERF_DATA), exist_ok=True)
    argv = ['perf', 'record', '-F', '999', '-g', '-o', PERF_DATA, '-p', str(pid),
            '--', 'sleep', str(seconds)]
    log('$ ' + ' '.join(argv))
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_perf(recorder):
    _, err = recorder.communicate(timeout=120)
    if recorder.returncode != 0:
        raise RuntimeError(f'perf record failed: {err.decode(errors="replace")[-2000:]}')
    report = subprocess.run(['perf', 'report', '-i', PERF_DATA, '--no-children',
                             '--percent-limit', '1', '--stdio', '-g', 'none'],
                            capture_output=True, text=True).stdout
    with open(PERF_REPORT, 'w') as f:
        f.write(report)
    log(f'perf: {os.path.relpath(PERF_DATA, ROOT)}, top functions in '
        f'{os.path.relpath(PERF_REPORT, ROOT)}')


async def _storm(port, tokens, per_token):
    """Every request of every token at once: connect all, then send all together."""
    async def one(token, go):
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        await go.wait()
        writer.write((f'GET /v1.0/vims HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
                      f'Authorization: Bearer {token}\r\nAccept: application/json\r\n'
                      'Connection: close\r\n\r\n').encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        status_line = data.split(b'\r\n', 1)[0].split()
        return int(status_line[1]) if len(status_line) > 1 else 0

    go = asyncio.Event()
    tasks = [asyncio.create_task(one(t, go)) for t in tokens for _ in range(per_token)]
    await asyncio.sleep(0.5)
    go.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 300)
    return [r if isinstance(r, int) else 0 for r in results]


def storm(server, authz, tokens, per_token=10):
    before_as = authz.stats()['introspections']
    before_metric = server.introspections_metric()
    started = time.monotonic()
    statuses = asyncio.run(_storm(server.port, tokens, per_token))
    elapsed = time.monotonic() - started
    after_as = authz.stats()['introspections']
    after_metric = server.introspections_metric()
    non_200 = sum(1 for s in statuses if s != 200)
    result = {
        'tokens': len(tokens),
        'requests': len(statuses),
        'non_200': non_200,
        'introspections': after_as - before_as,
        'introspections_metric': after_metric - before_metric,
        'seconds': elapsed,
    }
    log(f'storm: {result}')
    return result


# ---------------------------------------------------------------------------------------------
# Report


def fmt_rps(v):
    return f'{v:,.0f}' if v is not None else 'n/a'


def fmt_ms(us):
    ms = us / 1000
    if ms >= 1000:
        return f'{ms / 1000:.2f} s'
    if ms >= 10:
        return f'{ms:.0f} ms'
    return f'{ms:.2f} ms'


def fmt_mib(b):
    return f'{b / MIB:.0f} MiB'


def fmt_secs(s):
    return f'{s * 1000:.0f} ms' if s < 10 else f'{s:.1f} s'


def loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[0]


def report(results, storm_result, args, cores, load_before):
    rows = ['| server | req/s c16 | req/s c64 | p50/p99 c16 | p50/p99 c64 | peak RSS | '
            'start-up to first 200 |',
            '|---|---:|---:|---:|---:|---:|---:|']
    for key in ('auth', 'noauth', 'tacker', 'kmw'):
        r = results.get(key)
        if r is None:
            continue
        load_ = r['load']
        rss = fmt_mib(r['rss'])
        if key == 'auth' and 'rss_after_storm' in r:
            rss += f' ({fmt_mib(r["rss_after_storm"])} after storm)'
        rows.append(
            f'| {r["name"]} | {fmt_rps(load_[16]["rps"])} | {fmt_rps(load_[64]["rps"])} | '
            f'{fmt_ms(load_[16]["p50_us"])} / {fmt_ms(load_[16]["p99_us"])} | '
            f'{fmt_ms(load_[64]["p50_us"])} / {fmt_ms(load_[64]["p99_us"])} | '
            f'{rss} | {fmt_secs(r["startup"])} |')

    errors = []
    # What is wrong rather than slow: this server answering anything but 200 under load or in
    # the storm, or a token introspected more than once. `--ci` exits non-zero on these only.
    failures = []
    for key, r in results.items():
        for c in (16, 64):
            if r['load'][c]['errors']:
                l_ = r['load'][c]
                error = (f'{r["name"]} c{c}: {l_["status_errors"]} answers >= 400, '
                         f'{l_["connect_errors"]} connect, {l_["read_errors"]} read, '
                         f'{l_["write_errors"]} write errors, {l_["timeouts"]} timeouts')
                errors.append(error)
                if key in ('auth', 'noauth'):
                    failures.append(error)

    def worse_ratio(num, den, what):
        if num not in results or den not in results:
            return None
        return min(what(results[num]['load'][c], results[den]['load'][c]) for c in (16, 64))

    def rps_ratio(a, b):
        return a['rps'] / b['rps']

    def paired_rps_ratio(a, b):
        # auth and noauth ran in the same rounds, one right after the other: the median of
        # the rounds' ratios, so that a slow moment of the machine falls on both of a pair.
        if len(a.get('rates', ())) != len(b.get('rates', ())) or not a.get('rates'):
            return rps_ratio(a, b)
        return statistics.median(x / y for x, y in zip(a['rates'], b['rates']))

    def p99_ratio(a, b):
        return a['p99_us'] / b['p99_us']

    targets = []

    def target(label, value, goal, ok, shown=None, correctness=False):
        if value is None:
            targets.append(f'| {label} | skipped | {goal} | n/a |')
        else:
            met = ok(value)
            targets.append(f'| {label} | {shown or value} | {goal} | '
                           f'{"PASS" if met else "MISS"} |')
            if correctness and not met:
                failures.append(f'{label}: {shown or value}, expected {goal}')

    v = worse_ratio('auth', 'tacker', rps_ratio)
    target('auth throughput / real Tacker (worse of c16, c64)', v, '>= 100x',
           lambda x: x >= 100, v is not None and f'{v:.1f}x')
    v = worse_ratio('auth', 'kmw', rps_ratio)
    target('auth throughput / keystonemiddleware + empty app (worse of c16, c64)', v, '>= 2x',
           lambda x: x >= 2, v is not None and f'{v:.2f}x')
    v = worse_ratio('auth', 'noauth', paired_rps_ratio)
    target('auth / noauth throughput (median of the paired runs\' ratios; worse of c16, c64)',
           v, '>= 0.90',
           lambda x: x >= 0.90, v is not None and f'{v:.2f}')
    v = worse_ratio('tacker', 'auth', p99_ratio)
    target("real Tacker p99 / this server's p99 (worse of c16, c64)", v, '>= 300',
           lambda x: x >= 300, v is not None and f'{v:.0f}')
    peaks = [results[k]['rss'] for k in ('auth', 'noauth') if k in results]
    if 'rss_after_storm' in results.get('auth', {}):
        peaks.append(results['auth']['rss_after_storm'])
    v = max(peaks) if peaks else None
    target('peak RSS of this server, incl. after the storm (largest)', v, '<= 64 MiB',
           lambda x: x <= 64 * MIB, v is not None and fmt_mib(v))
    starts = [results[k]['startup'] for k in ('auth', 'noauth') if k in results]
    v = max(starts) if starts else None
    target('start-up to first 200 of this server (slower of auth, noauth)', v, '<= 100 ms',
           lambda x: x <= 0.100, v is not None and fmt_secs(v))
    if storm_result:
        per = storm_result['introspections'] / storm_result['tokens']
        target(f'storm: introspections per token ({storm_result["tokens"]} fresh tokens x 10 '
               f'concurrent requests, all {storm_result["requests"]} at once, one connection '
               'each)', per, '1.00', lambda x: abs(x - 1.0) < 1e-9,
               f'{per:.2f} ({storm_result["introspections"]} at the authorization server, '
               f'{storm_result["introspections_metric"]:.0f} by the server\'s metric)',
               correctness=True)
        target('storm: non-200 answers', storm_result['non_200'], '0', lambda x: x == 0,
               f'{storm_result["non_200"]} of {storm_result["requests"]}', correctness=True)
    else:
        target('storm', None, '1.00 introspection per token, every answer 200', None)
        if args.ci:
            failures.append('the storm did not run')

    date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    mode = ('CI smoke run (short loads; speed targets reported, not enforced)' if args.ci
            else 'quick (smoke run, not comparable)' if args.quick else 'full')
    lines = [
        f'# Benchmark {date}, {cores} cores, {mode}',
        '',
        f'`GET /v1.0/vims` with {VIM_COUNT} OpenStack VIMs, one cached bearer token, '
        f'wrk -t2 for {args.duration} s after a {args.warmup} s warm-up at 16 and 64 '
        'connections; everything on one machine (wrk shares the cores). This server with auth '
        f'and with noauth run at the same time and take turns: {args.rounds} runs each, '
        'alternating (the order reversed every round), the median kept; auth/noauth is the '
        'median of the rounds\' ratios. Peak RSS: VmHWM summed '
        'over the server\'s processes after the load. Start-up: spawn to the first 200 of '
        '`GET /v1.0/vims` (a seeded database; with auth it includes the first introspection), '
        + (f'the median of {args.starts} starts.' if args.starts > 1 else 'one start.'),
        'Real Tacker: `api_workers = 2` (a parent and two eventlet workers, as many as '
        'cores), SQLite. keystonemiddleware alone: gunicorn, 2 sync workers. Both use '
        'keystonemiddleware\'s in-process token cache; this server its own.',
        f'1-minute load average of the machine before / after the run: {load_before} / '
        f'{loadavg()} (other work on the machine lowers the absolute numbers).',
        '',
    ] + rows + ['']
    if errors:
        lines += ['Errors during the load:', ''] + [f'- {e}' for e in errors] + ['']
    lines += ['| target (issue 11) | measured | target | |', '|---|---:|---:|---|'] + targets
    return '\n'.join(lines) + '\n', failures


# ---------------------------------------------------------------------------------------------
# Steps


def build(args):
    if args.binary:
        binary = os.path.abspath(args.binary)
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f'--binary {args.binary}: not an executable file')
        log(f'using {binary} as built (no build)')
        return binary
    # nice: the build shares the machine with whatever else runs there.
    run(['nice', '-n', '10', 'cargo', 'build', '--release', '-p', 'tacker-server'], cwd=ROOT)
    target = os.environ.get('CARGO_TARGET_DIR') or os.path.join(ROOT, 'target')
    binary = os.path.join(ROOT, target, 'release', 'tacker-server')
    if not os.path.isfile(binary):
        raise RuntimeError(f'{binary} not found after the build')
    return binary


def setup(args):
    scripts = ['debian-packages.sh', 'authz.sh']
    if args.only == 'all' and not args.callgrind:
        scripts += ['kmw.sh', 'tacker.sh']
    for script in scripts:
        run(['bash', os.path.join(ROOT, 'scripts', 'setup', script)])


def timed_starts(server, token, deadline, runs):
    """Starts `server` `runs` times, each to its first 200 of GET /v1.0/vims; keeps the last
    running. Returns it and the median start-up (one start on a busy machine is noise)."""
    times = []
    for i in range(runs):
        proc = server.start()
        times.append(wait_first_200(proc, server.port, '/v1.0/vims', token, deadline))
        if i < runs - 1:
            proc.stop()
    log(f'{server.name}: first 200 after ' + ', '.join(fmt_secs(t) for t in times))
    return proc, sorted(times)[len(times) // 2]


def bench_this(work, binary, authz, keystone, token, storm_tokens, args, results):
    seeded = None
    running = []
    for auth in (True, False):
        key = 'auth' if auth else 'noauth'
        name = 'this server, auth' if auth else 'this server, noauth'
        server = ThisServer(work, binary, authz, auth, name, state_dir=seeded)
        if seeded is None:
            # First run: register the VIMs, then measure start-up on the seeded database.
            proc = server.start()
            wait_first_200(proc, server.port, '/v1.0/vims', token, 60)
            seed_vims(name, server.port, token, keystone)
            proc.stop()
            seeded = server.state_dir
        proc, startup = timed_starts(server, token, 60, args.starts)
        size = check_listing(name, server.port, token)
        log(f'{name}: list body {size} bytes')
        results[key] = {'name': name, 'startup': startup}
        running.append((key, server, proc))
    # Both servers run at once and take turns under load, so that whatever else the shared
    # machine does falls on both alike.
    profile_pid = next(p.pid for k, _, p in running if k == 'auth') if args.perf else None
    loads = interleaved_load([(k, s.name, s.port) for k, s, _ in running], '/v1.0/vims',
                             token, args, profile_pid)
    for key, server, proc in running:
        results[key]['load'] = loads[key]
        results[key]['rss'] = proc.peak_rss()
    for key, server, proc in running:
        if key == 'auth':
            results['storm'] = storm(server, authz, storm_tokens)
            results[key]['rss_after_storm'] = proc.peak_rss()
        proc.stop()


def interleaved_load(targets, path, token, args, profile_pid=None, rounds=None):
    """For each connection count: a warm-up of each target, then `rounds` (default
    `args.rounds`) measured runs of each, taking turns, the order reversed every round
    (A B, B A, A B ...) so that neither always runs first. Per target, the run with the median
    rate is kept (its latencies with it), and every run's rate in `rates` (in round order, so
    that runs of one round can be paired). `targets`: (key, name, port)."""
    rounds = args.rounds if rounds is None else rounds
    result = {key: {} for key, _, _ in targets}
    for connections in (16, 64):
        for _, _, port in targets:
            wrk(port, path, token, connections, args.warmup)
        runs = {key: [] for key, _, _ in targets}
        for i in range(rounds):
            for key, name, port in (targets if i % 2 == 0 else targets[::-1]):
                recorder = None
                if profile_pid and key == 'auth' and connections == 16 and i == 0:
                    recorder = start_perf(profile_pid, args.duration)
                runs[key].append(wrk(port, path, token, connections, args.duration))
                if recorder:
                    finish_perf(recorder)
        for key, name, _ in targets:
            ordered = sorted(runs[key], key=lambda r: r['rps'])
            r = ordered[len(ordered) // 2]
            r['rates'] = [x['rps'] for x in runs[key]]
            r['errors'] = sum(x['errors'] for x in runs[key])
            for field in ('status_errors', 'connect_errors', 'read_errors', 'write_errors',
                          'timeouts'):
                r[field] = sum(x[field] for x in runs[key])
            log(f'{name}: c{connections} ' +
                ', '.join(f'{x["rps"]:.0f}' for x in runs[key]) +
                f' req/s; median {r["rps"]:.0f} req/s, p50 {r["p50_us"] / 1000:.2f} ms, '
                f'p99 {r["p99_us"] / 1000:.2f} ms, errors {r["errors"]}')
            result[key][connections] = r
    return result


def bench_python(work, authz, keystone, token, args, results):
    tacker = PythonTacker(work, authz)
    tacker.create_schema()
    tacker.seed_vims(keystone)
    proc, startup = timed_starts(tacker, token, 300, args.starts)
    size = check_listing(tacker.name, tacker.port, token)
    log(f'{tacker.name}: list body {size} bytes')
    r = {'name': tacker.name, 'startup': startup}
    r['load'] = load(tacker.name, tacker.port, '/v1.0/vims', token, args)
    r['rss'] = proc.peak_rss()
    proc.stop()
    results['tacker'] = r

    kmw = KmwEmpty(work, authz)
    proc, startup = timed_starts(kmw, token, 120, args.starts)
    r = {'name': kmw.name, 'startup': startup}
    r['load'] = load(kmw.name, kmw.port, '/v1.0/vims', token, args)
    r['rss'] = proc.peak_rss()
    proc.stop()
    results['kmw'] = r


def callgrind(work, binary, authz, keystone, token, args):
    """Instructions (Ir) of a fixed request mix, counted by callgrind between two dumps, on
    this server with auth and then with noauth (same seeded database, same mix)."""
    if not shutil.which('valgrind') or not shutil.which('callgrind_control'):
        raise RuntimeError('valgrind is not installed (Debian: apt-get install valgrind)')
    seeder = ThisServer(work, binary, authz, True, 'seed', metrics=False)
    proc = seeder.start()
    wait_first_200(proc, seeder.port, '/v1.0/vims', token, 60)
    seed_vims(seeder.name, seeder.port, token, keystone)
    status, body = http_call(seeder.port, 'GET', '/v1.0/vims', token)
    vim_id = json.loads(body)['vims'][0]['id']
    proc.stop()
    # The mix: the list (the benchmark's request), one VIM, the root document.
    mix = [('/v1.0/vims', 8), (f'/v1.0/vims/{vim_id}', 1), ('/', 1)]
    counted = {}
    for auth in (True, False):
        key = 'auth' if auth else 'noauth'
        # Metrics on, as in the load runs.
        server = ThisServer(work, binary, authz, auth, f'callgrind {key}',
                            state_dir=seeder.state_dir)
        counted[key] = callgrind_mix(server, binary, token, mix, args, key)
    shown = ', '.join(f'{n}x GET {p.replace(vim_id, "<id>")}' for p, n in mix)
    for key, (total, sent) in counted.items():
        print(f'callgrind {key}: {sent} requests ({shown} per round); '
              f'total Ir {total:,}; Ir per request {total / sent:,.0f}')
    (auth_total, auth_sent), (noauth_total, noauth_sent) = counted['auth'], counted['noauth']
    print(f'callgrind: noauth / auth instructions per request '
          f'{(noauth_total / noauth_sent) / (auth_total / auth_sent):.3f}')


def callgrind_mix(server, binary, token, mix, args, key):
    """Starts `server` under callgrind, sends `mix` (after a warm-up) and returns the Ir count
    of the mix and the number of requests sent."""
    out_file = os.path.join(server.dir, 'callgrind.out')
    server.argv = lambda: ['valgrind', '--tool=callgrind', f'--callgrind-out-file={out_file}',
                           '--dump-instr=no', '--collect-atstart=yes', binary,
                           '--config-file', server.conf]
    proc = server.start()
    wait_first_200(proc, server.port, '/v1.0/vims', token, 300)
    for path, n in mix:  # warm caches (token, connections, allocator) before counting
        http_call(server.port, 'GET', path, token)
    subprocess.run(['callgrind_control', '--zero', str(proc.pid)], check=True,
                   capture_output=True)
    rounds = max(1, args.requests // sum(n for _, n in mix))
    sent = 0
    # One keep-alive connection, as wrk's clients hold theirs (accepting and closing a
    # connection would otherwise be a large part of each request's count).
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=120)
    headers = {'Accept': 'application/json', 'Authorization': f'Bearer {token}'}
    try:
        for _ in range(rounds):
            for path, n in mix:
                for _ in range(n):
                    conn.request('GET', path, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f'GET {path} answered {resp.status} under callgrind')
                    sent += 1
    finally:
        conn.close()
    subprocess.run(['callgrind_control', '--dump=mix', str(proc.pid)], check=True,
                   capture_output=True)
    proc.stop(grace=60)
    dumps = sorted(f for f in os.listdir(server.dir) if f.startswith('callgrind.out'))
    total = None
    for name in dumps:
        with open(os.path.join(server.dir, name)) as f:
            text = f.read()
        # callgrind_control --dump=mix writes `desc: Trigger: dump mix` (the final dump at
        # exit says `Program termination`).
        if re.search(r'^desc: Trigger: .*\bmix$', text, re.M):
            m = re.search(r'^(?:summary|totals): (\d+)', text, re.M)
            total = int(m.group(1))
            if args.keep_profile:
                keep = os.path.join(ROOT, 'bench', 'results', f'callgrind.out.{key}')
                shutil.copy(os.path.join(server.dir, name), keep)
                log(f'kept the profile as {os.path.relpath(keep, ROOT)}')
    if total is None:
        raise RuntimeError(f'no callgrind dump of the mix among {dumps}')
    return total, sent


def main():
    parser = argparse.ArgumentParser(
        prog='scripts/bench',
        description='Benchmark this server against real Tacker 16.0.0 and keystonemiddleware '
                    '(issue 11); prints one markdown table and writes it to bench/results/.')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 2 s loads after 1 s warm-ups, a 20-token storm')
    parser.add_argument('--ci', action='store_true',
                        help='the CI run (scripts/test): short loads, 5 alternating runs of '
                             'auth and noauth, the full 200-token storm, nothing written; exits '
                             'non-zero when this server answers anything but 200 or a storm '
                             'token is introspected twice (speed targets are reported only)')
    parser.add_argument('--binary',
                        help='benchmark this tacker-server binary instead of building one '
                             '(a release build of this tree)')
    parser.add_argument('--only', choices=['all', 'this'], default='all',
                        help='"this": skip the Python servers (real Tacker, keystonemiddleware)')
    parser.add_argument('--callgrind', action='store_true',
                        help='instead: count instructions of a fixed request mix under '
                             'valgrind --tool=callgrind (see docs/profiling.md)')
    parser.add_argument('--perf', action='store_true',
                        help='also record a CPU profile (perf record -g) of this server with '
                             'auth during its c16 load: bench/results/perf.data and '
                             'perf-report.txt (git-ignored; see docs/profiling.md)')
    parser.add_argument('--requests', type=int, default=200,
                        help='--callgrind: requests in the counted mix (default 200)')
    parser.add_argument('--keep-profile', action='store_true',
                        help='--callgrind: keep the dumps as bench/results/callgrind.out.{auth,noauth} '
                             '(for callgrind_annotate / kcachegrind; git-ignored)')
    parser.add_argument('--rounds', type=int,
                        help='measured runs of each of this server\'s two configurations '
                             '(default 5, 1 with --quick)')
    parser.add_argument('--no-write', action='store_true',
                        help='print the table without writing bench/results/')
    args = parser.parse_args()
    args.rounds_given = args.rounds
    if args.ci:
        args.duration, args.warmup, storm_count = 3, 1, 200
        args.starts, args.rounds, args.no_write = 1, 5, True
    else:
        args.duration, args.warmup, storm_count = (2, 1, 20) if args.quick else (10, 3, 200)
        args.starts = 1 if args.quick else 3
        # Measured runs of each of this server's two configurations, taking turns (single
        # runs on a shared 2-core machine vary by 5-10%).
        args.rounds = 1 if args.quick else 5
    if args.rounds_given:
        args.rounds = args.rounds_given

    # The storm holds 10 connections per token open at once.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(130))

    work = tempfile.mkdtemp(prefix='tacker-bench-')
    ok = False
    keystone = None
    try:
        binary = build(args)
        setup(args)
        if not args.callgrind and not shutil.which('wrk'):
            raise RuntimeError('wrk is not installed (scripts/setup/debian-packages.sh)')
        pki = make_pki(work)
        authz = Authz(work, pki)
        keystone = FakeKeystone()
        token = authz.token()
        if args.callgrind:
            callgrind(work, binary, authz, keystone, token, args)
            ok = True
            return
        load_before = loadavg()
        log(f'getting {storm_count} fresh tokens for the storm')
        storm_tokens = [authz.token() for _ in range(storm_count)]
        results = {}
        bench_this(work, binary, authz, keystone, token, storm_tokens, args, results)
        storm_result = results.pop('storm')
        if args.only == 'all':
            bench_python(work, authz, keystone, token, args, results)
        cores = os.cpu_count()
        text, failures = report(results, storm_result, args, cores, load_before)
        print(text)
        if not args.no_write:
            results_dir = os.path.join(BENCH, 'results')
            os.makedirs(results_dir, exist_ok=True)
            day = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')
            suffix = '-quick' if args.quick else ('-this' if args.only == 'this' else '')
            path = os.path.join(results_dir, f'{day}-{cores}cores{suffix}.md')
            with open(path, 'w') as f:
                f.write(text)
            log(f'written to {os.path.relpath(path, ROOT)}')
        ok = True
        if args.ci and failures:
            for failure in failures:
                log(f'FAIL: {failure}')
            sys.exit(1)
    finally:
        stop_all()
        if keystone:
            keystone.close()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f'failed; logs kept in {work}')


if __name__ == '__main__':
    main()
