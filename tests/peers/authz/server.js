// Test-only OAuth 2.0 authorization server shaped like a Keycloak realm, built on oidc-provider
// 8.x. Started by the Rust harness (`tacker-test-support`), never by hand in production.
//
//   node server.js <config.json>
//
// Serves on loopback:
//   POST /realms/<realm>/protocol/openid-connect/token             (client_credentials)
//   POST /realms/<realm>/protocol/openid-connect/token/introspect  (RFC 7662)
//   POST /realms/<realm>/protocol/openid-connect/revoke            (RFC 7009, own tokens)
//   GET  /realms/<realm>/protocol/openid-connect/certs             (JWKS)
// and test-only endpoints under /__test/ (counters, revoking any token by value).
//
// Prints one line `READY https=<port> http=<port|-> issuer=<url>` on stdout once listening;
// exits on SIGTERM / SIGINT.
//
// config.json (written by the harness):
// {
//   "realm": "testrealm", "host": "127.0.0.1",
//   "https_port": 0, "http_port": null,            // 0 = any free port, null = no listener
//   "tls": { "cert": "server.pem", "key": "server.key", "ca": "ca.pem" },
//   "state_file": "store.json",                    // tokens survive a restart (like Keycloak)
//   "access_token_ttl": 300,
//   "clients": [ { "client_id": "...", "auth_method": "client_secret_basic",
//                  "client_secret": "...", "jwks_key_file": "key.pem",
//                  "tls_client_auth_subject_dn": "CN=...", "certificate_bound": false,
//                  "claims": { "project": {...}, "user": {...} } } ]
// }

import { register } from 'node:module';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

// Must run before oidc-provider is loaded (hence the dynamic import below).
register('./numeric-dates-hook.mjs', import.meta.url);
const { default: Provider } = await import('oidc-provider');

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node server.js <config.json>');
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const realm = config.realm ?? 'testrealm';
const host = config.host ?? '127.0.0.1';
const base = `/realms/${realm}/protocol/openid-connect`;
const paths = {
  token: `${base}/token`,
  introspection: `${base}/token/introspect`,
  revocation: `${base}/revoke`,
  jwks: `${base}/certs`,
};

const stats = { introspections: 0, token_requests: 0, revocations: 0 };

// ---------------------------------------------------------------------------------------------
// Storage: oidc-provider's adapter interface over a Map that is written through to
// `state_file`, so a stopped and restarted server still knows the tokens it issued (Keycloak's
// tokens survive a restart too; the "AS back -> 200 again" test depends on it).

const store = new Map();
const stateFile = config.state_file;
if (stateFile && fs.existsSync(stateFile)) {
  for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(stateFile, 'utf8')))) {
    store.set(k, v);
  }
}
const now = () => Math.floor(Date.now() / 1000);
function persist() {
  if (!stateFile) return;
  const tmp = `${stateFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(store)));
  fs.renameSync(tmp, stateFile);
}

class FileAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, expiresAt: expiresIn ? now() + expiresIn : null });
    persist();
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode() {
    return undefined;
  }

  async findByUid() {
    return undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) {
      entry.payload.consumed = now();
      persist();
    }
  }

  async destroy(id) {
    store.delete(this.key(id));
    persist();
  }

  async revokeByGrantId() {}
}

// ---------------------------------------------------------------------------------------------
// Clients: one per client authentication method, as a Keycloak realm would register them.

const clientsById = new Map();
const clients = (config.clients ?? []).map((c) => {
  clientsById.set(c.client_id, c);
  const meta = {
    client_id: c.client_id,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: c.scope ?? 'openstack',
    token_endpoint_auth_method: c.auth_method,
  };
  if (c.client_secret) meta.client_secret = c.client_secret;
  if (c.jwks_key_file) {
    const pub = crypto.createPublicKey(fs.readFileSync(c.jwks_key_file, 'utf8'));
    meta.jwks = { keys: [pub.export({ format: 'jwk' })] };
  }
  if (c.tls_client_auth_subject_dn) meta.tls_client_auth_subject_dn = c.tls_client_auth_subject_dn;
  if (c.certificate_bound) meta.tls_client_certificate_bound_access_tokens = true;
  return meta;
});

// Subject DN of a node X509Certificate in the RFC 4514-ish "CN=a,O=b" form used in config.
function subjectDn(cert) {
  return cert.subject.split('\n').reverse().join(',');
}

function peerCertificate(ctx) {
  const { socket } = ctx.req;
  if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
  return socket.getPeerX509Certificate() ?? undefined;
}

// ---------------------------------------------------------------------------------------------

const https_ = https.createServer({
  cert: fs.readFileSync(config.tls.cert),
  key: fs.readFileSync(config.tls.key),
  ca: fs.readFileSync(config.tls.ca),
  // RFC 8705: ask for a certificate, let oidc-provider decide what an unverified one means.
  requestCert: true,
  rejectUnauthorized: false,
});
const http_ = config.http_port === null || config.http_port === undefined
  ? null
  : http.createServer();

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

const httpsPort = await listen(https_, config.https_port ?? 0);
const httpPort = http_ ? await listen(http_, config.http_port) : null;
const issuer = `https://${host}:${httpsPort}/realms/${realm}`;

const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  adapter: FileAdapter,
  clients,
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  routes: paths,
  scopes: ['openstack'],
  clientAuthMethods: [
    'client_secret_basic',
    'client_secret_post',
    'client_secret_jwt',
    'private_key_jwt',
    'tls_client_auth',
  ],
  enabledJWA: {
    clientAuthSigningAlgValues: [
      'HS256', 'HS384', 'HS512',
      'RS256', 'RS384', 'RS512',
      'PS256', 'PS384', 'PS512',
      'ES256', 'ES384', 'ES512',
    ],
  },
  ttl: { ClientCredentials: config.access_token_ttl ?? 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Keycloak lets any confidential client of the realm introspect any token of the realm.
      allowedPolicy: () => true,
    },
    revocation: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      getCertificate(ctx) {
        return peerCertificate(ctx);
      },
      certificateAuthorized(ctx) {
        return ctx.req.socket.authorized === true;
      },
      certificateSubjectMatches(ctx, property, expected) {
        const cert = peerCertificate(ctx);
        if (!cert) return false;
        if (property === 'tls_client_auth_subject_dn') {
          const norm = (dn) => dn.replace(/\s*,\s*/g, ',');
          return norm(subjectDn(cert)) === norm(expected);
        }
        return false;
      },
    },
  },
  // Keycloak's protocol mappers put the realm's project/user attributes into the token; here
  // they come from the client's `claims`, and introspection returns them (opaque tokens keep
  // them in `extra`).
  async extraTokenClaims(ctx, token) {
    const client = clientsById.get(token.clientId);
    if (!client) return undefined;
    return {
      typ: 'Bearer',
      azp: token.clientId,
      preferred_username: `service-account-${token.clientId}`,
      username: `service-account-${token.clientId}`,
      ...(client.claims ?? {}),
    };
  },
});

provider.on('server_error', (ctx, err) => {
  console.error('server_error', err);
});
for (const event of ['grant.error', 'introspection.error', 'revocation.error']) {
  provider.on(event, (ctx, err) => {
    console.error(event, err.message, err.error_description ?? '');
  });
}

const providerCallback = provider.callback();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function testEndpoint(req, res, pathname) {
  if (pathname === '/__test/stats' && req.method === 'GET') {
    return json(res, 200, stats);
  }
  if (pathname === '/__test/reset' && req.method === 'POST') {
    stats.introspections = 0;
    stats.token_requests = 0;
    stats.revocations = 0;
    return json(res, 200, stats);
  }
  if (pathname === '/__test/revoke' && req.method === 'POST') {
    // Revokes any access token by value, whichever client owns it (the RFC 7009 endpoint only
    // lets the owner revoke).
    const token = new URLSearchParams(await readBody(req)).get('token') ?? '';
    const found = (await provider.ClientCredentials.find(token))
      ?? (await provider.AccessToken.find(token));
    if (!found) return json(res, 404, { revoked: false });
    await found.destroy();
    stats.revocations += 1;
    return json(res, 200, { revoked: true });
  }
  return json(res, 404, { error: 'not_found' });
}

function handler(req, res) {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname.startsWith('/__test/')) {
    testEndpoint(req, res, pathname).catch((err) => json(res, 500, { error: String(err) }));
    return;
  }
  if (req.method === 'POST' && pathname === paths.introspection) stats.introspections += 1;
  if (req.method === 'POST' && pathname === paths.token) stats.token_requests += 1;
  providerCallback(req, res);
}

https_.on('request', handler);
if (http_) http_.on('request', handler);

function shutdown() {
  https_.close();
  if (http_) http_.close();
  https_.closeAllConnections?.();
  if (http_) http_.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

console.log(`READY https=${httpsPort} http=${httpPort ?? '-'} issuer=${issuer}`);
