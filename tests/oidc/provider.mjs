// A real OpenID Provider (panva's oidc-provider) for gql-auth's social sign-in tests, driven by
// tests/support/oidc_provider.py. Never a production setup: plain http, in-memory storage.
//
//   node provider.mjs --port 0 --config '{"clients": [...], "accounts": [...]}'
//   node provider.mjs --port 0 --config /tmp/config.json
//
// Once listening it prints one line on stdout, {"issuer": "http://127.0.0.1:PORT"}, and nothing
// else there (oidc-provider's warnings and errors go to stderr).
//
// Besides the provider itself it serves:
// - /interaction/:uid: login and consent pages made of plain HTML forms (no JavaScript), so
//   that a test can drive them with an HTTP client the way a browser would. The login form
//   selects an account by its `login` name from the config; an unknown name gets a 401 page.
// - /__test/*: test controls (bound to 127.0.0.1 like the rest; only tests call them):
//   POST /__test/next-token {"mode": ..., ...options}  spoils the NEXT token-endpoint response
//   POST /__test/rotate-keys {"retire_previous": bool} signs with a new key from now on
//   POST /__test/reset                                 forgets a pending next-token mode
//
// Key rotation: oidc-provider reads its `jwks` once, at construction, into a private keystore
// and a frozen public JWKS; it cannot rotate while running. So rotation happens at the HTTP
// edge: after /__test/rotate-keys, the ID token of every token response is re-signed with the
// new key (new kid) and GET /jwks publishes the new key first (the previous ones stay listed
// unless retired). The ID token is the only JWT this provider issues (opaque access tokens,
// plain JSON userinfo), so that is everything a client sees.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const TOKEN_MODES = new Set([
  'wrong_aud', 'wrong_nonce', 'wrong_iss', 'expired',
  'foreign_key', 'foreign_kid', 'garbage', 'error_500', 'hang',
]);

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    config: { type: 'string', default: '{}' },
  },
});
const config = JSON.parse(args.config.trimStart().startsWith('{')
  ? args.config
  : readFileSync(args.config, 'utf8'));
const algorithm = config.algorithm ?? 'RS256';
const clients = config.clients ?? [];
// The login name typed on the login page; the claims are what findAccount returns.
const accounts = (config.accounts ?? []).map(({ login, ...claims }) => ({
  login: login ?? claims.preferred_username ?? claims.sub,
  claims,
}));
const accountsByLogin = new Map(accounts.map((account) => [account.login, account]));
const accountsBySub = new Map(accounts.map((account) => [account.claims.sub, account]));

/** A fresh signing key pair: the private JWK for signing, the public one for the JWKS. */
async function newKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair(algorithm, { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateKey,
    privateJwk: { ...(await jose.exportJWK(privateKey)), kid, alg: algorithm, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
  };
}

// The provider's own key (in oidc-provider's keystore), then the ones rotated in.
const initialKey = await newKey();
let signingKey = initialKey;
let publishedKeys = [initialKey];
let pendingMode = null;

const server = createServer();
await new Promise((resolve) => { server.listen(Number(args.port), '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: algorithm,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  jwks: { keys: [initialKey.privateJwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // PKCE with S256 (the only method oidc-provider 9 knows) for every client, confidential too.
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name', 'picture', 'locale'],
  },
  // The ID token carries the claims of the granted scopes (as Google's does), not only sub.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accountsBySub.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ ...account.claims }) };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<pre id="error">${htmlEscape(JSON.stringify(out, null, 2))}</pre>`);
  },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>\n<body><h1>${htmlEscape(title)}</h1>\n${body}\n</body></html>\n`;
}

function form(id, action, fields, button) {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="text" name="${htmlEscape(name)}" value="${htmlEscape(value)}">`)
    .join('');
  return `<form id="${id}" method="post" action="${htmlEscape(action)}">${inputs}<button type="submit">${htmlEscape(button)}</button></form>`;
}

function loginPage(uid, params, error) {
  return page('Sign in', [
    `<p>Client: <code>${htmlEscape(params.client_id)}</code></p>`,
    error ? `<p id="error">${htmlEscape(error)}</p>` : '',
    form('login', `/interaction/${uid}/login`, { login: params.login_hint ?? '' }, 'Sign in'),
    form('abort', `/interaction/${uid}/abort`, {}, 'Cancel'),
  ].join('\n'));
}

function consentPage(uid, params, details) {
  const scopes = details.missingOIDCScope ?? [];
  return page('Authorize', [
    `<p><code>${htmlEscape(params.client_id)}</code> asks for: <code>${htmlEscape(scopes.join(' '))}</code></p>`,
    form('consent', `/interaction/${uid}/confirm`, {}, 'Allow'),
    form('abort', `/interaction/${uid}/abort`, {}, 'Deny'),
  ].join('\n'));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Ends the interaction and sends the browser back to the authorization endpoint. */
async function finish(ctx, result, mergeWithLastSubmission) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission,
  });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

async function grantEverythingAsked(details) {
  const { prompt: { details: missing }, grantId, session, params } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  return grant.save();
}

async function interaction(ctx, uid, action) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction cookie for another interaction');
  const { prompt, params } = details;
  ctx.set('Cache-Control', 'no-store');
  if (ctx.method === 'GET' && action === undefined) {
    ctx.type = 'html';
    if (prompt.name === 'login') ctx.body = loginPage(uid, params);
    else if (prompt.name === 'consent') ctx.body = consentPage(uid, params, prompt.details);
    else ctx.throw(501, `prompt ${prompt.name} is not implemented`);
    return;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  const fields = new URLSearchParams(await readBody(ctx.req));
  if (action === 'login' && prompt.name === 'login') {
    const account = accountsByLogin.get(fields.get('login') ?? '');
    if (!account) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(uid, params, `unknown login: ${fields.get('login') ?? ''}`);
      return;
    }
    await finish(ctx, { login: { accountId: account.claims.sub } }, false);
  } else if (action === 'confirm' && prompt.name === 'consent') {
    await finish(ctx, { consent: { grantId: await grantEverythingAsked(details) } }, true);
  } else if (action === 'abort') {
    await finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  } else {
    ctx.throw(400, `cannot ${action} at the ${prompt.name} prompt`);
  }
}

async function testControl(ctx, name) {
  if (ctx.method !== 'POST') ctx.throw(405);
  const text = await readBody(ctx.req);
  const body = text ? JSON.parse(text) : {};
  if (name === 'next-token') {
    if (!TOKEN_MODES.has(body.mode)) ctx.throw(400, `unknown mode ${JSON.stringify(body.mode)}`);
    pendingMode = body;
    ctx.status = 204;
  } else if (name === 'rotate-keys') {
    signingKey = await newKey();
    publishedKeys = body.retire_previous ? [signingKey] : [signingKey, ...publishedKeys];
    ctx.body = { kid: signingKey.kid };
  } else if (name === 'reset') {
    pendingMode = null;
    ctx.status = 204;
  } else {
    ctx.throw(404);
  }
}

/** The ID token with its claims changed, signed with `key` under the header's own kid unless given. */
async function resign(idToken, key, changes, kid) {
  const header = jose.decodeProtectedHeader(idToken);
  const claims = { ...jose.decodeJwt(idToken), ...changes };
  return new jose.SignJWT(claims)
    .setProtectedHeader({ ...header, kid: kid ?? header.kid })
    .sign(key);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Applies the pending mode (if any) and a key rotation (if any) to a token response. */
async function spoilTokenResponse(ctx, mode) {
  const idToken = ctx.status === 200 && ctx.body && typeof ctx.body === 'object'
    ? ctx.body.id_token : undefined;
  if (idToken && signingKey !== initialKey) {
    ctx.body.id_token = await resign(idToken, signingKey.privateKey, {}, signingKey.kid);
  }
  if (!mode) return;
  const now = Math.floor(Date.now() / 1000);
  const claims = idToken ? jose.decodeJwt(ctx.body.id_token) : {};
  const changes = {
    wrong_aud: () => ({ aud: mode.aud ?? 'another-client' }),
    wrong_nonce: () => ({ nonce: mode.nonce ?? `${claims.nonce ?? ''}-not-the-nonce` }),
    wrong_iss: () => ({ iss: mode.iss ?? `${issuer}/not-the-issuer` }),
    expired: () => {
      const exp = now - (mode.seconds_ago ?? 600);
      return { exp, iat: exp - 3600, ...(claims.auth_time ? { auth_time: exp - 3600 } : {}) };
    },
  }[mode.mode];
  if (changes && idToken) {
    ctx.body.id_token = await resign(ctx.body.id_token, signingKey.privateKey, changes());
  } else if ((mode.mode === 'foreign_key' || mode.mode === 'foreign_kid') && idToken) {
    const stranger = await newKey();
    const kid = mode.mode === 'foreign_kid' ? stranger.kid : undefined;
    ctx.body.id_token = await resign(ctx.body.id_token, stranger.privateKey, {}, kid);
  } else if (mode.mode === 'garbage') {
    ctx.status = 200;
    ctx.type = mode.content_type ?? 'application/json';
    ctx.body = '<html><body>this is not JSON</body></html>';
  } else if (mode.mode === 'error_500') {
    ctx.status = 500;
    ctx.body = { error: 'server_error', error_description: 'test control error_500' };
  } else if (mode.mode === 'hang') {
    await sleep((mode.seconds ?? 5) * 1000);
  }
}

provider.use(async (ctx, next) => {
  const [, first, second, third] = ctx.path.split('/');
  if (first === '__test') {
    await testControl(ctx, second);
  } else if (first === 'interaction' && second) {
    await interaction(ctx, second, third);
  } else if (ctx.path === '/token' && ctx.method === 'POST') {
    const mode = pendingMode; // one-shot: this token request uses it up, whatever its outcome
    pendingMode = null;
    await next();
    await spoilTokenResponse(ctx, mode);
  } else if (ctx.path === '/jwks' && ctx.method === 'GET') {
    await next();
    if (ctx.status === 200) ctx.body = { keys: publishedKeys.map((key) => key.publicJwk) };
  } else {
    await next();
  }
});

server.on('request', provider.callback());
process.on('SIGTERM', () => { server.close(); process.exit(0); });
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
