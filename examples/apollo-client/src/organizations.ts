// Organizations: the caller's list, creating one, and switching the session's active one.
//
// switchOrganization answers with new tokens, as refreshToken does: the refresh token held
// before is retired, and presenting it again revokes the whole session. So the switch runs
// through AuthSession.rotate (one token-changing request at a time) and the new pair is kept
// at once. The new access token carries org_id and org_role as read at that moment, for other
// services (and Hasura's x-hasura-org-id); gql-auth itself reads the membership on every request.
import type { ApolloClient } from "@apollo/client";

import type { AuthSession } from "./auth.js";
import {
  CreateOrganizationDocument,
  OrganizationsDocument,
  SwitchOrganizationDocument,
} from "./operations.js";

export interface Organization {
  id: string;
  name: string;
  slug: string;
  /** The caller's role there: MEMBER, ADMIN or OWNER. */
  viewerRole: string | null;
}

/** The active organization an access token names (null without one). */
export interface OrganizationClaims {
  orgId: string | null;
  orgRole: string | null;
}

/** Reads the claims without checking the signature: for display only, never for decisions. */
export function organizationClaims(accessToken: string): OrganizationClaims {
  const payload = accessToken.split(".")[1] ?? "";
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as {
    org_id?: string;
    org_role?: string;
  };
  return { orgId: claims.org_id ?? null, orgRole: claims.org_role ?? null };
}

export class Organizations {
  constructor(
    private readonly client: ApolloClient,
    private readonly session: AuthSession,
  ) {}

  /** The caller's organizations with their role in each, oldest membership first. */
  async list(): Promise<Organization[]> {
    const { data } = await this.client.query({ query: OrganizationsDocument, fetchPolicy: "network-only" });
    return (data?.organizations ?? []).map(({ id, name, slug, viewerRole }) => ({ id, name, slug, viewerRole }));
  }

  /** A new organization; the caller becomes its OWNER. `slug`: a DNS label, unique. */
  async create(name: string, slug: string): Promise<Organization> {
    const { data } = await this.client.mutate({
      mutation: CreateOrganizationDocument,
      variables: { input: { name, slug } },
    });
    if (!data) throw new Error("createOrganization returned no data");
    const created = data.createOrganization;
    return { id: created.id, name: created.name, slug: created.slug, viewerRole: created.viewerRole };
  }

  /** Makes the organization (null: none) the session's active one; the new token's claims. */
  async switchTo(organizationId: string | null): Promise<OrganizationClaims> {
    await this.session.rotate(async () => {
      const { data } = await this.client.mutate({
        mutation: SwitchOrganizationDocument,
        variables: { organizationId },
        context: { skipTokenRefresh: true }, // rotate() refreshes and retries on TOKEN_EXPIRED
      });
      if (!data) throw new Error("switchOrganization returned no data");
      return data.switchOrganization;
    });
    // Apollo's cache still holds answers read in the previous organization; the app decides
    // when to drop them (client.resetStore() rejects queries still in flight).
    const accessToken = this.session.accessToken;
    if (accessToken === null) throw new Error("signed out while switching");
    return organizationClaims(accessToken);
  }
}
