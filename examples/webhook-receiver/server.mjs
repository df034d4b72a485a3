// Receives gql-auth's webhooks and keeps a users table in sync with them.
//
// POST /webhooks  one delivery (Standard Webhooks). Verified first, on the bytes as they
//                 arrived: the HMAC-SHA256 of "webhook-id.webhook-timestamp.body" under
//                 WEBHOOK_SECRET, and a timestamp within 5 minutes of now. A forgery, a
//                 changed body, a wrong secret, an old recording sent again: 400, and
//                 nothing changes.
//                 Then once per webhook-id: gql-auth retries a delivery that got no 2xx
//                 (or got it too late) with the same id, so a copy already handled
//                 answers 200 and changes nothing.
//                 user.* events carry the whole user as it was after the change: a row
//                 is replaced only by an event that happened no earlier than the one it
//                 reflects, so events arriving out of order never undo newer data.
//                 Every other type (session.*, organization.*, member.*, and types
//                 added later) is accepted and ignored.
// GET /users      the synced rows, sorted by id
// GET /events     what came in: counters and the last deliveries (for tests and demos)
// GET /healthz
//
// Everything lives in memory: a restart forgets the rows and the ids seen. A real service
// keeps both in its database and records the id in the same transaction as the change.
import http from "node:http";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const settings = {
  secret: required("WEBHOOK_SECRET"), // "whsec_...", shown once by createWebhookEndpoint
  host: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 4100),
  failFirst: Number(process.env.FAIL_FIRST ?? 0), // answer 503 to this many deliveries first
};
const MAX_BODY_BYTES = 1024 * 1024;
const LOGGED_DELIVERIES = 200;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`webhook-receiver: ${name} must be set`);
    process.exit(1);
  }
  return value;
}

let webhook;
try {
  webhook = new Webhook(settings.secret);
} catch (error) {
  console.error(`webhook-receiver: WEBHOOK_SECRET is not a signing secret: ${error.message}`);
  process.exit(1);
}

const USER_EVENTS = new Set([
  "user.created",
  "user.updated",
  "user.role_changed",
  "user.activated",
  "user.deactivated",
]);

// The users table: id -> { row, at }, `at` the instant of the event the row reflects.
const users = new Map();
// Every webhook-id handled (applied, stale or ignored): a second copy changes nothing.
const seen = new Set();
const counts = { accepted: 0, duplicates: 0, rejected: 0, failed: 0, applied: 0, stale: 0, ignored: 0 };
const deliveries = []; // the last LOGGED_DELIVERIES attempts, oldest first
let failuresLeft = settings.failFirst;

class Malformed extends Error {}

// An RFC 3339 time as nanoseconds since the epoch: Date keeps milliseconds only, and two
// events a few microseconds apart must still compare in the right order.
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

function instant(text) {
  const match = typeof text === "string" ? RFC3339.exec(text) : null;
  const milliseconds = match ? Date.parse(`${match[1]}T${match[2]}${match[4].toUpperCase()}`) : NaN;
  if (Number.isNaN(milliseconds)) throw new Malformed(`timestamp ${JSON.stringify(text)}`);
  return BigInt(milliseconds) * 1_000_000n + BigInt((match[3] ?? "").padEnd(9, "0"));
}

function userOf(data) {
  const fields = { id: "string", username: "string", email: "string", role: "string", active: "boolean" };
  for (const [name, type] of Object.entries(fields)) {
    if (typeof data?.[name] !== type) throw new Malformed(`data.${name} is not a ${type}`);
  }
  const { id, username, email, role, active } = data;
  return { id, username, email, role, active, emailVerified: data.emailVerified === true };
}

// "applied", "stale" (the row already reflects a later event) or "ignored" (not a user event).
function handle(event) {
  if (typeof event?.type !== "string") throw new Malformed("no type");
  if (!USER_EVENTS.has(event.type)) return "ignored";
  const at = instant(event.timestamp);
  const user = userOf(event.data);
  const current = users.get(user.id);
  if (current && at < current.at) return "stale";
  users.set(user.id, { row: { ...user, updatedAt: event.timestamp }, at });
  return "applied";
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : null));
    request.on("error", reject);
  });
}

// One delivery: [status, outcome, event type or undefined].
function receive(headers, body) {
  if (failuresLeft > 0) {
    failuresLeft -= 1;
    return [503, "failed"];
  }
  if (body === null) return [413, "rejected"];
  let event;
  try {
    // The raw bytes, as signed: parsed only once the signature matched.
    event = webhook.verify(body, headers);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return [400, "rejected"];
    if (error instanceof SyntaxError) return [400, "rejected"]; // signed, but not JSON
    throw error;
  }
  const id = headers["webhook-id"];
  if (seen.has(id)) return [200, "duplicate", event?.type];
  try {
    const outcome = handle(event);
    seen.add(id);
    return [200, outcome, event.type];
  } catch (error) {
    if (error instanceof Malformed) return [400, "rejected", event?.type];
    throw error;
  }
}

function record(webhookId, type, status, outcome) {
  if (outcome === "duplicate") counts.duplicates += 1;
  else if (outcome === "rejected") counts.rejected += 1;
  else if (outcome === "failed") counts.failed += 1;
  else {
    counts.accepted += 1;
    counts[outcome] += 1;
  }
  // webhook-id is as sent: checked only on the accepted and duplicate ones.
  deliveries.push({ webhookId: webhookId ?? null, type: type ?? null, status, outcome });
  if (deliveries.length > LOGGED_DELIVERIES) deliveries.shift();
  console.log(`webhook-receiver: ${webhookId ?? "-"} ${type ?? "-"} ${status} ${outcome}`);
}

function sortedUsers() {
  return [...users.values()]
    .map(({ row }) => row)
    .sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

function send(response, status, body) {
  response
    .writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" })
    .end(JSON.stringify(body));
}

const routes = {
  "GET /healthz": () => [200, { status: "ok" }],
  "GET /users": () => [200, sortedUsers()],
  "GET /events": () => [200, { ...counts, deliveries }],
};

const server = http.createServer(async (request, response) => {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  try {
    if (path === "/webhooks") {
      if (request.method !== "POST") return send(response, 405, { error: "method_not_allowed" });
      const [status, outcome, type] = receive(request.headers, await readBody(request));
      record(request.headers["webhook-id"], type, status, outcome);
      return send(response, status, status < 300 ? { status: outcome } : { error: outcome });
    }
    const route = routes[`${request.method} ${path}`];
    if (!route) return send(response, 404, { error: "not_found" });
    send(response, ...route());
  } catch (error) {
    console.error(`webhook-receiver: ${request.method} ${path}: ${error.stack ?? error}`);
    send(response, 500, { error: "internal" });
  }
});

server.listen(settings.port, settings.host, () => {
  const { address, port } = server.address();
  console.log(`webhook-receiver: listening on http://${address}:${port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
