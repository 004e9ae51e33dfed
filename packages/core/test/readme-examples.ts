// The code of packages/core/README.md, section "Details", block by block: readme.test.ts checks
// that each block below appears in the README as it stands here, and runs it.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bytesCodec,
  claimCheck,
  consoleLogger,
  createClient,
  fileBlobStore,
  idempotency,
  type Logger,
  type Middleware,
  memoryIdempotencyStore,
  silentLogger,
} from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { memoryBroker } from "@omnibus/memory";

export async function middlewareExample(): Promise<string[]> {
  const seen: string[] = [];
  // snippet:middleware
  const audit: Middleware = {
    name: "audit",
    async send(ctx, next) {
      ctx.options.headers["x-sent-by"] = "checkout"; // change headers or ctx.body before next()
      await next();
    },
    async consume(ctx, next) {
      const started = Date.now();
      await next(); // runs the next middleware, then the handler; a throw here fails the message
      seen.push(`${ctx.message.source} ${ctx.message.id} in ${Date.now() - started} ms`);
    },
  };
  const bus = createClient({ url: "memory://readme", use: [audit], logger: silentLogger });
  // endsnippet
  await bus.consume("audited", () => {});
  await bus.send("audited", { ok: true });
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  await bus.close();
  return seen;
}

/** The claim-check snippet: a 3 MiB body over memory://'s 1 MiB limit; what the handler got. */
export async function claimCheckExample(): Promise<{
  bytes: number;
  header: string | undefined;
  left: number;
}> {
  const directory = await mkdtemp(join(tmpdir(), "omnibus-readme-"));
  const invoicePdf = new Uint8Array(3 * 1024 * 1024).fill(7);
  let got: { bytes: number; header: string | undefined } | undefined;
  // snippet:claim-check
  const store = fileBlobStore({ directory }); // or s3BlobStore({ bucket }) from @omnibus/s3-store
  const bus = createClient({
    url: "memory://readme",
    logger: silentLogger,
    use: [claimCheck({ store })], // offloads bodies over the adapter's limit (less 8 KiB)
  });
  await bus.consume("invoices", (m) => {
    // The handler is unchanged: m.body is the 3 MiB payload, fetched and verified.
    got = { bytes: (m.body as Uint8Array).byteLength, header: m.headers["omnibus-claim-check"] };
  });
  await bus.send("invoices", invoicePdf, { codec: bytesCodec }); // 3 MiB > memory://'s 1 MiB
  // endsnippet
  const received = await waitFor(() => got, { timeoutMs: 10_000, message: "the invoice to arrive" });
  await bus.close(); // waits for the ack, and the payload's deletion after it
  const files = await readdir(directory, { recursive: true, withFileTypes: true });
  const left = files.filter((f) => f.isFile()).length;
  await rm(directory, { recursive: true, force: true });
  return { ...received, left };
}

export async function idempotencyKeyExample(): Promise<number> {
  let handled = 0;
  // snippet:idempotency-key
  // The key defaults to the message id: a client that re-sends with a new id is not deduplicated.
  // Key by what makes the work the same (an order id) when resends may carry new ids.
  const bus = createClient({
    url: "memory://readme",
    logger: silentLogger,
    use: [
      idempotency({ store: memoryIdempotencyStore(), key: (m) => (m.body as { orderId: string }).orderId }),
    ],
  });
  // endsnippet
  await bus.consume("orders-idem", () => {
    handled++;
  });
  await bus.send("orders-idem", { orderId: "o-1" });
  await bus.send("orders-idem", { orderId: "o-1" }); // a new message id, the same order
  await new Promise((r) => setTimeout(r, 100));
  await bus.close();
  return handled;
}

export function loggerExample(): Logger[] {
  // snippet:logger
  // Default: consoleLogger("warn") — every dead-lettered message is one warning on stderr.
  const quiet = createClient({ url: "memory://", logger: silentLogger });
  const chatty = createClient({ url: "memory://", logger: consoleLogger("debug") });
  // Any object with debug/info/warn/error(message, fields) fits, pino included:
  // createClient({ url, logger: pino() })
  // endsnippet
  void quiet.close();
  void chatty.close();
  return [silentLogger];
}

export async function deleteExample(): Promise<string[]> {
  const bus = createClient({ url: "memory://readme-delete", logger: silentLogger });
  await bus.ensureGroup("order.placed", "billing");
  await bus.ensureGroup("order.placed", "audit");
  await bus.send("orders", { sku: "A-1" });
  await bus.send("orders.dlq", { sku: "B-2" });
  // snippet:delete
  await bus.deleteGroup("order.placed", "billing"); // the group and its DLQ; other groups keep theirs
  await bus.deleteTopic("order.placed", { groups: ["audit"] }); // every group, and audit's DLQ too
  await bus.deleteQueue("orders", { deadLetterQueue: false }); // keep orders.dlq to inspect it
  // endsnippet
  const left = memoryBroker("readme-delete").queueNames();
  await bus.close();
  return left;
}

export async function statsExample(): Promise<{
  lag: number;
  deadLetters: number | undefined;
  status: string;
}> {
  const bus = createClient({ url: "memory://readme-stats", logger: silentLogger });
  await bus.send("orders", { sku: "A-1" });
  await bus.send("orders", { sku: "B-2" });
  // snippet:stats
  const { depth, inFlight, lag, deadLetters } = await bus.stats("orders"); // a queue
  const billing = await bus.stats("order.placed", { group: "billing" }); // a topic's group
  const { status, consumers, lastError } = bus.health(); // synchronous: for probes
  // endsnippet
  void [depth, inFlight, billing, consumers, lastError];
  await bus.deleteQueue("orders");
  await bus.close();
  return { lag, deadLetters, status };
}

export async function telemetryExample(): Promise<void> {
  // snippet:telemetry
  // With an SDK registered (NodeSDK, or a provider of your own), a client traces and measures:
  const bus = createClient({
    url: "memory://readme-telemetry",
    telemetry: { consumerContext: "parent" }, // "link" (default): the process span links the producer's
  });
  // endsnippet
  await bus.send("orders", { sku: "A-1" });
  await bus.deleteQueue("orders");
  await bus.close();
}
