/**
 * A consumer in a process of its own for `consumer-kill.integ.test.ts`: it prints `ready` once it
 * has its partitions, then the id of every message its handler finished, one per line, until the
 * test kills it.
 *   kill-child.ts <brokers> <queue>
 * @module
 */
import { createClient, silentLogger } from "@omnibus/core";
import { kafka } from "../src/index.js";

const [brokers, queue] = process.argv.slice(2);
const bus = createClient({ adapter: kafka({ brokers: brokers! }), logger: silentLogger });
await bus.consume(
  queue!,
  async (m) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    process.stdout.write(`${m.id}\n`);
  },
  { concurrency: 4, prefetch: 64 },
);
process.stdout.write("ready\n");
