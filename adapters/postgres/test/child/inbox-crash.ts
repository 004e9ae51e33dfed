// A consumer that dies mid-handler: its inbox handler writes a row through the transaction it
// was given, then the process SIGKILLs itself before COMMIT. Args: url, schema, queue.
import { createClient, silentLogger } from "@omnibus/core";
import { inbox, postgres } from "../../src/index.js";

const [url, schema, queue] = process.argv.slice(2) as [string, string, string];
const bus = createClient({ adapter: postgres({ url, schema, leaseMs: 1_000 }), logger: silentLogger });
await bus.consume(
  queue,
  inbox<{ n: number }>({ url, schema }, async (message, tx) => {
    await tx.query(`INSERT INTO ${schema}.ledger (message_id, n) VALUES ($1, $2)`, [
      message.id,
      message.body.n,
    ]);
    process.stdout.write(`wrote ${message.id}\n`);
    process.kill(process.pid, "SIGKILL");
  }),
);
process.stdout.write("ready\n");
