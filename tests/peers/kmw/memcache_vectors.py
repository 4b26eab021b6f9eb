"""Cache vectors from keystonemiddleware 13.0.1's own code (test-only).

Reads one JSON request on stdin and writes one JSON answer on stdout, so that the Rust tests
(``crates/auth/src/upstream_vectors.rs``) can check their cache keys, value layout and server
choice against the Python implementation, in both directions. Run with the kmw venv's Python.

Request keys (each optional, each a list):

* ``keys``: ``{"token", "strategy", "secret"}``; the memcached key ``_cache.TokenCache`` (no
  strategy) or ``_cache.SecureTokenCache`` derives.
* ``protect``: ``{"token", "strategy", "secret", "data"}``; the bytes ``SecureTokenCache``
  would store for ``data`` (a str, stored UTF-8 encoded), as text.
* ``unprotect``: ``{"token", "strategy", "secret", "value"}``; what ``SecureTokenCache`` reads
  back from ``value`` (text), or null when it treats the value as not cached.
* ``dumps``: any JSON value; ``jsonutils.dumps`` of it, as ``TokenCache.set`` stores it.
* ``servers``: ``{"key", "servers", "dead"}``; the index python-memcached's
  ``Client._get_server`` picks among ``servers`` hosts when the hosts at the ``dead`` indexes
  are dead, or null.
"""

import json
import logging
import sys

import memcache
from keystonemiddleware.auth_token import _cache
from oslo_serialization import jsonutils

LOG = logging.getLogger('memcache_vectors')


def _cache_for(spec):
    if spec.get('strategy') is None:
        return _cache.TokenCache(LOG)
    return _cache.SecureTokenCache(LOG, spec['strategy'], spec['secret'])


def _key(spec):
    key, _context = _cache_for(spec)._get_cache_key(spec['token'])
    return key


def _protect(spec):
    cache = _cache_for(spec)
    _key, context = cache._get_cache_key(spec['token'])
    return cache._serialize(spec['data'].encode('utf-8'), context).decode('ascii')


def _unprotect(spec):
    cache = _cache_for(spec)
    _key, context = cache._get_cache_key(spec['token'])
    data = cache._deserialize(spec['value'].encode('utf-8'), context)
    return None if data is None else data.decode('utf-8')


def _server(spec):
    dead = set(spec.get('dead', []))
    hosts = ['127.0.0.1:%d' % (20000 + i) for i in range(spec['servers'])]
    client = memcache.Client(hosts)
    # Stand in for the socket: a host "connects" unless it is one of the dead ones.
    for index, host in enumerate(client.servers):
        host.connect = (lambda d: (lambda: 0 if d else 1))(index in dead)
    server, _key = client._get_server(spec['key'].encode('utf-8'))
    return None if server is None else client.servers.index(server)


def main():
    logging.disable(logging.CRITICAL)
    request = json.load(sys.stdin)
    answer = {
        'keys': [_key(s) for s in request.get('keys', [])],
        'protect': [_protect(s) for s in request.get('protect', [])],
        'unprotect': [_unprotect(s) for s in request.get('unprotect', [])],
        'dumps': [jsonutils.dumps(v) for v in request.get('dumps', [])],
        'servers': [_server(s) for s in request.get('servers', [])],
    }
    json.dump(answer, sys.stdout)


if __name__ == '__main__':
    main()
