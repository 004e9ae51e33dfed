// An outbox relay in a process of its own, for the SIGKILL test. Args: url, schema, target URL.
import { silentLogger } from "@omnibus/core";
import { outboxRelay } from "../../src/index.js";

const [url, schema, target] = process.argv.slice(2) as [string, string, string];
outboxRelay({ url, schema, target, batchSize: 50, pollMs: 100, logger: silentLogger });
process.stdout.write("ready\n");
