// Compile-time contract checks: `tsc -b` fails if any @ts-expect-error stops being an error.
import { body, createClient, defineContract } from "@omnibus/core";
import { expect, it } from "vitest";

interface Order {
  sku: string;
  qty: number;
}
const contract = defineContract({
  queues: { orders: body<Order>() },
  topics: { "order.placed": body<{ orderId: string }>() },
  requests: { price: { request: body<{ sku: string }>(), response: body<number>() } },
});

export async function typed() {
  const bus = createClient({ url: "memory://", contract });
  await bus.send("orders", { sku: "a", qty: 1 });
  // @ts-expect-error wrong body
  await bus.send("orders", { sku: "a" });
  // @ts-expect-error unknown queue
  await bus.send("ordrs", { sku: "a", qty: 1 });
  await bus.consume("orders", (m) => {
    const qty: number = m.body.qty;
    // @ts-expect-error no such field
    m.body.price;
    return void qty;
  });
  await bus.consume("orders.dlq", (m) => void m.body.sku);
  await bus.publish("order.placed", { orderId: "1" });
  // @ts-expect-error wrong topic body
  await bus.publish("order.placed", { id: 1 });
  const price: number = await bus.request("price", { sku: "a" });
  // @ts-expect-error response is a number
  const wrong: string = await bus.request("price", { sku: "a" });
  // @ts-expect-error reply must return a number
  await bus.reply("price", () => "free");
  // Without a contract: any name, unknown bodies.
  const loose = createClient();
  await loose.send("anything", { whatever: true });
  await loose.consume("anything", (m) => {
    // @ts-expect-error body is unknown
    m.body.whatever;
  });
  return [price, wrong];
}

it("compiles (the checks are the @ts-expect-error lines above)", () => {
  expect(typeof typed).toBe("function");
});
