/**
 * A consumer in a process of its own, for the consumer-kill scenario: it prints the id of every
 * message its handler finished, one per line, until the parent kills it.
 *   consumer-child.ts <broker> <address> <queue> <handlerMs>
 * @module
 */
import { createClient, silentLogger } from "@omnibus/core";
import { type ChaosBroker, SETUPS } from "./brokers.js";

const [broker, address, queue, handlerMs] = process.argv.slice(2);
const bus = createClient({ adapter: SETUPS[broker as ChaosBroker].adapter(address!), logger: silentLogger });
await bus.consume(
  queue!,
  async (m) => {
    await new Promise((resolve) => setTimeout(resolve, Number(handlerMs)));
    process.stdout.write(`${m.id}\n`);
  },
  { concurrency: 4, prefetch: 64 },
);
process.stdout.write("ready\n");
