// gql-auth's GraphiQL: a fetcher that keeps the access token returned by
// login, verifyMfa, register, refreshToken and changePassword (in sessionStorage, so it
// dies with the tab), shows it in the headers pane and sends it as
// `Authorization: Bearer ...` until you sign out. Its buttons add a passkey to the
// signed-in account and sign in with one (WebAuthn, through the same GraphQL API), and
// sign in with each provider of signInProviders: beginSocialSignIn sends the browser there,
// and the provider sends it back to this page, whose URL is the redirect URI, with
// ?code=...&state=... for finishSocialSignIn.
(function () {
  "use strict";

  const AUTH_MUTATIONS = [
    "login", "verifyMfa", "register", "refreshToken", "changePassword", "finishPasskeyLogin",
    "finishSocialSignIn",
  ];
  const STORAGE_KEY = "gql-auth.graphiql.auth";
  // The state of the social sign-in this tab began: only a redirect bringing it back is finished.
  const SOCIAL_STATE_KEY = "gql-auth.graphiql.social";
  // What a provider adds to the redirect URI; removed from the address bar once read.
  const CALLBACK_PARAMETERS = [
    "code", "state", "iss", "session_state", "error", "error_description", "error_uri",
  ];
  const container = document.getElementById("graphiql");
  const endpoint = container.dataset.endpoint || "/graphql";
  const status = document.getElementById("gql-auth-status");
  const signOutButton = document.getElementById("gql-auth-sign-out");
  const passkeySignInButton = document.getElementById("gql-auth-passkey-sign-in");
  const addPasskeyButton = document.getElementById("gql-auth-add-passkey");
  const socialButtons = document.getElementById("gql-auth-social");
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

  // Every sign-in ends here, whether it ran in the editor or from a button of the bar.
  function keepPayload(payload, field) {
    setAuth({
      accessToken: payload.accessToken,
      // Kept so that signing out revokes the session, not only forgets it.
      refreshToken: typeof payload.refreshToken === "string" ? payload.refreshToken : null,
      username: (payload.user && payload.user.username) || sameUser(field),
      via: field,
    });
  }

  function keepTokens(result, documentAST, operationName) {
    const data = result && result.data;
    if (!data) return;
    for (const [key, field] of mutationFields(documentAST, operationName)) {
      const payload = data[key];
      if (!AUTH_MUTATIONS.includes(field) || !payload || typeof payload.accessToken !== "string") {
        continue;
      }
      keepPayload(payload, field);
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
      keepPayload(payload, "finishPasskeyLogin");
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

  // The redirect URI is this page itself, without query or fragment: the operator lists it
  // in OAUTH_REDIRECT_URIS (and at the provider), e.g. http://127.0.0.1:8000/graphql.
  function redirectUri() {
    return window.location.origin + window.location.pathname;
  }

  // The buttons of signInProviders (public); none configured, or no answer: none shown.
  async function loadProviders() {
    let result;
    try {
      result = await post({
        query: "query SignInProviders { signInProviders { id displayName } }",
        operationName: "SignInProviders",
      });
    } catch (_error) {
      return;
    }
    const providers = (result.data && result.data.signInProviders) || [];
    for (const provider of providers) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.provider = provider.id;
      button.textContent = "Sign in with " + provider.displayName;
      button.addEventListener("click", () => {
        beginSocialSignIn(provider);
      });
      socialButtons.appendChild(button);
    }
    showSocialButtons();
  }

  // Not render(): that would overwrite what the status says about a sign-in under way.
  function showSocialButtons() {
    socialButtons.hidden = Boolean(auth) || !socialButtons.hasChildNodes();
  }

  // beginSocialSignIn, then off to the provider; the state stays in this tab to be compared.
  async function beginSocialSignIn(provider) {
    status.textContent = "Going to " + provider.displayName + "\u2026";
    try {
      const begun = await post({
        query:
          "mutation BeginSocialSignIn($input: BeginSocialSignInInput!) { beginSocialSignIn(input: $input) { authorizationUrl state } }",
        variables: { input: { provider: provider.id, redirectUri: redirectUri() } },
        operationName: "BeginSocialSignIn",
      });
      const started = begun.data && begun.data.beginSocialSignIn;
      if (!started) throw new Error(firstError(begun));
      const target = new URL(started.authorizationUrl);
      if (target.protocol !== "https:" && target.protocol !== "http:") {
        throw new Error("the authorization URL is not http(s): " + target.protocol);
      }
      sessionStorage.setItem(
        SOCIAL_STATE_KEY,
        JSON.stringify({ state: started.state, displayName: provider.displayName }),
      );
      window.location.assign(target.href);
    } catch (error) {
      status.textContent = provider.displayName + " sign-in failed: " + (error && error.message);
    }
  }

  // The sign-in this tab began, read once: a second redirect with the same state is refused.
  function takeSocialState() {
    let kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(SOCIAL_STATE_KEY) || "null");
    } catch (_error) {
      kept = null;
    }
    sessionStorage.removeItem(SOCIAL_STATE_KEY);
    return kept && typeof kept.state === "string" ? kept : null;
  }

  // The provider's redirect back to this page: ?code=...&state=... (and iss), or ?error=...
  // Read once, then gone from the address bar (and so from history and bookmarks).
  function takeCallback() {
    const query = new URLSearchParams(window.location.search);
    if (!query.has("code") && !query.has("state") && !query.has("error")) return null;
    const callback = {};
    for (const name of CALLBACK_PARAMETERS) {
      if (query.has(name)) callback[name] = query.get(name);
      query.delete(name);
    }
    const rest = query.toString();
    window.history.replaceState(
      window.history.state,
      "",
      window.location.pathname + (rest ? "?" + rest : "") + window.location.hash,
    );
    return callback;
  }

  async function finishSocialSignIn(callback) {
    const kept = takeSocialState();
    const name = (kept && kept.displayName) || "the provider";
    if (callback.error) {
      const detail = callback.error_description ? " (" + callback.error_description + ")" : "";
      status.textContent = "Sign-in with " + name + " did not happen: " + callback.error + detail;
      return;
    }
    // Login CSRF: a code this tab did not ask for would sign it in to someone else's account.
    if (!kept || !callback.state || callback.state !== kept.state || !callback.code) {
      status.textContent =
        "Sign-in refused: this page did not start a sign-in with the state that came back " +
        "(a forged or stale link?). Nothing was signed in.";
      return;
    }
    status.textContent = "Finishing the sign-in with " + name + "\u2026";
    try {
      const finished = await post({
        query:
          "mutation FinishSocialSignIn($input: FinishSocialSignInInput!) { finishSocialSignIn(input: $input) { accessToken refreshToken user { username } } }",
        variables: { input: { state: callback.state, code: callback.code } },
        operationName: "FinishSocialSignIn",
      });
      const payload = finished.data && finished.data.finishSocialSignIn;
      if (payload) {
        keepPayload(payload, "finishSocialSignIn");
        return;
      }
      const error = finished.errors && finished.errors[0];
      const extensions = (error && error.extensions) || {};
      if (extensions.reason === "MFA_REQUIRED") {
        askForSecondFactor(name, extensions.mfaToken);
        return;
      }
      status.textContent = name + " sign-in failed: " + firstError(finished);
    } catch (error) {
      status.textContent = name + " sign-in failed: " + (error && error.message);
    }
  }

  // MFA_REQUIRED after the provider: verifyMfa finishes it as after a password, run from
  // the editor (it is one of AUTH_MUTATIONS), with the mfaToken already in its variables.
  function askForSecondFactor(name, mfaToken) {
    if (!mfaToken) {
      status.textContent =
        name + " signed you in; this account needs its passkey too: use Sign in with passkey.";
      return;
    }
    editorOverride = {
      query: VERIFY_MFA,
      variables: JSON.stringify({ mfaToken: mfaToken, code: "" }, null, 2),
    };
    render();
    status.textContent =
      name + " signed you in; a second factor is needed: put your code into the Variables " +
      "tab and run VerifyMfa (within 5 minutes).";
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
  // A document the page puts into the editor (VerifyMfa after a social sign-in), else null.
  let editorOverride = null;
  const VERIFY_MFA = [
    "mutation VerifyMfa($mfaToken: String!, $code: String!) {",
    "  verifyMfa(input: {mfaToken: $mfaToken, code: $code}) {",
    "    accessToken",
    "    refreshToken",
    "    user { username }",
    "  }",
    "}",
    "",
  ].join("\n");

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
    showSocialButtons();
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        // sessionStorage: queries with passwords in them don't outlive the tab.
        storage: window.sessionStorage,
        query: (editorOverride && editorOverride.query) || params.get("query") || undefined,
        // GraphiQL fills the variables pane from this prop only, not from defaultTabs.
        variables:
          (editorOverride && editorOverride.variables) ||
          params.get("variables") ||
          (starter ? STARTER_VARIABLES : undefined),
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
  const callback = takeCallback();
  render();
  loadProviders();
  if (callback) finishSocialSignIn(callback);
})();
