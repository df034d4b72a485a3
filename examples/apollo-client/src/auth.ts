// Bearer auth for Apollo Client: sends the access token, and when the server answers
// UNAUTHENTICATED with reason TOKEN_EXPIRED, refreshes it once (concurrent failures
// share that one refresh), retries the operation once, and signs out if refreshing fails.
import { ApolloLink, CombinedGraphQLErrors } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { Observable } from "rxjs";

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** Exchanges a refresh token for new tokens; rejects when the server refuses. */
export type Refresher = (refreshToken: string) => Promise<Tokens>;

/** The first error's extensions.code/reason, e.g. "UNAUTHENTICATED/TOKEN_EXPIRED". */
export function describeError(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) {
    const extensions = error.errors[0]?.extensions ?? {};
    return [extensions["code"], extensions["reason"]].filter(Boolean).join("/") || error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function isExpiredToken(error: unknown): boolean {
  return (
    CombinedGraphQLErrors.is(error) &&
    error.errors.some(
      (e) => e.extensions?.["code"] === "UNAUTHENTICATED" && e.extensions?.["reason"] === "TOKEN_EXPIRED",
    )
  );
}

// Operation context keys of this link.
interface AuthContext {
  sentAccessToken?: string | null;
  retriedAfterRefresh?: boolean;
  skipTokenRefresh?: boolean;
}

export class AuthSession {
  private tokens: Tokens | null = null;
  private refreshing: Promise<boolean> | null = null;
  /** Refresh mutations actually sent: one per expiry, however many operations hit it. */
  refreshCount = 0;
  /** Called once whenever the tokens are dropped because refreshing failed. */
  onSignOut: (reason: string) => void = () => {};
  /** Set once the client exists: the refresh runs through the same client. */
  refresher: Refresher | null = null;

  get accessToken(): string | null {
    return this.tokens?.accessToken ?? null;
  }

  get refreshToken(): string | null {
    return this.tokens?.refreshToken ?? null;
  }

  signIn(tokens: Tokens): void {
    this.tokens = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  signOut(): void {
    this.tokens = null;
  }

  /** Refreshes now; concurrent callers share one request. Resolves false after signing out. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * Replaces the tokens through a mutation that rotates them, as a refresh does
   * (switchOrganization retires the refresh token held before it). It runs like a refresh:
   * never while a refresh is presenting the token it would retire, and refreshes that expiring
   * operations ask for meanwhile wait for it, so no request presents a retired refresh token
   * (that counts as reuse and revokes the whole session). `mutation` must be sent with
   * `skipTokenRefresh`: when the access token has expired, this refreshes once and runs it again.
   */
  async rotate(mutation: () => Promise<Tokens>): Promise<void> {
    while (this.refreshing !== null) await this.refreshing;
    let failure: unknown = null;
    const replace = async (): Promise<boolean> => {
      try {
        this.signIn(await mutation());
      } catch (error) {
        if (!isExpiredToken(error) || !(await this.refreshNow())) {
          failure = error;
        } else {
          try {
            this.signIn(await mutation());
          } catch (again) {
            failure = again;
          }
        }
      }
      return this.accessToken !== null;
    };
    this.refreshing = replace().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
    if (failure !== null) throw failure;
  }

  private async refreshNow(): Promise<boolean> {
    const refreshToken = this.refreshToken;
    if (refreshToken === null || this.refresher === null) {
      this.signOut();
      this.onSignOut("no refresh token");
      return false;
    }
    this.refreshCount += 1;
    try {
      this.signIn(await this.refresher(refreshToken));
      return true;
    } catch (error) {
      this.signOut(); // a refused refresh token never works again: sign in anew
      this.onSignOut(`refresh failed (${describeError(error)})`);
      return false;
    }
  }

  /** errorLink -> authLink -> (your terminating link). */
  link(): ApolloLink {
    const authLink = new SetContextLink((previous) => {
      const token = this.accessToken;
      return {
        sentAccessToken: token,
        headers: { ...previous.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      };
    });

    const errorLink = new ErrorLink(({ error, operation, forward }) => {
      const context = operation.getContext() as AuthContext;
      if (!isExpiredToken(error) || context.skipTokenRefresh || context.retriedAfterRefresh) {
        return; // not ours to handle, or already retried once: the caller sees the error
      }
      return new Observable<ApolloLink.Result>((observer) => {
        let subscription: { unsubscribe(): void } | undefined;
        // Another operation may have refreshed since this one was sent: then just retry.
        const alreadyRefreshed =
          this.accessToken !== null && this.accessToken !== context.sentAccessToken;
        (alreadyRefreshed ? Promise.resolve(true) : this.refresh()).then(
          (refreshed) => {
            if (!refreshed) {
              observer.error(error);
              return;
            }
            operation.setContext({ retriedAfterRefresh: true } satisfies AuthContext);
            subscription = forward(operation).subscribe(observer);
          },
          (refreshError: unknown) => observer.error(refreshError),
        );
        return () => subscription?.unsubscribe();
      });
    });

    return ApolloLink.from([errorLink, authLink]);
  }
}
