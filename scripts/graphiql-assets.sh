#!/usr/bin/env bash
# Copies the pinned browser builds of GraphiQL, React and React DOM from npm into
# gql_auth/web/graphiql/static/vendor/, with their versions and licences, so that
# the package serves GraphiQL itself (no CDN) and installing it never needs node.
#
# Usage: scripts/graphiql-assets.sh    (needs node and npm; run after changing
# gql_auth/web/graphiql/package.json, then commit package-lock.json and static/vendor/)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
project="$here/gql_auth/web/graphiql"
vendor="$project/static/vendor"

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "graphiql-assets: $tool is not installed" >&2; exit 1; }
done

cd "$project"
# --ignore-scripts: nothing from the registry runs here; we only copy files.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

rm -rf "$vendor"
mkdir -p "$vendor/licenses"
modules="$project/node_modules"
cp "$modules/react/umd/react.production.min.js" "$vendor/"
cp "$modules/react-dom/umd/react-dom.production.min.js" "$vendor/"
cp "$modules/graphiql/graphiql.min.css" "$vendor/"
# The source map is not shipped; drop the comment that would make devtools ask for it.
sed '/^\/\/# sourceMappingURL=/d' "$modules/graphiql/graphiql.min.js" >"$vendor/graphiql.min.js"

# VERSIONS.txt and the licences: every package in graphiql's locked tree, since
# graphiql.min.js bundles its dependencies (MIT and friends require the notices).
node - "$modules" "$vendor" <<'NODE'
const fs = require("fs");
const path = require("path");
const [modules, vendor] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(modules, "..", "package-lock.json"), "utf8"));
const version = (name) => lock.packages[`node_modules/${name}`].version;
const licenceFile = (dir) =>
  fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));

const versions = [
  "# Browser builds served at /graphiql/static/vendor/, written by scripts/graphiql-assets.sh.",
  "# Pinned by gql_auth/web/graphiql/package.json and package-lock.json; do not edit by hand.",
  "",
  `graphiql.min.js, graphiql.min.css  graphiql@${version("graphiql")}  (UMD build; bundles its own dependencies)`,
  `react.production.min.js            react@${version("react")}`,
  `react-dom.production.min.js        react-dom@${version("react-dom")}`,
  "",
  "Copied unchanged, except that graphiql.min.js loses its sourceMappingURL comment",
  "(the source map is not shipped).",
  "",
  "Licences: licenses/<package>.txt for the three packages above; THIRD_PARTY_LICENSES.txt",
  "holds the notice of every package in the locked tree (name, version, licence, text;",
  "a package that ships no licence file is listed with the licence its package.json declares).",
  "",
];
fs.writeFileSync(path.join(vendor, "VERSIONS.txt"), versions.join("\n"));

for (const name of ["graphiql", "react", "react-dom"]) {
  const dir = path.join(modules, name);
  fs.copyFileSync(path.join(dir, licenceFile(dir)), path.join(vendor, "licenses", `${name}.txt`));
}

const notices = [];
for (const [key, entry] of Object.entries(lock.packages).sort()) {
  if (!key.startsWith("node_modules/")) continue;
  const name = key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
  const dir = path.join(modules, "..", key);
  const file = fs.existsSync(dir) ? licenceFile(dir) : undefined;
  const text = file ? fs.readFileSync(path.join(dir, file), "utf8").trim() : "(no licence file in the package)";
  notices.push(`${"=".repeat(78)}\n${name}@${entry.version}  ${entry.license || "UNKNOWN"}\n${"=".repeat(78)}\n${text}\n`);
}
fs.writeFileSync(path.join(vendor, "THIRD_PARTY_LICENSES.txt"), notices.join("\n"));
NODE

echo "graphiql-assets: wrote $(ls "$vendor" | wc -l) entries to ${vendor#"$here"/}:"
sed -n '4,6p' "$vendor/VERSIONS.txt"
