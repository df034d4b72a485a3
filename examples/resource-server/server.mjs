// A service behind gql-auth that checks gql-auth's access tokens and API keys itself.
//
// GET /me       verifies the token against gql-auth's JWKS only: no call to
//               gql-auth per request, but a token stays valid here until it
//               expires, even after its user logged out. API keys are refused:
//               they are opaque, no JWKS can check them.
// GET /me/live  verifies a token the same way, then asks gql-auth's introspection
//               endpoint whether its session is still live: logout, password
//               changes and deactivation count at once, for one round trip.
//               An API key (`gqa_...`) goes to introspection directly, once its
//               checksum is right; revoking it counts at once too.
// GET /profile  /me/live's check, then authorization by scope: the caller must
//               hold `profile:read` (a key given it, or any signed-in user's token).
//
// Issuer, audience and algorithms are pinned; keys come only from the JWKS
// (createRemoteJWKSet picks them by `kid` and caches them).
import http from "node:http";
import { createRemoteJWKSet, errors, jwtVerify } from "jose";

const settings = {
  gqlAuthUrl: required("GQL_AUTH_URL"), // e.g. http://127.0.0.1:8000
  issuer: process.env.JWT_ISSUER ?? "gql-auth",
  audience: process.env.JWT_AUDIENCE ?? "gql-auth",
  algorithms: (process.env.JWT_ALGORITHMS ?? "ES256,RS256").split(",").map((a) => a.trim()),
  introspectionSecret: process.env.INTROSPECTION_SECRET ?? "",
  host: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
};

// jose's defaults: a JWKS is kept 10 minutes; an unknown kid refetches it at most every 30 s.
const jwks = createRemoteJWKSet(new URL("/.well-known/jwks.json", settings.gqlAuthUrl), {
  cacheMaxAge: Number(process.env.JWKS_CACHE_MAX_AGE_MS ?? 600_000),
  cooldownDuration: Number(process.env.JWKS_COOLDOWN_MS ?? 30_000),
  timeoutDuration: 5_000,
});

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`resource-server: ${name} must be set`);
    process.exit(1);
  }
  return value;
}

class Refused extends Error {}

// Authenticated, but without the scope this route needs: 403 (RFC 6750's insufficient_scope).
class InsufficientScope extends Error {
  constructor(scope) {
    super(`needs the ${scope} scope`);
    this.scope = scope;
  }
}

// gql-auth's API keys: "gqa_", 27 to 64 random base62 characters, then a 6-character
// checksum, the CRC32 of everything before it written in base62. Checked here first, so a
// typo or a forgery never costs a round trip (docs/guides/api-keys.md, "The format").
const API_KEY_PREFIX = "gqa_";
const API_KEY = /^gqa_[0-9A-Za-z]{33,70}$/;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function crc32(text) { // IEEE 802.3, as zlib's
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(body) { // 6 base62 digits, most significant first
  let value = crc32(body);
  let digits = "";
  for (let i = 0; i < 6; i++) {
    digits = BASE62[value % 62] + digits;
    value = Math.floor(value / 62);
  }
  return digits;
}

function isWellFormedKey(key) {
  return API_KEY.test(key) && checksum(key.slice(0, -6)) === key.slice(-6);
}

function bearerToken(request) {
  const [scheme, token, ...rest] = (request.headers.authorization ?? "").split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token || rest.length) throw new Refused();
  return token;
}

// The token's claims if gql-auth signed it for us and it has not expired.
async function verifyWithJwks(token) {
  if (token.startsWith(API_KEY_PREFIX)) throw new Refused(); // opaque: not a JWT
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: settings.algorithms,
      requiredClaims: ["sub", "sid", "exp", "iat"],
    });
    if (payload.type !== "access") throw new Refused();
    return payload;
  } catch (error) {
    // gql-auth unreachable or answering nonsense is our outage, not the caller's fault.
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) throw error;
    if (error instanceof errors.JOSEError || error instanceof Refused) throw new Refused();
    throw error;
  }
}

// gql-auth's own answer: active only while the session (or the API key) is live and the user active.
async function introspect(token) {
  const response = await fetch(new URL("/oauth/introspect", settings.gqlAuthUrl), {
    method: "POST",
    headers: {
      Authorization: `Bearer ${settings.introspectionSecret}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`introspection answered ${response.status}`);
  const answer = await response.json();
  if (answer.active !== true) throw new Refused();
  return answer;
}

// The caller as gql-auth sees it now: introspection's answer for an access token or an API key.
async function liveCaller(token) {
  if (token.startsWith(API_KEY_PREFIX)) {
    if (!isWellFormedKey(token)) throw new Refused();
    const answer = await introspect(token);
    if (answer.token_type !== "api_key") throw new Refused();
    return answer;
  }
  await verifyWithJwks(token); // forgeries and expired tokens never cost a round trip
  const answer = await introspect(token);
  if (answer.token_type !== "access") throw new Refused();
  return answer;
}

// `scope` is space-separated: a key's own scopes, or those of a token's role, as they are now.
function requireScope(answer, scope) {
  if (!(answer.scope ?? "").split(" ").includes(scope)) throw new InsufficientScope(scope);
}

function caller(answer) {
  return { sub: answer.sub, sid: answer.sid, role: answer.role, tokenType: answer.token_type };
}

const routes = {
  "/me": async (token) => {
    const claims = await verifyWithJwks(token);
    return { sub: claims.sub, sid: claims.sid, role: claims.role, checkedBy: "jwks" };
  },
  "/me/live": async (token) => {
    const answer = await liveCaller(token);
    return { ...caller(answer), checkedBy: "introspection" };
  },
  "/profile": async (token) => {
    const answer = await liveCaller(token);
    requireScope(answer, "profile:read");
    return { ...caller(answer), scope: answer.scope, checkedBy: "introspection" };
  },
};

function send(response, status, body, scope) {
  const headers = { "Content-Type": "application/json", "Cache-Control": "no-store" };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer error="invalid_token"';
  if (status === 403) headers["WWW-Authenticate"] = `Bearer error="insufficient_scope", scope="${scope}"`;
  response.writeHead(status, headers).end(JSON.stringify(body));
}

const server = http.createServer(async (request, response) => {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path === "/healthz") return send(response, 200, { status: "ok" });
  const route = routes[path];
  if (!route || request.method !== "GET") return send(response, 404, { error: "not_found" });
  try {
    send(response, 200, await route(bearerToken(request)));
  } catch (error) {
    if (error instanceof Refused) return send(response, 401, { error: "invalid_token" });
    if (error instanceof InsufficientScope) {
      return send(response, 403, { error: "insufficient_scope", scope: error.scope }, error.scope);
    }
    console.error(`resource-server: ${path}: ${error.message}`);
    send(response, 503, { error: "temporarily_unavailable" });
  }
});

server.listen(settings.port, settings.host, () => {
  console.log(`resource-server: listening on http://${settings.host}:${settings.port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
