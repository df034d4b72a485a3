// Drives Debian's Chromium through GraphiQL's "Sign in with <provider>" for
// tests/system/test_graphiql_social_browser.py, against the real OpenID Provider
// (tests/oidc/provider.mjs) on another port of 127.0.0.1: a forged ?code=&state= in a fresh
// tab, "Cancel" at the provider, a forged state in a tab that began a sign-in, then the
// whole sign-in (login form, consent form, back to GraphiQL) and `me` from the editor, and
// the real redirect replayed in a fresh tab. With SCENARIO=mfa, the account has TOTP: the
// sign-in answers MFA_REQUIRED, and VerifyMfa runs from the editor with CODE. Prints one
// JSON report on stdout; the Python test judges it.
//
//   BASE_URL=http://127.0.0.1:8000 ISSUER=http://127.0.0.1:8001 USERNAME=carol \
//     PROVIDER_NAME="Acme ID" OUT_DIR=/tmp/x [SCENARIO=mfa CODE=...] node graphiql_social.mjs
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { BASE_URL, ISSUER, USERNAME, OUT_DIR, PROVIDER_NAME, SCENARIO, CODE } = process.env;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT = 20_000;
const GRAPHIQL = `${BASE_URL}/graphql`;
const BUTTON = `#gql-auth-social button`;
const ME = "{ me { username } }";

const report = { requests: [], blocked: [], cspViolations: [], pageErrors: [], consoleErrors: [] };
const allowed = new Set([new URL(BASE_URL).origin, new URL(ISSUER).origin]);

function isLocal(url) {
  const parsed = new URL(url);
  return ["data:", "blob:", "about:"].includes(parsed.protocol) || allowed.has(parsed.origin);
}

const context = await chromium.launchPersistentContext(mkdtempSync(join(OUT_DIR, "profile-")), {
  executablePath: CHROMIUM,
  headless: true,
  chromiumSandbox: false,
  viewport: { width: 1280, height: 760 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const QUERY = ".graphiql-query-editor .CodeMirror";
const RESULT = ".result-window .CodeMirror";
const HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
const VARIABLES = ".graphiql-editor-tool .graphiql-editor .CodeMirror"; // the first: Variables
// Every POST to /graphql, from every tab: which operation, with which Authorization.
const graphqlPosts = [];

// A tab that reports its errors and CSP violations, and records its GraphQL requests.
async function newTab() {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (error) => report.pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
    if (message.text().startsWith("CSP violation")) report.cspViolations.push(message.text());
  });
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url() === GRAPHIQL) {
      const body = JSON.parse(request.postData() ?? "{}");
      graphqlPosts.push({
        operationName: body.operationName ?? null,
        query: body.query ?? "",
        authorization: request.headers()["authorization"] ?? null,
      });
    }
  });
  return page;
}

const editorValue = (page, selector) =>
  page.evaluate((s) => document.querySelector(s)?.CodeMirror?.getValue() ?? null, selector);

const statusStartsWith = (page, prefix) =>
  page.waitForFunction(
    (p) => document.querySelector("#gql-auth-status").textContent.startsWith(p),
    prefix,
  );

async function signInState(page) {
  return {
    status: await page.textContent("#gql-auth-status"),
    address: page.url(),
    headersPane: await editorValue(page, HEADERS),
    stored: await page.evaluate(() => sessionStorage.getItem("gql-auth.graphiql.auth")),
    keptState: await page.evaluate(() => sessionStorage.getItem("gql-auth.graphiql.social")),
    buttonsVisible: await page.isVisible("#gql-auth-social"),
  };
}

// GraphiQL loaded, and the provider buttons from signInProviders added to the bar.
async function openGraphiql(page, url = GRAPHIQL) {
  await page.goto(url);
  await page.waitForSelector(".graphiql-execute-button");
}

// From GraphiQL to the provider's login page, by the bar's button.
async function toProvider(page) {
  await page.waitForSelector(BUTTON);
  await page.click(`${BUTTON}:has-text("Sign in with ${PROVIDER_NAME}")`);
  await page.waitForURL((url) => url.origin === new URL(ISSUER).origin);
  await page.waitForSelector("form#login");
}

// The provider's login form (a login name, no password) and consent form, then back to
// GraphiQL, which finishes the sign-in.
async function signInAtProvider(page) {
  await toProvider(page);
  await page.fill("form#login input[name=login]", USERNAME);
  await page.click("form#login button[type=submit]");
  await page.waitForSelector("form#consent");
  await page.click("form#consent button[type=submit]");
  await page.waitForURL((url) => url.href.startsWith(GRAPHIQL));
}

// Runs what the query editor holds and returns the result pane, parsed.
async function execute(page, expectedKey) {
  // GraphiQL re-parses the editor shortly after a change; run only once it has.
  await page.waitForFunction((s) => {
    const editor = document.querySelector(s).CodeMirror;
    return editor.documentAST?.loc?.source?.body === editor.getValue();
  }, QUERY);
  await page.evaluate((s) => document.querySelector(s).CodeMirror.setValue(""), RESULT);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    ([s, key]) => (document.querySelector(s)?.CodeMirror?.getValue() ?? "").includes(key),
    [RESULT, expectedKey],
  );
  return JSON.parse(await editorValue(page, RESULT));
}

// MFA_REQUIRED: the page put VerifyMfa and its mfaToken into the editor; the code is typed
// into the Variables tab and VerifyMfa runs from the editor, as after a password.
async function secondFactor() {
  const page = await newTab();
  await openGraphiql(page);
  await signInAtProvider(page);
  await page.waitForFunction(() =>
    document.querySelector("#gql-auth-status").textContent.includes("second factor"),
  );
  report.asked = await signInState(page);
  report.askedQuery = await editorValue(page, QUERY);
  report.askedVariables = await editorValue(page, VARIABLES);
  const variables = JSON.parse(report.askedVariables);
  await page.evaluate(
    ([s, text]) => document.querySelector(s).CodeMirror.setValue(text),
    [VARIABLES, JSON.stringify({ ...variables, code: CODE }, null, 2)],
  );
  report.verified = await execute(page, '"verifyMfa"');
  await statusStartsWith(page, "Signed in");
  report.signedIn = await signInState(page);
  report.verifyRequest = graphqlPosts.findLast((post) => post.operationName === "VerifyMfa") ?? null;
}

// Every path of an account without a second factor, in order.
async function everyPath() {
  // 1. A fresh tab opened with a code and state it never asked for: refused, nothing kept.
  const forged = await newTab();
  await openGraphiql(forged, `${GRAPHIQL}?code=x&state=y`);
  await statusStartsWith(forged, "Sign-in refused");
  report.forgedNoState = await signInState(forged);
  await forged.close();

  // 2. The bar offers the provider; "Cancel" at its login page comes back with an error.
  const page = await newTab();
  await openGraphiql(page);
  await page.waitForSelector(BUTTON);
  report.buttons = await page.$$eval(BUTTON, (buttons) => buttons.map((b) => b.textContent));
  await toProvider(page);
  await page.click("form#abort button[type=submit]");
  await page.waitForURL((url) => url.href.startsWith(GRAPHIQL));
  await statusStartsWith(page, "Sign-in with");
  report.denied = await signInState(page);

  // 3. A sign-in under way, and a forged state arrives in its place: refused.
  await toProvider(page);
  await openGraphiql(page, `${GRAPHIQL}?code=x&state=forged-state`);
  await statusStartsWith(page, "Sign-in refused");
  report.forgedWrongState = await signInState(page);

  // 4. The whole sign-in: the provider's login form (a login name, no password) and its
  //    consent form, then back to GraphiQL, which finishes it and keeps the tokens.
  await signInAtProvider(page);
  await statusStartsWith(page, "Signed in");
  report.callback = report.requests.findLast((url) => url.startsWith(`${GRAPHIQL}?`)) ?? null;
  report.signedIn = await signInState(page);
  report.finishRequest =
    graphqlPosts.findLast((post) => post.operationName === "FinishSocialSignIn") ?? null;

  // 5. `me`, typed into the editor and run from GraphiQL, goes out with that token.
  await page.click(`${QUERY} .CodeMirror-lines`);
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(ME);
  report.me = await execute(page, '"me"');
  report.meRequest = graphqlPosts.findLast((post) => post.query.includes("me { username }")) ?? null;
  report.screenshot = join(OUT_DIR, "graphiql-social.png");
  await page.screenshot({ path: report.screenshot });

  // 6. The real redirect replayed in another tab (a leaked URL): that tab began nothing.
  const replay = await newTab();
  await openGraphiql(replay, report.callback);
  await statusStartsWith(replay, "Sign-in refused");
  report.replayed = await signInState(replay);
  await replay.close();

  report.finishRequests = graphqlPosts.filter((post) => post.operationName === "FinishSocialSignIn").length;
}

try {
  await context.route("**/*", (route) => {
    const url = route.request().url();
    report.requests.push(url);
    if (isLocal(url)) return route.continue();
    report.blocked.push(url);
    return route.abort("blockedbyclient");
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });

  await (SCENARIO === "mfa" ? secondFactor() : everyPath());
} catch (error) {
  // Leave evidence for the failing test: what the page showed and said.
  const page = context.pages().at(-1);
  if (page) await page.screenshot({ path: join(OUT_DIR, "failure.png") }).catch(() => {});
  console.error(JSON.stringify({ ...report, failure: String(error) }, null, 2));
  throw error;
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
