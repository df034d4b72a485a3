// Drives Debian's Chromium through gql-auth's GraphiQL page for tests/system/test_graphiql_browser.py:
// the starter document's Register as shipped, login in the editor, the token in the headers pane, `me` with it, "Add passkey", sign out,
// "Sign in with passkey" (Chromium's virtual authenticator, DevTools protocol) and `me` again,
// and every request recorded. Prints one JSON report on stdout; the Python test judges it.
//
//   BASE_URL=http://127.0.0.1:8000 USERNAME=alice PASSWORD=... OUT_DIR=/tmp/x node graphiql.mjs
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { BASE_URL, USERNAME, PASSWORD, OUT_DIR } = process.env;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT = 20_000;

const LOGIN = `mutation SignIn {
  login(input: {username: ${JSON.stringify(USERNAME)}, password: ${JSON.stringify(PASSWORD)}}) {
    accessToken
    refreshToken
    user { username }
  }
}`;
const ME = "{ me { username } }";

const report = { requests: [], blocked: [], cspViolations: [], pageErrors: [], consoleErrors: [] };
const base = new URL(BASE_URL);

function isLocal(url) {
  const parsed = new URL(url);
  return ["data:", "blob:", "about:"].includes(parsed.protocol) || parsed.hostname === base.hostname;
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

try {
  // Every request the page makes passes here: recorded, and refused if it would leave the host.
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
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (error) => report.pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
    if (message.text().startsWith("CSP violation")) report.cspViolations.push(message.text());
  });
  // A platform authenticator with resident keys and user verification, as a laptop has.
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const statusStartsWith = (prefix) =>
    page.waitForFunction(
      (p) => document.querySelector("#gql-auth-status").textContent.startsWith(p),
      prefix,
    );
  const graphqlPosts = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url() === `${BASE_URL}/graphql`) {
      graphqlPosts.push({ body: request.postData(), authorization: request.headers()["authorization"] ?? null });
    }
  });

  const editorValue = (selector) =>
    page.evaluate((s) => document.querySelector(s)?.CodeMirror?.getValue() ?? null, selector);
  const QUERY = ".graphiql-query-editor .CodeMirror";
  const RESULT = ".result-window .CodeMirror";
  const HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";

  // Runs what the query editor holds and returns the result pane, parsed.
  async function execute(expectedKey) {
    // GraphiQL re-parses the editor shortly after a change (a person never outruns that);
    // run only once it has, or it sends the previous operation's name with the new text.
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
    return JSON.parse(await editorValue(RESULT));
  }

  async function signInState() {
    return {
      status: await page.textContent("#gql-auth-status"),
      headersPane: await editorValue(HEADERS),
      stored: await page.evaluate(() => sessionStorage.getItem("gql-auth.graphiql.auth") !== null),
    };
  }

  // 0. A fresh tab opens with gql-auth's starter document and its variables, and the
  //    Register operation runs as shipped (picked from the run button's menu if it asks).
  const starter = await context.newPage();
  starter.setDefaultTimeout(STEP_TIMEOUT);
  starter.on("pageerror", (error) => report.pageErrors.push(error.message));
  starter.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
    if (message.text().startsWith("CSP violation")) report.cspViolations.push(message.text());
  });
  await starter.goto(`${BASE_URL}/graphql`);
  await starter.waitForSelector(".graphiql-execute-button");
  await starter.waitForFunction((s) => document.querySelector(s)?.CodeMirror?.getValue().includes("mutation Register"), QUERY);
  report.starter = await starter.evaluate((s) => ({
    query: document.querySelector(s).CodeMirror.getValue(),
    variables: document.querySelector(".graphiql-editor-tool .graphiql-editor .CodeMirror").CodeMirror.getValue(),
  }), QUERY);
  await starter.waitForFunction((s) => {
    const editor = document.querySelector(s).CodeMirror;
    return editor.documentAST?.loc?.source?.body === editor.getValue();
  }, QUERY);
  await starter.click(".graphiql-execute-button");
  const registerItem = starter.locator('[role="menuitem"]', { hasText: "Register" });
  const registered = (s) => (document.querySelector(s)?.CodeMirror?.getValue() ?? "").includes('"register"');
  const outcome = await Promise.race([
    registerItem.waitFor({ state: "visible" }).then(() => "menu", () => null),
    starter.waitForFunction(registered, RESULT).then(() => "ran", () => null),
  ]);
  if (outcome === "menu") await registerItem.click();
  await starter.waitForFunction(registered, RESULT);
  report.starterRegister = JSON.parse(
    await starter.evaluate((s) => document.querySelector(s).CodeMirror.getValue(), RESULT),
  );
  await starter.close();

  // 1. The login mutation arrives through the URL fragment and runs from the editor.
  await page.goto(`${BASE_URL}/graphql#query=${encodeURIComponent(LOGIN)}`);
  await page.waitForSelector(".graphiql-execute-button");
  await page.waitForFunction((s) => document.querySelector(s)?.CodeMirror?.getValue().includes("login"), QUERY);
  report.login = await execute('"login"');
  report.afterLogin = await signInState();

  // 2. A reload keeps the sign-in (sessionStorage); `me` is typed into the editor.
  await page.reload();
  await page.waitForSelector(".graphiql-execute-button");
  report.afterReload = await signInState();
  await page.click(`${QUERY} .CodeMirror-lines`);
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(ME);
  report.typedQuery = await editorValue(QUERY);
  report.me = await execute('"me"');
  report.meRequest = graphqlPosts.findLast((post) => post.body?.includes("me { username }")) ?? null;
  report.screenshot = join(OUT_DIR, "graphiql-me.png");
  await page.screenshot({ path: report.screenshot });

  // 3. A GraphiQL dialog adds a <style> at run time: the CSP nonce must admit it.
  await page.click('button[aria-label="Open settings dialog"]');
  await page.waitForSelector('[role="dialog"]');
  await page.keyboard.press("Escape");

  // 4. "Add passkey" asks for the password again and registers the browser's passkey.
  page.once("dialog", (dialog) => dialog.accept(PASSWORD));
  await page.click("#gql-auth-add-passkey");
  await statusStartsWith("Passkey added");
  report.afterAddPasskey = await page.textContent("#gql-auth-status");

  // 5. Sign out: the token is forgotten, the session revoked, `me` refused again.
  await page.click("#gql-auth-sign-out");
  await page.waitForFunction(() => document.querySelector("#gql-auth-status").textContent.startsWith("Signed out"));
  report.afterSignOut = await signInState();
  report.signOutRequest = graphqlPosts.find((post) => post.body?.includes("logout(")) ?? null;
  report.meSignedOut = await execute('"errors"');
  report.meSignedOutRequest = graphqlPosts.at(-1) ?? null;

  // 6. "Sign in with passkey": no password, the passkey's token is kept, `me` runs with it.
  await page.click("#gql-auth-passkey-sign-in");
  await statusStartsWith("Signed in");
  report.afterPasskeySignIn = await signInState();
  report.mePasskey = await execute('"me"');
  report.mePasskeyRequest = graphqlPosts.at(-1) ?? null;
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  report.authenticatorCredentials = credentials.map((c) => ({ rpId: c.rpId, signCount: c.signCount }));
} catch (error) {
  // Leave evidence for the failing test: what the page showed and said.
  const page = context.pages()[0];
  if (page) await page.screenshot({ path: join(OUT_DIR, "failure.png") }).catch(() => {});
  console.error(JSON.stringify({ ...report, failure: String(error) }, null, 2));
  throw error;
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
