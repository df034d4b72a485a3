// Social sign-in ("Sign in with <provider>" buttons) in two halves around the browser's trip
// to the provider: `begin` before it (keep the state, send the browser to authorizationUrl),
// `finish` after it, with the parameters the provider sent back to the redirect URI
// (compare the state with the one kept, then finishSocialSignIn and keep the tokens).
//
// In a browser app the halves run on two page loads, so the state lives in sessionStorage
// (per tab, gone with it); any object with getItem/setItem/removeItem will do.
import { type ApolloClient, CombinedGraphQLErrors } from "@apollo/client";

import type { AuthSession } from "./auth.js";
import {
  BeginSocialSignInDocument,
  FinishSocialSignInDocument,
  SignInProvidersDocument,
} from "./operations.js";

/** Where the state waits for the redirect: sessionStorage in a browser. */
export interface StateStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A StateStore for one process (node, tests): both halves must run in it. */
export class MemoryStateStore implements StateStore {
  private readonly items = new Map<string, string>();

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }
}

export interface SignInProvider {
  id: string;
  displayName: string;
}

export type SocialSignInResult =
  | { kind: "signedIn"; user: { id: string; username: string } }
  // The account has a second factor: call verifyMfa with mfaToken and a code, as after login.
  | { kind: "mfaRequired"; mfaToken: string; mfaMethods: string[] };

export type RefusedReason =
  | "NO_SIGN_IN_BEGUN" // nothing kept: this tab never began a sign-in, or it was used up
  | "STATE_MISMATCH" // another state came back (or none): a forged or replayed redirect
  | "PROVIDER_ERROR" // the provider sent back an error, e.g. access_denied on "Cancel"
  | "NO_CODE";

/** The redirect was refused here, before anything was sent to the server. */
export class SocialSignInRefused extends Error {
  constructor(
    readonly reason: RefusedReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = "SocialSignInRefused";
  }
}

const STATE_KEY = "gql-auth.socialSignIn.state";

export class SocialSignIn {
  constructor(
    private readonly client: ApolloClient,
    private readonly session: AuthSession,
    private readonly store: StateStore,
  ) {}

  /** The configured providers, one button each (public: no token needed). */
  async providers(): Promise<SignInProvider[]> {
    const { data } = await this.client.query({ query: SignInProvidersDocument });
    return (data?.signInProviders ?? []).map(({ id, displayName }) => ({ id, displayName }));
  }

  /**
   * Step 1: keeps the state and returns where to send the browser. `redirectUri` must be
   * one of the server's OAUTH_REDIRECT_URIS exactly (and registered at the provider).
   */
  async begin(provider: string, redirectUri: string): Promise<string> {
    const { data } = await this.client.mutate({
      mutation: BeginSocialSignInDocument,
      variables: { input: { provider, redirectUri } },
    });
    if (!data) throw new Error("beginSocialSignIn returned no data");
    this.store.setItem(STATE_KEY, data.beginSocialSignIn.state);
    return data.beginSocialSignIn.authorizationUrl;
  }

  /**
   * Step 2, with the redirect URI's query (`new URL(location.href).searchParams`). The kept
   * state is used up whatever happens; a redirect whose state is not the kept one is refused
   * (SocialSignInRefused) without calling the server: someone else's code must not sign this
   * browser in to their account (login CSRF). Then finishSocialSignIn, and the tokens are
   * kept as after login; MFA_REQUIRED comes back as a result, other errors are thrown.
   */
  async finish(callback: URLSearchParams): Promise<SocialSignInResult> {
    const kept = this.store.getItem(STATE_KEY);
    this.store.removeItem(STATE_KEY);
    const state = callback.get("state");
    if (kept === null) {
      throw new SocialSignInRefused("NO_SIGN_IN_BEGUN", "no sign-in was begun here");
    }
    if (state !== kept) {
      throw new SocialSignInRefused("STATE_MISMATCH", "the state is not the one this sign-in kept");
    }
    const error = callback.get("error");
    if (error !== null) {
      const description = callback.get("error_description");
      throw new SocialSignInRefused("PROVIDER_ERROR", description ? `${error} (${description})` : error);
    }
    const code = callback.get("code");
    if (!code) throw new SocialSignInRefused("NO_CODE", "the provider sent back no code");

    try {
      const { data } = await this.client.mutate({
        mutation: FinishSocialSignInDocument,
        variables: { input: { state, code } },
      });
      if (!data) throw new Error("finishSocialSignIn returned no data");
      this.session.signIn(data.finishSocialSignIn);
      const { id, username } = data.finishSocialSignIn.user;
      return { kind: "signedIn", user: { id, username } };
    } catch (caught) {
      const extensions = CombinedGraphQLErrors.is(caught) ? (caught.errors[0]?.extensions ?? {}) : {};
      if (extensions["reason"] !== "MFA_REQUIRED") throw caught;
      return {
        kind: "mfaRequired",
        mfaToken: String(extensions["mfaToken"]),
        mfaMethods: (extensions["mfaMethods"] as string[] | undefined) ?? [],
      };
    }
  }
}
