// A local stand-in for GitHub's OAuth app flow and the REST endpoints a "Sign in with GitHub"
// needs, laid out as GitHub Enterprise Server does under one base URL:
//   GET  /login/oauth/authorize      the user's sign-in and consent page (plain HTML forms)
//   POST /login/oauth/access_token   code -> access token (errors are HTTP 200, as GitHub's)
//   GET  /api/v3/user                the authenticated user
//   GET  /api/v3/user/emails         their addresses (needs the user:email or user scope)
// Driven by tests/support/github_server.py. GitHub is OAuth 2.0 without OpenID Connect: no ID
// token, no discovery, no JWKS; the client learns who signed in only from the REST API, so
// that is what this server must get exactly right. Never a production setup: plain http,
// in-memory state, Node's http module only (no dependency).
//
//   node github.mjs --port 0 --config /tmp/config.json
//   config: {"app": {"client_id", "client_secret", "redirect_uris": [...]},
//            "users": [{"id", "login", "name", "emails": [{email, primary, verified, visibility}]}]}
//
// Once listening it prints one line on stdout, {"base": "http://127.0.0.1:PORT"}, and nothing
// else there (errors go to stderr).
//
// Test controls (bound to 127.0.0.1 like the rest; only tests call them):
//   POST /__test/next {"mode": ..., ...options}  spoils the NEXT matching response only:
//     garbage        HTTP 200 whose body is not JSON (option content_type, default
//                    application/json); error_500: HTTP 500; hang: the real response,
//                    `seconds` late (default 5). These three match the next token request
//                    or API request.
//     bad_credentials  the next API request answers 401 Bad credentials.
//     emails_unverified / no_emails  the next /api/v3/user/emails reports every address
//                    unverified / an empty list.
//     Option `path` (e.g. "/api/v3/user/emails") narrows the match to that path. A request
//     that does not match leaves the mode pending; a new mode replaces a pending one. The real
//     request is handled first (a code is used up, a token issued), then its response spoiled,
//     as when the network fails on the way back.
//   POST /__test/reset  forgets a pending mode.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const DOCS = 'https://docs.github.com';
const TOKEN_ERRORS_DOCS = `${DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors`;
const AUTHORIZE_ERRORS_DOCS = `${DOCS}/apps/managing-oauth-apps/troubleshooting-authorization-request-errors`;
const CODE_LIFETIME_MS = 10 * 60 * 1000; // "Codes expire after 10 minutes" (GitHub's docs)
const TOKEN_PATH = '/login/oauth/access_token';
const API_PREFIX = '/api/v3/';
const EMAILS_PATH = '/api/v3/user/emails';

const MODE_TARGETS = {
  garbage: 'token-or-api',
  error_500: 'token-or-api',
  hang: 'token-or-api',
  bad_credentials: 'api',
  emails_unverified: 'emails',
  no_emails: 'emails',
};

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    config: { type: 'string', default: '{}' },
  },
});
const config = JSON.parse(args.config.trimStart().startsWith('{')
  ? args.config
  : readFileSync(args.config, 'utf8'));
const app = config.app ?? { client_id: '', client_secret: '', redirect_uris: [] };
const users = config.users ?? [];
const usersByLogin = new Map(users.map((user) => [user.login, user]));

const authorizeRequests = new Map(); // request_id -> the validated authorization request
const codes = new Map(); // code -> {user, scopes, redirect_uri, code_challenge, expires}
const tokens = new Map(); // access token -> {user, scopes}
let pendingMode = null;

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error('server_error', error);
    if (!res.headersSent) send(res, { status: 500, type: 'text/plain', body: 'server error\n' });
  });
});
await new Promise((resolve) => { server.listen(Number(args.port), '127.0.0.1', resolve); });
const base = `http://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------------------------------------
// Helpers

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(status, title, body) {
  return {
    status,
    type: 'text/html; charset=utf-8',
    headers: { 'Cache-Control': 'no-store' },
    body: `<!doctype html>\n<html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>\n<body><h1>${htmlEscape(title)}</h1>\n${body}\n</body></html>\n`,
  };
}

function errorPage(status, message) {
  return page(status, 'Error', `<p id="error">${htmlEscape(message)}</p>`);
}

function form(id, action, fields, visible, button) {
  const inputs = Object.entries(fields)
    .map(([name, value]) => {
      const type = visible.includes(name) ? 'text' : 'hidden';
      return `<input type="${type}" name="${htmlEscape(name)}" value="${htmlEscape(value)}">`;
    })
    .join('');
  return `<form id="${id}" method="post" action="${htmlEscape(action)}">${inputs}<button type="submit">${htmlEscape(button)}</button></form>`;
}

function json(status, body, headers = {}) {
  return { status, type: 'application/json; charset=utf-8', headers, body: JSON.stringify(body) };
}

function send(res, { status, type, headers = {}, body }) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function sameSecret(given, expected) {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(String(expected ?? ''));
  return a.length === b.length && timingSafeEqual(a, b);
}

function s256(verifier) {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** GitHub's scope list: space- (or comma-) separated in, unique, comma-joined out. */
function parseScopes(text) {
  return [...new Set(String(text ?? '').split(/[\s,]+/).filter(Boolean))];
}

function hasScope(scopes, wanted) {
  // `user` includes read:user, user:email and user:follow.
  return scopes.includes(wanted) || (wanted.startsWith('user:') || wanted === 'read:user'
    ? scopes.includes('user') : false);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---------------------------------------------------------------------------------------------
// The authorization page (what github.com/login/oauth/authorize shows a signed-out browser)

function authorizePage(status, requestId, request, error) {
  return page(status, 'Authorize application', [
    `<p><code>${htmlEscape(app.client_id)}</code> asks for: <code id="scope">${htmlEscape(request.scopes.join(' ') || '(no scope)')}</code></p>`,
    error ? `<p id="error">${htmlEscape(error)}</p>` : '',
    form('login', '/login/oauth/authorize', { request_id: requestId, authorize: '1', login: '' },
      ['login'], 'Sign in and authorize'),
    form('deny', '/login/oauth/authorize', { request_id: requestId, authorize: '0' }, [], 'Cancel'),
  ].join('\n'));
}

function startAuthorization(url) {
  const q = url.searchParams;
  if (q.get('client_id') !== app.client_id) return errorPage(404, 'Not Found: no application has this client_id');
  const redirectUri = q.get('redirect_uri') ?? app.redirect_uris[0];
  if (!app.redirect_uris.includes(redirectUri)) {
    // GitHub shows a page, never redirects to an unregistered URI.
    return errorPage(400, 'The redirect_uri is not associated with this application.');
  }
  const challenge = q.get('code_challenge');
  const method = q.get('code_challenge_method');
  if (challenge !== null && (method ?? 'S256') !== 'S256') {
    return errorPage(400, 'code_challenge_method must be S256 (plain is not supported).');
  }
  if (challenge === null && method !== null) {
    return errorPage(400, 'code_challenge is required when code_challenge_method is given.');
  }
  if (challenge !== null && !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    return errorPage(400, 'code_challenge must be a 43 character base64url SHA-256 hash.');
  }
  const requestId = randomBytes(16).toString('hex');
  const request = {
    redirect_uri: redirectUri,
    redirect_uri_given: q.has('redirect_uri'),
    scopes: parseScopes(q.get('scope')),
    state: q.get('state'),
    code_challenge: challenge,
  };
  authorizeRequests.set(requestId, request);
  return authorizePage(200, requestId, request);
}

function redirectTo(redirectUri, parameters) {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null && value !== undefined) target.searchParams.set(name, value);
  }
  return { status: 302, type: 'text/html; charset=utf-8', headers: { Location: target.href }, body: '' };
}

function decideAuthorization(fields) {
  const requestId = fields.get('request_id') ?? '';
  const request = authorizeRequests.get(requestId);
  if (!request) return errorPage(400, 'This authorization request is unknown or already used.');
  if (fields.get('authorize') !== '1') {
    authorizeRequests.delete(requestId);
    return redirectTo(request.redirect_uri, {
      error: 'access_denied',
      error_description: 'The user has denied your application access.',
      error_uri: `${AUTHORIZE_ERRORS_DOCS}/#access-denied`,
      state: request.state,
    });
  }
  const user = usersByLogin.get(fields.get('login') ?? '');
  if (!user) return authorizePage(401, requestId, request, 'Incorrect username or password.');
  authorizeRequests.delete(requestId);
  const code = randomBytes(10).toString('hex'); // 20 hex characters, like GitHub's
  codes.set(code, { ...request, user, expires: Date.now() + CODE_LIFETIME_MS });
  return redirectTo(request.redirect_uri, { code, state: request.state });
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

function tokenError(error, description, anchor) {
  return { error, error_description: description, error_uri: `${TOKEN_ERRORS_DOCS}/#${anchor}` };
}

const BAD_CODE = () => tokenError('bad_verification_code', 'The code passed is incorrect or expired.', 'bad-verification-code');

/** RFC 6749 2.3.1 form-encodes Basic credentials; most clients send them raw. Either works. */
function formDecoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** GitHub's parameters come as a form, JSON, or the query string; the client may use Basic. */
async function tokenParameters(req, url) {
  const text = await readBody(req);
  const type = req.headers['content-type'] ?? '';
  const parameters = new Map(url.searchParams);
  const body = type.includes('application/json') && text ? Object.entries(JSON.parse(text))
    : [...new URLSearchParams(text)];
  for (const [name, value] of body) parameters.set(name, String(value));
  const basic = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic && !parameters.has('client_secret')) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      parameters.set('client_id', formDecoded(decoded.slice(0, colon)));
      parameters.set('client_secret', formDecoded(decoded.slice(colon + 1)));
    }
  }
  return parameters;
}

function exchangeCode(p) {
  if (p.get('client_id') !== app.client_id || !sameSecret(p.get('client_secret'), app.client_secret)) {
    return tokenError('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.', 'incorrect-client-credentials');
  }
  const grant = codes.get(p.get('code') ?? '');
  if (!grant) return BAD_CODE();
  codes.delete(p.get('code')); // single use: a failed attempt uses it up too
  if (grant.expires < Date.now()) return BAD_CODE();
  if (p.has('redirect_uri') && p.get('redirect_uri') !== grant.redirect_uri) {
    return tokenError('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.', 'redirect-uri-mismatch2');
  }
  const verifier = p.get('code_verifier');
  if (grant.code_challenge !== null ? !verifier || s256(verifier) !== grant.code_challenge
    : verifier) {
    return BAD_CODE();
  }
  const accessToken = `gho_${randomBytes(27).toString('base64url').replace(/[-_]/g, '0').slice(0, 36)}`;
  tokens.set(accessToken, { user: grant.user, scopes: grant.scopes });
  return { access_token: accessToken, token_type: 'bearer', scope: grant.scopes.join(',') };
}

async function accessToken(req, url) {
  const answer = exchangeCode(await tokenParameters(req, url));
  if ((req.headers.accept ?? '').includes('application/json')) return json(200, answer);
  return {
    status: 200,
    type: 'application/x-www-form-urlencoded; charset=utf-8',
    body: new URLSearchParams(answer).toString(),
  };
}

// ---------------------------------------------------------------------------------------------
// The REST API

function apiError(status, message, documentation) {
  return json(status, { message, documentation_url: documentation, status: String(status) });
}

function publicEmail(user) {
  return (user.emails ?? []).find((entry) => entry.visibility === 'public' && entry.verified)?.email ?? null;
}

function userBody(user) {
  const apiUser = `${base}/api/v3/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
    avatar_url: `${base}/avatars/u/${user.id}`,
    gravatar_id: '',
    url: apiUser,
    html_url: `${base}/${user.login}`,
    type: 'User',
    site_admin: false,
    name: user.name ?? null,
    company: null,
    blog: '',
    location: null,
    email: publicEmail(user),
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2020-01-01T00:00:00Z',
  };
}

function api(req, path, mode) {
  if (!req.headers['user-agent']) {
    // GitHub refuses API requests without a User-Agent.
    return {
      status: 403,
      type: 'text/plain; charset=utf-8',
      body: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.\n',
    };
  }
  const routes = {
    '/api/v3/user': { scope: null, docs: `${DOCS}/rest/users/users#get-the-authenticated-user` },
    [EMAILS_PATH]: { scope: 'user:email', docs: `${DOCS}/rest/users/emails#list-email-addresses-for-the-authenticated-user` },
  };
  const route = routes[path];
  if (!route || req.method !== 'GET') return apiError(404, 'Not Found', `${DOCS}/rest`);
  const header = req.headers.authorization;
  if (!header) return apiError(401, 'Requires authentication', route.docs);
  const match = /^(?:bearer|token)\s+(\S+)$/i.exec(header);
  const grant = match ? tokens.get(match[1]) : undefined;
  if (!grant) return apiError(401, 'Bad credentials', `${DOCS}/rest`);
  const headers = {
    'X-OAuth-Scopes': grant.scopes.join(', '),
    'X-Accepted-OAuth-Scopes': route.scope ?? '',
    'X-GitHub-Media-Type': 'github.v3; format=json',
  };
  if (route.scope && !hasScope(grant.scopes, route.scope)) {
    // GitHub hides what a token may not see: 404, not 403.
    return { ...apiError(404, 'Not Found', route.docs), headers };
  }
  if (path === '/api/v3/user') return json(200, userBody(grant.user), headers);
  let emails = (grant.user.emails ?? []).map(({ email, primary, verified, visibility }) => ({
    email, primary: Boolean(primary), verified: Boolean(verified), visibility: visibility ?? null,
  }));
  if (mode?.mode === 'emails_unverified') emails = emails.map((entry) => ({ ...entry, verified: false }));
  if (mode?.mode === 'no_emails') emails = [];
  return json(200, emails, headers);
}

// ---------------------------------------------------------------------------------------------
// Test controls and dispatch

async function testControl(req, name) {
  if (req.method !== 'POST') return json(405, { error: 'POST only' });
  const text = await readBody(req);
  const body = text ? JSON.parse(text) : {};
  if (name === 'next') {
    const target = MODE_TARGETS[body.mode];
    if (!target) return json(400, { error: `unknown mode ${JSON.stringify(body.mode)}` });
    if (body.path !== undefined && body.path !== TOKEN_PATH && !String(body.path).startsWith(API_PREFIX)) {
      return json(400, { error: `path must be ${TOKEN_PATH} or under ${API_PREFIX}` });
    }
    pendingMode = body;
    return { status: 204, type: 'text/plain', body: '' };
  }
  if (name === 'reset') {
    pendingMode = null;
    return { status: 204, type: 'text/plain', body: '' };
  }
  return json(404, { error: `no test control ${name}` });
}

function takeModeFor(path) {
  const mode = pendingMode;
  if (!mode) return null;
  const isApi = path.startsWith(API_PREFIX);
  const matches = {
    'token-or-api': path === TOKEN_PATH || isApi,
    api: isApi,
    emails: path === EMAILS_PATH,
  }[MODE_TARGETS[mode.mode]] && (mode.path === undefined || mode.path === path);
  if (!matches) return null;
  pendingMode = null;
  return mode;
}

async function spoil(response, mode) {
  if (!mode) return response;
  if (mode.mode === 'garbage') {
    return { status: 200, type: mode.content_type ?? 'application/json', body: '<html><body>this is not JSON</body></html>' };
  }
  if (mode.mode === 'error_500') {
    return { status: 500, type: 'text/html; charset=utf-8', body: '<html><body>500 Internal Server Error (test control)</body></html>' };
  }
  if (mode.mode === 'bad_credentials') return apiError(401, 'Bad credentials', `${DOCS}/rest`);
  if (mode.mode === 'hang') await sleep((mode.seconds ?? 5) * 1000);
  return response;
}

async function route(req, url) {
  const path = url.pathname;
  if (path.startsWith('/__test/')) return testControl(req, path.slice('/__test/'.length));
  if (path === '/login/oauth/authorize' && req.method === 'GET') return startAuthorization(url);
  if (path === '/login/oauth/authorize' && req.method === 'POST') {
    return decideAuthorization(new URLSearchParams(await readBody(req)));
  }
  if (path === TOKEN_PATH && req.method === 'POST') {
    const mode = takeModeFor(path);
    return spoil(await accessToken(req, url), mode);
  }
  if (path.startsWith(API_PREFIX)) {
    const mode = takeModeFor(path);
    await readBody(req);
    return spoil(api(req, path, mode), mode);
  }
  return errorPage(404, 'Not Found');
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  send(res, await route(req, url));
}

process.on('SIGTERM', () => { server.close(); process.exit(0); });
process.stdout.write(`${JSON.stringify({ base })}\n`);
