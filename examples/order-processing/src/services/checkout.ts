import type { PlaceOrder } from "../contract.js";
import { connect, type Service, type ServiceOptions, service } from "./bus.js";

export interface Checkout extends Service<{ placed: number }> {
  /** Ask pricing for a quote, then queue the order. Resolves with the order's total. */
  placeOrder(
    order: Omit<PlaceOrder, "unitPrice">,
  ): Promise<{ orderId: string; total: number; messageId: string }>;
  /**
   * Send the same order again as a new message, as a client that timed out and retried would.
   * (A resend with the same message id would already be dropped by brokers with a duplicate
   * window, such as JetStream or SQS FIFO; a new message with the same order id is only caught
   * by inventory's idempotency key, the order id.)
   */
  resend(order: PlaceOrder): Promise<void>;
}

/** Takes orders from callers: quotes them over request-reply and queues PlaceOrder commands. */
export async function startCheckout(options: ServiceOptions): Promise<Checkout> {
  const bus = connect(options);
  await bus.connect();
  const stats = { placed: 0 };
  return {
    ...service("checkout", bus, stats),
    async placeOrder(order) {
      const { unitPrice } = await bus.request("shop.pricing", { sku: order.sku, qty: order.qty });
      const messageId = await bus.send("shop.orders", { ...order, unitPrice }, { key: order.customerId });
      stats.placed++;
      const total = Math.round(order.qty * unitPrice * 100) / 100;
      options.log?.(
        "checkout",
        `order ${order.orderId} placed: ${order.qty} × ${order.sku} = ${total.toFixed(2)}`,
      );
      return { orderId: order.orderId, total, messageId };
    },
    async resend(order) {
      await bus.send("shop.orders", order, { key: order.customerId });
      options.log?.("checkout", `order ${order.orderId} sent again (client retry)`);
    },
  };
}
