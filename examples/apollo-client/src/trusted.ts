// Trusted documents for Apollo Client: every operation goes out as the SHA-256 that codegen
// wrote into its typed document (`__meta__.hash`, also the key in
// src/gql/persisted-documents.json), never as text. A server started with
// TRUSTED_DOCUMENTS_FILE=persisted-documents.json runs it from its own copy; text that
// was not built into the client is refused there (PERSISTED_QUERY_ID_REQUIRED).
import type { ApolloLink } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import type { DocumentNode } from "graphql";

/** The hash codegen's client preset embeds in each document it generates. */
export function trustedHashOf(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) {
    // A document written by hand, or codegen not re-run: the server would refuse it anyway.
    const name = document.definitions.find((d) => d.kind === "OperationDefinition")?.name?.value;
    throw new Error(`${name ?? "operation"} is not a trusted document: run npm run codegen`);
  }
  return hash;
}

/** Goes between the auth links and the HttpLink; sends `extensions.persistedQuery` only. */
export function trustedDocumentsLink(): ApolloLink {
  return new PersistedQueryLink({
    generateHash: trustedHashOf,
    // Automatic persisted queries would resend the text after PERSISTED_QUERY_NOT_FOUND,
    // or drop hashing for good after PERSISTED_QUERY_NOT_SUPPORTED. A trusted-documents
    // server answers PERSISTED_QUERY_NOT_IN_LIST for an unknown hash and refuses text,
    // so neither is any use: the error goes to the caller as it came.
    retry: () => false,
    disable: () => false,
  });
}
