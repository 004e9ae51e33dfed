#!/usr/bin/env node
// Entry point of `omnibus-brokers` (see packages/brokers/src/cli.ts).
import("../dist/src/cli.js");
