#!/usr/bin/env node
// Entry point of `omnibus-conformance` (see conformance/src/cli.ts).
import("../dist/src/cli.js");
