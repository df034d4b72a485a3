// gql-auth's GraphiQL: a fetcher that keeps the access token returned by
// login, verifyMfa, register, refreshToken and changePassword (in sessionStorage, so it
// dies with the tab), shows it in the headers pane and sends it as
// `Authorization: Bearer ...` until you sign out. Its buttons add a passkey to the
// signed-in account and sign in with one (WebAuthn, through the same GraphQL API).
(function () {
  "use strict";

  const AUTH_MUTATIONS = [
    "login", "verifyMfa", "register", "refreshToken", "changePassword", "finishPasskeyLogin",
  ];
  const STORAGE_KEY = "gql-auth.graphiql.auth";
  const container = document.getElementById("graphiql");
  const endpoint = container.dataset.endpoint || "/graphql";
  const status = document.getElementById("gql-auth-status");
  const signOutButton = document.getElementById("gql-auth-sign-out");
  const passkeySignInButton = document.getElementById("gql-auth-passkey-sign-in");
  const addPasskeyButton = document.getElementById("gql-auth-add-passkey");
  // The JSON helpers of WebAuthn level 3; without them the passkey buttons stay hidden.
  const passkeysSupported =
    typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";
  // GraphiQL's dialogs add one <style> at run time; the page's CSP admits it by this nonce.
  window.__webpack_nonce__ = container.dataset.styleNonce;

  // Bearer values this page put into the headers pane: a pane still showing one
  // of them follows the sign-in state; anything typed by hand is sent as typed.
  const managed = new Set();
  let auth = readAuth();
  if (auth) managed.add(bearer(auth));

  function readAuth() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      return stored && typeof stored.accessToken === "string" ? stored : null;
    } catch (_error) {
      return null;
    }
  }

  function bearer(value) {
    return "Bearer " + value.accessToken;
  }

  function headersText() {
    return auth ? JSON.stringify({ Authorization: bearer(auth) }, null, 2) : "{}";
  }

  function setAuth(next) {
    auth = next;
    if (auth) {
      managed.add(bearer(auth));
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
    } else {
      sessionStorage.removeItem(STORAGE_KEY);
    }
    render();
  }

  // The Authorization header to send, given what the headers pane holds.
  function authorizationFor(paneHeaders) {
    const key = Object.keys(paneHeaders).find((name) => name.toLowerCase() === "authorization");
    if (key === undefined || managed.has(paneHeaders[key])) {
      const rest = Object.assign({}, paneHeaders);
      if (key !== undefined) delete rest[key];
      return auth ? Object.assign(rest, { Authorization: bearer(auth) }) : rest;
    }
    return paneHeaders;
  }

  // Top-level mutation fields of the operation that ran, as [responseKey, fieldName].
  function mutationFields(documentAST, operationName) {
    const operations = ((documentAST && documentAST.definitions) || []).filter(
      (d) => d.kind === "OperationDefinition",
    );
    const operation =
      operations.length === 1
        ? operations[0]
        : operations.find((d) => d.name && d.name.value === operationName);
    if (!operation || operation.operation !== "mutation") return [];
    return operation.selectionSet.selections
      .filter((s) => s.kind === "Field")
      .map((s) => [(s.alias || s.name).value, s.name.value]);
  }

  // refreshToken and changePassword keep the signed-in user, even if the result doesn't say.
  function sameUser(field) {
    return auth && (field === "refreshToken" || field === "changePassword") ? auth.username : null;
  }

  function keepTokens(result, documentAST, operationName) {
    const data = result && result.data;
    if (!data) return;
    for (const [key, field] of mutationFields(documentAST, operationName)) {
      const payload = data[key];
      if (!AUTH_MUTATIONS.includes(field) || !payload || typeof payload.accessToken !== "string") {
        continue;
      }
      setAuth({
        accessToken: payload.accessToken,
        // Kept so that signing out revokes the session, not only forgets it.
        refreshToken: typeof payload.refreshToken === "string" ? payload.refreshToken : null,
        username: (payload.user && payload.user.username) || sameUser(field),
        via: field,
      });
    }
  }

  async function post(body, headers) {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: Object.assign(
        {
          Accept: "application/graphql-response+json, application/json",
          "Content-Type": "application/json",
        },
        headers,
      ),
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (_error) {
      // Not GraphQL at all (a proxy's error page, say): show it rather than fail silently.
      return { errors: [{ message: "HTTP " + response.status + ": " + text.slice(0, 500) }] };
    }
  }

  async function fetcher(params, options) {
    const headers = authorizationFor((options && options.headers) || {});
    const result = await post(params, headers);
    keepTokens(result, options && options.documentAST, params.operationName);
    return result;
  }

  async function signOut() {
    const refreshToken = auth && auth.refreshToken;
    setAuth(null);
    if (!refreshToken) {
      status.textContent =
        "Signed out here only: the sign-in result had no refreshToken, so its session lives on.";
      return;
    }
    try {
      // Revokes the session server-side; its access token stops working at once.
      const result = await post({
        query: "mutation SignOut($token: String!) { logout(refreshToken: $token) }",
        variables: { token: refreshToken },
        operationName: "SignOut",
      });
      status.textContent =
        result.data && result.data.logout
          ? "Signed out: the session is revoked."
          : "Signed out here; the server refused the logout.";
    } catch (_error) {
      status.textContent = "Signed out here; the server could not be reached to revoke the session.";
    }
  }

  function firstError(result) {
    const error = result && result.errors && result.errors[0];
    return error ? error.message : null;
  }

  // beginPasskeyLogin without a username: any passkey this browser holds for the site answers.
  async function signInWithPasskey() {
    status.textContent = "Waiting for your passkey\u2026";
    try {
      const begun = await post({
        query: "mutation BeginPasskeyLogin { beginPasskeyLogin { challengeId options } }",
        operationName: "BeginPasskeyLogin",
      });
      if (!begun.data) throw new Error(firstError(begun));
      const { challengeId, options } = begun.data.beginPasskeyLogin;
      const assertion = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(options)),
      });
      const finished = await post({
        query:
          "mutation FinishPasskeyLogin($input: FinishPasskeyLoginInput!) { finishPasskeyLogin(input: $input) { accessToken refreshToken user { username } } }",
        variables: { input: { challengeId, credential: JSON.stringify(assertion.toJSON()) } },
        operationName: "FinishPasskeyLogin",
      });
      const payload = finished.data && finished.data.finishPasskeyLogin;
      if (!payload) throw new Error(firstError(finished));
      setAuth({
        accessToken: payload.accessToken,
        refreshToken: payload.refreshToken,
        username: payload.user.username,
        via: "finishPasskeyLogin",
      });
    } catch (error) {
      status.textContent = "Passkey sign-in failed: " + (error && error.message);
    }
  }

  // The password is asked again, as the API wants for adding a passkey.
  async function addPasskey() {
    const password = window.prompt("Your current password, to add a passkey:");
    if (password === null || !auth) return;
    const headers = { Authorization: bearer(auth) };
    status.textContent = "Waiting for your authenticator\u2026";
    try {
      const begun = await post(
        {
          query:
            "mutation BeginPasskeyRegistration($password: String!) { beginPasskeyRegistration(currentPassword: $password) }",
          variables: { password },
          operationName: "BeginPasskeyRegistration",
        },
        headers,
      );
      if (!begun.data) throw new Error(firstError(begun));
      const options = JSON.parse(begun.data.beginPasskeyRegistration);
      const created = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
      const finished = await post(
        {
          query:
            "mutation FinishPasskeyRegistration($input: FinishPasskeyRegistrationInput!) { finishPasskeyRegistration(input: $input) { id name } }",
          variables: { input: { credential: JSON.stringify(created.toJSON()), name: "GraphiQL" } },
          operationName: "FinishPasskeyRegistration",
        },
        headers,
      );
      const passkey = finished.data && finished.data.finishPasskeyRegistration;
      if (!passkey) throw new Error(firstError(finished));
      status.textContent = "Passkey added (id " + passkey.id + "): sign in with it next time.";
    } catch (error) {
      status.textContent = "Adding a passkey failed: " + (error && error.message);
    }
  }

  function describe() {
    if (!auth) return "Not signed in: run login or register, and its token is sent from then on.";
    const who = auth.username ? " as " + auth.username : "";
    return "Signed in" + who + ": the token from " + auth.via + " goes out as Authorization: Bearer.";
  }

  // /graphql#query=...&variables=... pre-fills the editors. A fragment, not ?query=:
  // it never reaches the server, so a password in it stays out of access logs.
  const params = new URLSearchParams(window.location.hash.slice(1));
  const root = ReactDOM.createRoot(container);

  // What the editor opens with instead of GraphiQL's generic welcome: gql-auth's own
  // operations with their variables filled in, so the first thing a newcomer runs works.
  // The password passes the registration rules (zxcvbn score 2 or more).
  const STARTER_QUERY = [
    "# Welcome to gql-auth. Press the run button and pick an operation, in this order:",
    "#",
    "#   Register  creates the account in the Variables tab below and signs it in",
    "#             (a second time it answers BAD_USER_INPUT, reason TAKEN: go on with Login)",
    "#   Login     signs in with the same username and password",
    "#   Me        asks who you are",
    "#",
    "# This page keeps the accessToken of a sign-in and sends it as a header, shown in",
    '# the Headers tab: {"Authorization": "Bearer <accessToken>"}. "Sign out" in the bar',
    "# above forgets it and ends the session. The book icon opens the API's documentation.",
    "",
    "mutation Register($username: String!, $email: String!, $password: String!) {",
    "  register(input: {username: $username, email: $email, password: $password}) {",
    "    accessToken",
    "    refreshToken",
    "    expiresIn",
    "    user { id username email role }",
    "  }",
    "}",
    "",
    "mutation Login($username: String!, $password: String!) {",
    "  login(input: {username: $username, password: $password}) {",
    "    accessToken",
    "    refreshToken",
    "    user { username }",
    "  }",
    "}",
    "",
    "query Me {",
    "  me { id username email role lastLoginAt }",
    "}",
    "",
  ].join("\n");
  const STARTER_VARIABLES = JSON.stringify(
    { username: "ada", email: "ada@example.com", password: "plum-violet-harbor-42" },
    null,
    2,
  );
  // Only for a browser tab where GraphiQL keeps no editor tabs yet (graphiql@4's storage
  // key) and no #query= names a document: a reload keeps what the user has since typed.
  const starter =
    sessionStorage.getItem("graphiql:tabState") === null &&
    !params.get("query") &&
    !params.get("variables");
  const starterTabs = starter
    ? [{ query: STARTER_QUERY, variables: STARTER_VARIABLES, headers: headersText() }]
    : undefined;

  function render() {
    status.textContent = describe();
    signOutButton.hidden = !auth;
    addPasskeyButton.hidden = !auth || !passkeysSupported;
    passkeySignInButton.hidden = Boolean(auth) || !passkeysSupported;
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        // sessionStorage: queries with passwords in them don't outlive the tab.
        storage: window.sessionStorage,
        query: params.get("query") || undefined,
        // GraphiQL fills the variables pane from this prop only, not from defaultTabs.
        variables: params.get("variables") || (starter ? STARTER_VARIABLES : undefined),
        defaultTabs: starterTabs,
        // A new tab (+) opens with the same operations; its Variables tab starts empty.
        defaultQuery: STARTER_QUERY,
        headers: headersText(),
        defaultHeaders: headersText(),
        shouldPersistHeaders: false,
        defaultEditorToolsVisibility: "headers",
      }),
    );
  }

  signOutButton.addEventListener("click", () => {
    signOut();
  });
  passkeySignInButton.addEventListener("click", () => {
    signInWithPasskey();
  });
  addPasskeyButton.addEventListener("click", () => {
    addPasskey();
  });
  render();
})();
