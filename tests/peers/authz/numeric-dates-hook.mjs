// Module-loader hook for the test authorization server (see server.js).
//
// keystonemiddleware 13.0.1 writes the `iat` and `exp` of its JWT client assertions as JSON
// strings ("iat": "1795967315"). Keycloak (Jackson) coerces them to numbers; oidc-provider
// follows RFC 7519 §2 (NumericDate is a JSON number) and rejects them. To use
// keystonemiddleware as the reference resource server for client_secret_jwt and
// private_key_jwt, this hook rewrites oidc-provider's JWT helper at load time so that decoded
// payloads have digit-string `iat`/`exp`/`nbf` turned into numbers before any check. The
// signature is still verified over the original bytes.
//
// The rewrite is pinned to the code of oidc-provider 8.x (package-lock.json); if a pattern is
// not found the server refuses to start instead of silently running without the hook.

const TARGET = /\/node_modules\/oidc-provider\/lib\/helpers\/jwt\.js$/;

const REWRITES = [
  [
    'payload: JSON.parse(base64url.decode(payload)),',
    'payload: __numericDates(JSON.parse(base64url.decode(payload))),',
  ],
  [
    'const payload = JSON.parse(Buffer.from(verified.payload));',
    'const payload = __numericDates(JSON.parse(Buffer.from(verified.payload)));',
  ],
];

const HELPER = `
function __numericDates(payload) {
  if (payload && typeof payload === 'object') {
    for (const claim of ['iat', 'exp', 'nbf']) {
      const value = payload[claim];
      if (typeof value === 'string' && /^[0-9]+$/.test(value)) {
        payload[claim] = Number(value);
      }
    }
  }
  return payload;
}
`;

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!TARGET.test(url)) {
    return result;
  }
  let source = Buffer.from(result.source).toString('utf8');
  for (const [from, to] of REWRITES) {
    if (!source.includes(from)) {
      throw new Error(`numeric-dates-hook: pattern not found in ${url}: ${from}`);
    }
    source = source.replace(from, to);
  }
  return { ...result, source: `${source}\n${HELPER}`, shortCircuit: true };
}
