#!/usr/bin/env node
// Entry point of `omnibus` (see packages/cli/src/main.ts).
const { main } = await import("../dist/src/index.js");
process.exitCode = await main(process.argv.slice(2));
