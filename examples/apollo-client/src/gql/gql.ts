/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n": typeof types.RefreshTokenDocument,
    "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": typeof types.LogoutDocument,
    "\n  query Me {\n    me {\n      id\n      username\n      email\n      role\n    }\n  }\n": typeof types.MeDocument,
    "\n  query UserDashboard {\n    userDashboard {\n      user {\n        username\n      }\n      activeSessions {\n        id\n        current\n      }\n      recentEvents(limit: 5) {\n        kind\n        at\n      }\n    }\n  }\n": typeof types.UserDashboardDocument,
    "\n  mutation EnrollTotp($currentPassword: String!) {\n    enrollTotp(currentPassword: $currentPassword) {\n      secret\n      otpauthUri\n    }\n  }\n": typeof types.EnrollTotpDocument,
    "\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n": typeof types.ConfirmTotpDocument,
    "\n  mutation VerifyMfa($input: VerifyMfaInput!) {\n    verifyMfa(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n": typeof types.VerifyMfaDocument,
    "\n  query SignInProviders {\n    signInProviders {\n      id\n      displayName\n    }\n  }\n": typeof types.SignInProvidersDocument,
    "\n  mutation BeginSocialSignIn($input: BeginSocialSignInInput!) {\n    beginSocialSignIn(input: $input) {\n      authorizationUrl\n      state\n    }\n  }\n": typeof types.BeginSocialSignInDocument,
    "\n  mutation FinishSocialSignIn($input: FinishSocialSignInInput!) {\n    finishSocialSignIn(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n": typeof types.FinishSocialSignInDocument,
    "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n": typeof types.CreateOrganizationDocument,
    "\n  query Organizations {\n    organizations {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n": typeof types.OrganizationsDocument,
    "\n  mutation SwitchOrganization($organizationId: ID) {\n    switchOrganization(organizationId: $organizationId) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n": typeof types.SwitchOrganizationDocument,
};
const documents: Documents = {
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n": types.RefreshTokenDocument,
    "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": types.LogoutDocument,
    "\n  query Me {\n    me {\n      id\n      username\n      email\n      role\n    }\n  }\n": types.MeDocument,
    "\n  query UserDashboard {\n    userDashboard {\n      user {\n        username\n      }\n      activeSessions {\n        id\n        current\n      }\n      recentEvents(limit: 5) {\n        kind\n        at\n      }\n    }\n  }\n": types.UserDashboardDocument,
    "\n  mutation EnrollTotp($currentPassword: String!) {\n    enrollTotp(currentPassword: $currentPassword) {\n      secret\n      otpauthUri\n    }\n  }\n": types.EnrollTotpDocument,
    "\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n": types.ConfirmTotpDocument,
    "\n  mutation VerifyMfa($input: VerifyMfaInput!) {\n    verifyMfa(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n": types.VerifyMfaDocument,
    "\n  query SignInProviders {\n    signInProviders {\n      id\n      displayName\n    }\n  }\n": types.SignInProvidersDocument,
    "\n  mutation BeginSocialSignIn($input: BeginSocialSignInInput!) {\n    beginSocialSignIn(input: $input) {\n      authorizationUrl\n      state\n    }\n  }\n": types.BeginSocialSignInDocument,
    "\n  mutation FinishSocialSignIn($input: FinishSocialSignInInput!) {\n    finishSocialSignIn(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n": types.FinishSocialSignInDocument,
    "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n": types.CreateOrganizationDocument,
    "\n  query Organizations {\n    organizations {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n": types.OrganizationsDocument,
    "\n  mutation SwitchOrganization($organizationId: ID) {\n    switchOrganization(organizationId: $organizationId) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n": types.SwitchOrganizationDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n"): (typeof documents)["\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n"): (typeof documents)["\n  mutation Logout($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      username\n      email\n      role\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      username\n      email\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UserDashboard {\n    userDashboard {\n      user {\n        username\n      }\n      activeSessions {\n        id\n        current\n      }\n      recentEvents(limit: 5) {\n        kind\n        at\n      }\n    }\n  }\n"): (typeof documents)["\n  query UserDashboard {\n    userDashboard {\n      user {\n        username\n      }\n      activeSessions {\n        id\n        current\n      }\n      recentEvents(limit: 5) {\n        kind\n        at\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EnrollTotp($currentPassword: String!) {\n    enrollTotp(currentPassword: $currentPassword) {\n      secret\n      otpauthUri\n    }\n  }\n"): (typeof documents)["\n  mutation EnrollTotp($currentPassword: String!) {\n    enrollTotp(currentPassword: $currentPassword) {\n      secret\n      otpauthUri\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n"): (typeof documents)["\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyMfa($input: VerifyMfaInput!) {\n    verifyMfa(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation VerifyMfa($input: VerifyMfaInput!) {\n    verifyMfa(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SignInProviders {\n    signInProviders {\n      id\n      displayName\n    }\n  }\n"): (typeof documents)["\n  query SignInProviders {\n    signInProviders {\n      id\n      displayName\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BeginSocialSignIn($input: BeginSocialSignInInput!) {\n    beginSocialSignIn(input: $input) {\n      authorizationUrl\n      state\n    }\n  }\n"): (typeof documents)["\n  mutation BeginSocialSignIn($input: BeginSocialSignInInput!) {\n    beginSocialSignIn(input: $input) {\n      authorizationUrl\n      state\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FinishSocialSignIn($input: FinishSocialSignInInput!) {\n    finishSocialSignIn(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation FinishSocialSignIn($input: FinishSocialSignInInput!) {\n    finishSocialSignIn(input: $input) {\n      accessToken\n      refreshToken\n      expiresIn\n      user {\n        id\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Organizations {\n    organizations {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n"): (typeof documents)["\n  query Organizations {\n    organizations {\n      id\n      name\n      slug\n      viewerRole\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SwitchOrganization($organizationId: ID) {\n    switchOrganization(organizationId: $organizationId) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n"): (typeof documents)["\n  mutation SwitchOrganization($organizationId: ID) {\n    switchOrganization(organizationId: $organizationId) {\n      accessToken\n      refreshToken\n      expiresIn\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;