// Typed documents from gql-auth's schema.graphql, and the manifest of trusted documents:
// `npm run codegen` after the schema or an operation changes, then commit src/gql/
// (persisted-documents.json included). tests/system/test_apollo_example.py fails on any drift.
import { createHash } from "node:crypto";

import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**"],
  // The drift test writes to a temporary directory and compares it with src/gql/.
  generates: {
    [process.env.CODEGEN_OUTPUT ?? "src/gql/"]: {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        // persisted-documents.json maps each document's SHA-256 to its text: the server
        // runs only those (TRUSTED_DOCUMENTS_FILE), and each typed document carries its
        // hash as `__meta__.hash` for the link to send instead of the text.
        persistedDocuments: {
          // The plain hex digest, as TRUSTED_DOCUMENTS_FILE's keys and Apollo's
          // persistedQuery.sha256Hash is; `hashAlgorithm: "sha256"` would prefix it
          // with "sha256:" (the documentId form), and the link would send the prefix too.
          hashAlgorithm: (document) => createHash("sha256").update(document).digest("hex"),
        },
      },
      // Apollo's cache adds __typename to what it sends; with only a hash sent, the
      // server runs the manifest's text, so the text must ask for __typename itself.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string" },
      },
    },
  },
  // Node's ESM loader wants explicit .js extensions in relative imports.
  emitLegacyCommonJSImports: false,
  ignoreNoDocuments: false,
};

export default config;
