// The operations this example runs, as typed documents built by `npm run codegen`.
import { graphql } from "./gql/index.js";

export const RegisterDocument = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      refreshToken
      expiresIn
      user {
        id
        username
        role
      }
    }
  }
`);

export const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken
      refreshToken
      expiresIn
      user {
        id
        username
      }
    }
  }
`);

export const RefreshTokenDocument = graphql(`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      accessToken
      refreshToken
      expiresIn
    }
  }
`);

export const LogoutDocument = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const MeDocument = graphql(`
  query Me {
    me {
      id
      username
      email
      role
    }
  }
`);

export const UserDashboardDocument = graphql(`
  query UserDashboard {
    userDashboard {
      user {
        username
      }
      activeSessions {
        id
        current
      }
      recentEvents(limit: 5) {
        kind
        at
      }
    }
  }
`);

export const EnrollTotpDocument = graphql(`
  mutation EnrollTotp($currentPassword: String!) {
    enrollTotp(currentPassword: $currentPassword) {
      secret
      otpauthUri
    }
  }
`);

export const ConfirmTotpDocument = graphql(`
  mutation ConfirmTotp($code: String!) {
    confirmTotp(code: $code)
  }
`);

export const VerifyMfaDocument = graphql(`
  mutation VerifyMfa($input: VerifyMfaInput!) {
    verifyMfa(input: $input) {
      accessToken
      refreshToken
      expiresIn
      user {
        id
        username
      }
    }
  }
`);

export const SignInProvidersDocument = graphql(`
  query SignInProviders {
    signInProviders {
      id
      displayName
    }
  }
`);

export const BeginSocialSignInDocument = graphql(`
  mutation BeginSocialSignIn($input: BeginSocialSignInInput!) {
    beginSocialSignIn(input: $input) {
      authorizationUrl
      state
    }
  }
`);

export const FinishSocialSignInDocument = graphql(`
  mutation FinishSocialSignIn($input: FinishSocialSignInInput!) {
    finishSocialSignIn(input: $input) {
      accessToken
      refreshToken
      expiresIn
      user {
        id
        username
      }
    }
  }
`);

export const CreateOrganizationDocument = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
      name
      slug
      viewerRole
    }
  }
`);

export const OrganizationsDocument = graphql(`
  query Organizations {
    organizations {
      id
      name
      slug
      viewerRole
    }
  }
`);

export const SwitchOrganizationDocument = graphql(`
  mutation SwitchOrganization($organizationId: ID) {
    switchOrganization(organizationId: $organizationId) {
      accessToken
      refreshToken
      expiresIn
    }
  }
`);
