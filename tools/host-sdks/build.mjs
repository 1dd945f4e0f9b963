// Bundles each vendor SDK into one ES module under the bar's static files, so the bar
// (served with script-src 'self') loads it from the hub, never from a CDN.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const out = "../../src/ctibridge/web/agentbar/vendor";
const sdks = [
  { entry: "entries/hubspot.js", file: "hubspot-calling-extensions-sdk.js",
    pkg: "@hubspot/calling-extensions-sdk" },
  { entry: "entries/zendesk.js", file: "zendesk-app-framework-sdk.js",
    pkg: "zendesk_app_framework_sdk" },
];
for (const sdk of sdks) {
  const meta = JSON.parse(readFileSync(`node_modules/${sdk.pkg}/package.json`, "utf8"));
  const license = meta.license ?? (meta.licenses ?? []).map((l) => l.type).join(", ");
  await build({
    entryPoints: [sdk.entry], bundle: true, format: "esm", target: "es2020",
    outfile: `${out}/${sdk.file}`, legalComments: "inline", logLevel: "info",
    banner: { js: `// ${sdk.pkg}@${meta.version} (${license}), bundled by tools/host-sdks: do not edit.` },
  });
}
