// The ES module sources (src/main), not the webpack build: esbuild keeps it one module.
export * from "@salesforce/scv-connector-base/src/main/index.js";
