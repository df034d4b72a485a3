// gql-auth through Apollo Client, one printed line per step; exits 1 on any failure.
//
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql node dist/demo.js
//     register -> login -> me -> userDashboard -> refresh -> createOrganization ->
//     organizations -> switchOrganization (prints the new token's org_id and org_role) ->
//     refresh with the refresh token the switch rotated -> logout, as a new user
//     (DEMO_USERNAME / DEMO_PASSWORD, or a generated name and a sample password).
//
//   GRAPHQL_URL=... DEMO_MFA=1 node dist/demo.js
//     register -> enrollTotp -> confirmTotp -> login (MFA_REQUIRED) -> verifyMfa -> me -> logout,
//     computing the TOTP codes itself (waits for the next 30 s step: a used step is a replay).
//
//   GRAPHQL_URL=... ACCESS_TOKEN=... REFRESH_TOKEN=... node dist/demo.js
//     resumes a saved session: me and userDashboard run at once; when the access
//     token has expired both fail, one refresh serves both, both are retried; then logout.
//
//   GRAPHQL_URL=... DEMO_SOCIAL=acme DEMO_REDIRECT_URI=http://127.0.0.1:5173/auth/callback node dist/demo.js
//     signInProviders -> beginSocialSignIn (prints "authorize: <url>"; open it and sign in) ->
//     reads the address the provider sent the browser back to (one line on stdin) ->
//     compares its state with the kept one -> finishSocialSignIn -> me -> logout.
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { Secret, TOTP } from "otpauth";

import { AuthSession, describeError } from "./auth.js";
import {
  ConfirmTotpDocument,
  EnrollTotpDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  RegisterDocument,
  UserDashboardDocument,
  VerifyMfaDocument,
} from "./operations.js";
import { Organizations, organizationClaims } from "./organizations.js";
import { MemoryStateStore, SocialSignIn } from "./social.js";
import { trustedDocumentsLink } from "./trusted.js";

const url = process.env["GRAPHQL_URL"];
if (!url) {
  console.error("demo: set GRAPHQL_URL, e.g. http://127.0.0.1:8000/graphql");
  process.exit(2);
}

const session = new AuthSession();
session.onSignOut = (reason) => console.log(`signed out: ${reason}`);

const client = new ApolloClient({
  // Operations go out as their trusted-document hashes, never as text (src/trusted.ts).
  link: session.link().concat(trustedDocumentsLink()).concat(new HttpLink({ uri: url })),
  cache: new InMemoryCache(),
  // Every step asks the server: the demo is about what the server says.
  defaultOptions: { query: { fetchPolicy: "network-only" } },
});

session.refresher = async (refreshToken) => {
  const { data } = await client.mutate({
    mutation: RefreshTokenDocument,
    variables: { refreshToken },
    context: { skipTokenRefresh: true },
  });
  if (!data) throw new Error("refreshToken returned no data");
  return data.refreshToken;
};

async function me(): Promise<string> {
  const { data } = await client.query({ query: MeDocument });
  return data?.me.username ?? "(no data)";
}

async function dashboard(): Promise<string> {
  const { data } = await client.query({ query: UserDashboardDocument });
  if (!data) return "(no data)";
  const { user, activeSessions } = data.userDashboard;
  return `${user.username}, ${activeSessions.length} active session(s)`;
}

async function logout(): Promise<void> {
  const refreshToken = session.refreshToken;
  if (refreshToken === null) throw new Error("not signed in");
  const { data } = await client.mutate({ mutation: LogoutDocument, variables: { refreshToken } });
  session.signOut();
  console.log(`logout: ${data?.logout}`);
}

async function newUser(): Promise<void> {
  const username = process.env["DEMO_USERNAME"] ?? `demo_${randomBytes(3).toString("hex")}`;
  const password = process.env["DEMO_PASSWORD"] ?? "Quokka-Harbour-Lantern-42";
  const email = `${username.toLowerCase()}@example.com`;

  const registered = await client.mutate({
    mutation: RegisterDocument,
    variables: { input: { username, email, password } },
  });
  if (!registered.data) throw new Error("register returned no data");
  console.log(`register: ${registered.data.register.user.username} (${registered.data.register.user.role})`);

  const loggedIn = await client.mutate({
    mutation: LoginDocument,
    variables: { input: { username, password } },
  });
  if (!loggedIn.data) throw new Error("login returned no data");
  session.signIn(loggedIn.data.login);
  console.log(`login: ${loggedIn.data.login.user.username}`);

  console.log(`me: ${await me()}`);
  console.log(`userDashboard: ${await dashboard()}`);

  const before = session.accessToken;
  if (!(await session.refresh())) throw new Error("refresh failed");
  const rotated = session.accessToken !== before ? "new tokens" : "same token?";
  console.log(`refresh: ${rotated}, me: ${await me()}`);

  await switchToNewOrganization(username);
  await logout();
}

async function switchToNewOrganization(username: string): Promise<void> {
  const organizations = new Organizations(client, session);
  // A slug is a DNS label: lower-case letters, digits and inner hyphens.
  const slug = username.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const created = await organizations.create(`${username}'s team`, slug);
  console.log(`createOrganization: ${created.slug} (${created.viewerRole})`);
  const listed = await organizations.list();
  console.log(`organizations: ${listed.map((o) => `${o.slug} (${o.viewerRole})`).join(", ")}`);

  const before = session.refreshToken;
  const claims = await organizations.switchTo(created.id);
  const kept = session.refreshToken !== before ? "rotated refresh token stored" : "same refresh token?";
  console.log(`switchOrganization: org_id ${claims.orgId}, org_role ${claims.orgRole}, ${kept}`);

  // This refresh presents the stored refresh token: had the client kept the one the switch
  // retired, the server would take it for a replay and revoke the whole session.
  if (!(await session.refresh())) throw new Error("refresh after switchOrganization failed");
  const refreshed = organizationClaims(session.accessToken ?? "");
  console.log(`refresh: org_id ${refreshed.orgId}, org_role ${refreshed.orgRole}, me: ${await me()}`);
}

async function savedSession(accessToken: string, refreshToken: string): Promise<void> {
  session.signIn({ accessToken, refreshToken });
  console.log("resume: saved session");
  const [who, board] = await Promise.all([me(), dashboard()]);
  console.log(`me: ${who}`);
  console.log(`userDashboard: ${board}`);
  console.log(`refreshes: ${session.refreshCount}`);
  await logout();
}

function amrOf(accessToken: string): string {
  const payload = accessToken.split(".")[1] ?? "";
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { amr?: string[] };
  return JSON.stringify(claims.amr ?? []);
}

async function nextTotpStep(totp: TOTP): Promise<string> {
  // The server accepts only a strictly later time step than the last accepted one.
  const wait = totp.period * 1000 - (Date.now() % (totp.period * 1000)) + 250;
  await new Promise((resolve) => setTimeout(resolve, wait));
  return totp.generate();
}

async function mfaUser(): Promise<void> {
  const username = process.env["DEMO_USERNAME"] ?? `demo_${randomBytes(3).toString("hex")}`;
  const password = process.env["DEMO_PASSWORD"] ?? "Quokka-Harbour-Lantern-42";
  const email = `${username.toLowerCase()}@example.com`;

  const registered = await client.mutate({
    mutation: RegisterDocument,
    variables: { input: { username, email, password } },
  });
  if (!registered.data) throw new Error("register returned no data");
  session.signIn(registered.data.register);
  console.log(`register: ${registered.data.register.user.username} (${registered.data.register.user.role})`);

  const enrolled = await client.mutate({
    mutation: EnrollTotpDocument,
    variables: { currentPassword: password },
  });
  if (!enrolled.data) throw new Error("enrollTotp returned no data");
  const totp = new TOTP({ secret: Secret.fromBase32(enrolled.data.enrollTotp.secret) });
  const confirmed = await client.mutate({
    mutation: ConfirmTotpDocument,
    variables: { code: totp.generate() },
  });
  console.log(`confirmTotp: ${confirmed.data?.confirmTotp.length ?? 0} recovery codes`);
  session.signOut();

  let mfaToken: string | null = null;
  try {
    const loggedIn = await client.mutate({
      mutation: LoginDocument,
      variables: { input: { username, password } },
    });
    console.log(`login: tokens without a code? ${Boolean(loggedIn.data?.login.accessToken)}`);
  } catch (error) {
    // Apollo Client 4: GraphQL errors arrive as CombinedGraphQLErrors (error.errors).
    const extensions = CombinedGraphQLErrors.is(error) ? (error.errors[0]?.extensions ?? {}) : {};
    if (extensions["reason"] !== "MFA_REQUIRED") throw error;
    mfaToken = String(extensions["mfaToken"]);
    const methods = (extensions["mfaMethods"] as string[] | undefined) ?? [];
    console.log(`login: ${describeError(error)} (${methods.join(", ")})`);
  }
  if (mfaToken === null) throw new Error("login did not ask for a second factor");

  const verified = await client.mutate({
    mutation: VerifyMfaDocument,
    variables: { input: { mfaToken, code: await nextTotpStep(totp) } },
  });
  if (!verified.data) throw new Error("verifyMfa returned no data");
  session.signIn(verified.data.verifyMfa);
  console.log(`verifyMfa: ${verified.data.verifyMfa.user.username}, amr ${amrOf(verified.data.verifyMfa.accessToken)}`);
  console.log(`me: ${await me()}`);
  await logout();
}

/** The first line on stdin: where a browser app's callback page would read location.href. */
async function firstLineOfStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  try {
    for await (const line of lines) return line.trim();
  } finally {
    lines.close();
  }
  throw new Error("stdin closed before the redirect's address came");
}

async function socialUser(provider: string, redirectUri: string): Promise<void> {
  // A browser app keeps the state in sessionStorage across the redirect; here both
  // halves run in this one process.
  const social = new SocialSignIn(client, session, new MemoryStateStore());

  const providers = await social.providers();
  console.log(`providers: ${providers.map((p) => `${p.id} (${p.displayName})`).join(", ")}`);
  if (!providers.some((p) => p.id === provider)) throw new Error(`no provider ${provider}`);

  console.log(`authorize: ${await social.begin(provider, redirectUri)}`);
  console.error("Open that URL, sign in, then paste the address you are sent back to here.");
  const callback = new URL(await firstLineOfStdin());

  const result = await social.finish(callback.searchParams);
  if (result.kind === "mfaRequired") {
    // As after login: verifyMfa with result.mfaToken and a code (see DEMO_MFA).
    console.log(`finishSocialSignIn: UNAUTHENTICATED/MFA_REQUIRED (${result.mfaMethods.join(", ")})`);
    return;
  }
  console.log(`finishSocialSignIn: ${result.user.username}`);
  console.log(`me: ${await me()}`);
  await logout();
}

async function main(): Promise<void> {
  const accessToken = process.env["ACCESS_TOKEN"];
  const refreshToken = process.env["REFRESH_TOKEN"];
  const socialProvider = process.env["DEMO_SOCIAL"];
  if (accessToken && refreshToken) {
    await savedSession(accessToken, refreshToken);
  } else if (socialProvider) {
    const redirectUri = process.env["DEMO_REDIRECT_URI"];
    if (!redirectUri) throw new Error("DEMO_SOCIAL needs DEMO_REDIRECT_URI (one of OAUTH_REDIRECT_URIS)");
    await socialUser(socialProvider, redirectUri);
  } else if (process.env["DEMO_MFA"]) {
    await mfaUser();
  } else {
    await newUser();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.log(`failed: ${describeError(error)}`);
    process.exit(1);
  },
);
