import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BlobStore, claimCheck, fileBlobStore, type IdempotencyStore, type Logger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import type { PlaceOrder } from "./contract.js";
import { startCheckout } from "./services/checkout.js";
import { startEmail } from "./services/email.js";
import { startInventory } from "./services/inventory.js";
import { startPricing } from "./services/pricing.js";
import { startShipping } from "./services/shipping.js";

/** Options of {@link runOrderFlow}. */
export interface FlowOptions {
  /** Broker URL. The only thing that changes between brokers. */
  url: string;
  /** Redis URL for a shared idempotency store. @default an in-process store */
  redisUrl?: string;
  /** Orders to place. @default 10 */
  orders?: number;
  /** Where the services narrate. @default nothing */
  log?: (service: string, line: string) => void;
  logger?: Logger;
  /** Deadline for the whole flow to settle. @default 60000 */
  timeoutMs?: number;
  /**
   * Where large bodies go (the claim check). @default a file store in a new temporary directory,
   * removed after the run
   */
  blobStore?: BlobStore;
}

/** What a run did; the same on every broker. */
export interface FlowSummary {
  ordersPlaced: number;
  stockReserved: number;
  duplicatesDropped: number;
  shipped: number;
  emailed: number;
  deadLettered: number;
  quotes: number;
  /** Order forms (2 MiB) that reached inventory byte for byte. */
  attachmentsIntact: number;
  /** Payloads left in the blob store after the run (queue payloads go once acked). */
  payloadsLeft: number;
}

/** Size of the order form attached to the first order: more than SQS, NATS or Kafka take. */
const ATTACHMENT_BYTES = 2 * 1024 * 1024;

const skus = ["widget", "gadget", "gizmo"];

/**
 * Start every service of the shop in this process (each with its own client, as separate
 * processes would have), place orders — one of them for an address that cannot be mailed, and
 * one sent twice — wait until every service has done its part, and report.
 */
export async function runOrderFlow(options: FlowOptions): Promise<FlowSummary> {
  const count = options.orders ?? 10;
  // Bodies over the broker's limit travel through a blob store: the same services on every broker.
  const directory = options.blobStore ? undefined : await mkdtemp(join(tmpdir(), "omnibus-shop-"));
  const blobs = options.blobStore ?? fileBlobStore({ directory: directory! });
  const base = {
    url: options.url,
    use: [claimCheck({ store: blobs })],
    ...(options.log ? { log: options.log } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  };
  const store = options.redisUrl ? await redisStore(options.redisUrl) : undefined;
  const pricing = await startPricing(base);
  const inventory = await startInventory({ ...base, ...(store ? { store: store.store } : {}) });
  const shipping = await startShipping(base);
  const email = await startEmail(base);
  const checkout = await startCheckout(base);
  const services = [checkout, email, shipping, inventory, pricing];
  try {
    const run = Date.now().toString(36);
    const placed: { order: PlaceOrder; messageId: string }[] = [];
    const form = Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(ATTACHMENT_BYTES - 9)]);
    const formDigest = createHash("sha256").update(form).digest("hex");
    for (let i = 1; i <= count; i++) {
      const order = {
        orderId: `o-${run}-${i}`,
        customerId: `c-${i % 3}`,
        email: i === Math.ceil(count / 2) ? `nobody@bounce.invalid` : `customer${i}@example.com`,
        sku: skus[i % skus.length]!,
        qty: i,
        ...(i === 1 ? { attachment: form.toString("base64") } : {}),
      };
      const { messageId, total } = await checkout.placeOrder(order);
      placed.push({ order: { ...order, unitPrice: total / order.qty }, messageId });
    }
    // A client retry: the same order sent again.
    const again = placed[2 % placed.length]!;
    await checkout.resend(again.order);

    const deadline = { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 20 };
    await waitFor(
      () =>
        inventory.stats.reserved === count &&
        inventory.stats.duplicatesDropped >= 1 &&
        shipping.stats.shipped.size === count &&
        email.stats.sent.size + email.stats.deadLettered.size === count,
      {
        ...deadline,
        message: () =>
          `reserved=${inventory.stats.reserved} dropped=${inventory.stats.duplicatesDropped} ` +
          `shipped=${shipping.stats.shipped.size} emailed=${email.stats.sent.size} dead=${email.stats.deadLettered.size}`,
      },
    );
    await Promise.allSettled(services.map((s) => s.close())); // waits for acks and deletions
    return {
      attachmentsIntact: [...inventory.stats.attachments.values()].filter((d) => d === formDigest).length,
      payloadsLeft: directory === undefined ? 0 : await filesIn(directory),
      ordersPlaced: checkout.stats.placed,
      stockReserved: inventory.stats.reserved,
      duplicatesDropped: inventory.stats.duplicatesDropped,
      shipped: shipping.stats.shipped.size,
      emailed: email.stats.sent.size,
      deadLettered: email.stats.deadLettered.size,
      quotes: pricing.stats.quotes,
    };
  } finally {
    await Promise.allSettled(services.map((s) => s.close()));
    await store?.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  }
}

async function filesIn(directory: string): Promise<number> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}

async function redisStore(url: string): Promise<{ store: IdempotencyStore; close(): Promise<void> }> {
  const pkg = "@omnibus/redis"; // resolved at run time: only needed with --redis
  const redis = (await import(/* @vite-ignore */ pkg)) as {
    redisIdempotencyStore(options: {
      url: string;
      prefix?: string;
    }): IdempotencyStore & { close?(): Promise<void> };
  };
  const store = redis.redisIdempotencyStore({ url, prefix: "shop:idem:" });
  return { store, close: async () => store.close?.() };
}
