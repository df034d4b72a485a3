// gql-auth's GraphiQL: a fetcher that keeps the access token returned by
// login, verifyMfa, register, refreshToken and changePassword (in sessionStorage, so it
// dies with the tab), shows it in the headers pane and sends it as
// `Authorization: Bearer ...` until you sign out.
(function () {
  "use strict";

  const AUTH_MUTATIONS = ["login", "verifyMfa", "register", "refreshToken", "changePassword"];
  const STORAGE_KEY = "gql-auth.graphiql.auth";
  const container = document.getElementById("graphiql");
  const endpoint = container.dataset.endpoint || "/graphql";
  const status = document.getElementById("gql-auth-status");
  const signOutButton = document.getElementById("gql-auth-sign-out");
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

  function describe() {
    if (!auth) return "Not signed in: run login or register, and its token is sent from then on.";
    const who = auth.username ? " as " + auth.username : "";
    return "Signed in" + who + ": the token from " + auth.via + " goes out as Authorization: Bearer.";
  }

  // /graphql#query=...&variables=... pre-fills the editors. A fragment, not ?query=:
  // it never reaches the server, so a password in it stays out of access logs.
  const params = new URLSearchParams(window.location.hash.slice(1));
  const root = ReactDOM.createRoot(container);

  function render() {
    status.textContent = describe();
    signOutButton.hidden = !auth;
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        // sessionStorage: queries with passwords in them don't outlive the tab.
        storage: window.sessionStorage,
        query: params.get("query") || undefined,
        variables: params.get("variables") || undefined,
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
  render();
})();
