import { createHash } from "node:crypto";
import { type IdempotencyStore, idempotency, memoryIdempotencyStore } from "@omnibus/core";
import { connect, type Service, type ServiceOptions, service } from "./bus.js";

export interface InventoryOptions extends ServiceOptions {
  /** Shared idempotency store; with several inventory processes use a Redis one. @default in-process */
  store?: IdempotencyStore;
}

/**
 * Consumes PlaceOrder commands, reserves stock once per order (duplicates are dropped by the
 * idempotency middleware), and publishes OrderPlaced.
 */
export async function startInventory(options: InventoryOptions): Promise<
  Service<{
    reserved: number;
    duplicatesDropped: number;
    stock: Record<string, number>;
    /** SHA-256 of each order's attachment, as received, by order id. */
    attachments: Map<string, string>;
  }>
> {
  const stats = {
    reserved: 0,
    duplicatesDropped: 0,
    attachments: new Map<string, string>(),
    stock: { widget: 1000, gadget: 1000, gizmo: 1000 } as Record<string, number>,
  };
  const bus = connect({
    ...options,
    use: [
      ...(options.use ?? []),
      idempotency({
        store: options.store ?? memoryIdempotencyStore(),
        key: (m) => `inventory:${(m.body as { orderId: string }).orderId}`,
        onDuplicate: (m) => {
          stats.duplicatesDropped++;
          options.log?.("inventory", `duplicate of ${(m.body as { orderId: string }).orderId} dropped`);
        },
      }),
    ],
  });
  await bus.consume(
    "shop.orders",
    async ({ body: order }) => {
      stats.stock[order.sku] = (stats.stock[order.sku] ?? 0) - order.qty;
      stats.reserved++;
      options.log?.("inventory", `reserved ${order.qty} × ${order.sku} for ${order.orderId}`);
      if (order.attachment !== undefined) {
        const pdf = Buffer.from(order.attachment, "base64");
        stats.attachments.set(order.orderId, createHash("sha256").update(pdf).digest("hex"));
        options.log?.("inventory", `filed the ${pdf.byteLength}-byte order form of ${order.orderId}`);
      }
      await bus.publish(
        "shop.order-placed",
        {
          orderId: order.orderId,
          customerId: order.customerId,
          email: order.email,
          sku: order.sku,
          qty: order.qty,
          total: Math.round(order.qty * order.unitPrice * 100) / 100,
        },
        { key: order.customerId },
      );
    },
    { concurrency: 4 },
  );
  return service("inventory", bus, stats);
}
