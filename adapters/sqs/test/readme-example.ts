// The example in README.md, verbatim from "import" to the last line of `orderDemo`. It runs in
// test/readme.integ.test.ts on RabbitMQ and on SQS + SNS with nothing but the URL changed.
import { createClient } from "@omnibus/core";

export async function orderDemo(url: string, suffix = "") {
  const bus = createClient({ url });
  const orders = `orders${suffix}`;
  const placed = `order.placed${suffix}`;
  const shipped: string[] = [];

  // A queue: each order goes to one worker.
  await bus.consume(orders, async (msg) => {
    const order = msg.body as { id: string; sku: string };
    await bus.publish(placed, { orderId: order.id }, { key: order.sku });
  });
  // A topic: every group gets every event.
  await bus.subscribe(placed, { group: "shipping" }, async (msg) => {
    shipped.push((msg.body as { orderId: string }).orderId);
  });
  // Request-reply.
  await bus.reply(`pricing${suffix}`, async (msg) => ({ price: 12, sku: (msg.body as { sku: string }).sku }));

  const quote = await bus.request(`pricing${suffix}`, { sku: "A-1" }, { timeoutMs: 5000 });
  await bus.send(orders, { id: "o-1", sku: "A-1" });
  while (shipped.length === 0) await new Promise((r) => setTimeout(r, 10));
  await bus.close();
  return { quote, shipped };
}
