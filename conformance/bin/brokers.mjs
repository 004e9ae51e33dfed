#!/usr/bin/env node
// Entry point of `omnibus-brokers` (see conformance/src/brokers/cli.ts).
import("../dist/src/brokers/cli.js");
