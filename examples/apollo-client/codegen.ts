// Typed documents from gql-auth's schema.graphql: `npm run codegen` after the schema
// changes, then commit src/gql/. tests/test_apollo_example.py fails on any drift.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**"],
  // The drift test writes to a temporary directory and compares it with src/gql/.
  generates: {
    [process.env.CODEGEN_OUTPUT ?? "src/gql/"]: {
      preset: "client",
      presetConfig: { fragmentMasking: false },
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
