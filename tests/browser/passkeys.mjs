// Registers a passkey and signs in with it in Debian's Chromium, for tests/system/test_passkeys_browser.py.
// The authenticator is Chromium's own virtual one (DevTools protocol WebAuthn domain: CTAP2,
// internal transport, resident keys, user verification). The page is the server's own origin
// (http://localhost:<port>, a secure context), and everything goes through the GraphQL API:
// navigator.credentials.create/get with PublicKeyCredential.parse*OptionsFromJSON, toJSON().
// Prints one JSON report on stdout; the Python test judges it.
//
//   BASE_URL=http://localhost:8000 USERNAME=alice PASSWORD=... OUT_DIR=/tmp/x node passkeys.mjs
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { BASE_URL, USERNAME, PASSWORD, OUT_DIR } = process.env;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT = 20_000;

const context = await chromium.launchPersistentContext(mkdtempSync(join(OUT_DIR, "profile-")), {
  executablePath: CHROMIUM,
  headless: true,
  chromiumSandbox: false,
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
const report = { pageErrors: [], consoleErrors: [] };

try {
  // The browser asks for a favicon the API does not serve; its 404 is no error of ours.
  await context.route("**/favicon.ico", (route) => route.fulfill({ status: 204 }));
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (error) => report.pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
  });
  // Any document of the server's origin will do: the ceremonies run from its window.
  await page.goto(`${BASE_URL}/healthz`);
  report.secureContext = await page.evaluate(() => window.isSecureContext);

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

  const flow = await page.evaluate(
    async ({ username, password }) => {
      const gql = async (query, variables = {}, token = null) => {
        const headers = { "content-type": "application/json" };
        if (token) headers.authorization = `Bearer ${token}`;
        const response = await fetch("/graphql", {
          method: "POST",
          headers,
          body: JSON.stringify({ query, variables }),
        });
        return response.json();
      };
      const steps = {};
      const signInWithPasskey = async (name) => {
        const begun = await gql(
          `mutation ($username: String) { beginPasskeyLogin(username: $username) { challengeId options } }`,
          { username: name },
        );
        const { challengeId, options } = begun.data.beginPasskeyLogin;
        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(options));
        const assertion = await navigator.credentials.get({ publicKey });
        const finished = await gql(
          `mutation ($input: FinishPasskeyLoginInput!) {
             finishPasskeyLogin(input: $input) { accessToken user { username } }
           }`,
          { input: { challengeId, credential: JSON.stringify(assertion.toJSON()) } },
        );
        const token = finished.data?.finishPasskeyLogin?.accessToken ?? null;
        const me = token ? await gql("{ me { username } }", {}, token) : null;
        return { allowCredentials: JSON.parse(options).allowCredentials, finished, me };
      };

      // 1. Sign in with the password, then register a passkey (the password asked again).
      const login = await gql(
        `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`,
        { input: { username, password } },
      );
      const token = login.data.login.accessToken;
      const begun = await gql(
        `mutation ($password: String!) { beginPasskeyRegistration(currentPassword: $password) }`,
        { password },
        token,
      );
      const creation = JSON.parse(begun.data.beginPasskeyRegistration);
      const created = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(creation),
      });
      steps.createdId = created.id;
      steps.registered = await gql(
        `mutation ($input: FinishPasskeyRegistrationInput!) {
           finishPasskeyRegistration(input: $input) { id name createdAt lastUsedAt }
         }`,
        { input: { credential: JSON.stringify(created.toJSON()), name: "Chromium" } },
        token,
      );

      // 2. Sign in with it by username, then with no username (a discoverable credential).
      steps.byUsername = await signInWithPasskey(username);
      steps.discoverable = await signInWithPasskey(null);
      const listed = await gql(
        "{ userDashboard { passkeys { id name lastUsedAt } } }",
        {},
        steps.discoverable.finished.data?.finishPasskeyLogin?.accessToken,
      );
      steps.dashboard = listed;
      return steps;
    },
    { username: USERNAME, password: PASSWORD },
  );
  Object.assign(report, flow);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  report.authenticator = credentials.map((credential) => ({
    credentialId: credential.credentialId,
    isResidentCredential: credential.isResidentCredential,
    rpId: credential.rpId,
    signCount: credential.signCount,
  }));
} catch (error) {
  console.error(JSON.stringify({ ...report, failure: String(error) }, null, 2));
  throw error;
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
