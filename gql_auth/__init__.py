"""gql-auth: GraphQL authentication and authorization service."""
