// `pnpm demo`: the order-processing system on the embedded memory broker (or --url / BROKER_URL).
import { type FlowSummary, runOrderFlow } from "./flow.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const url = flag("url") ?? process.env.BROKER_URL ?? "memory://";
const redisUrl = flag("redis") ?? process.env.REDIS_URL;
const orders = Number(flag("orders") ?? 10);

const width = 10;
const started = Date.now();
const { maskUrl } = await import("@omnibus/core");
console.log(`Omnibus order-processing demo on ${maskUrl(url)}\n`);
console.log("services: checkout -> pricing (request-reply) -> shop.orders (queue) -> inventory (idempotent)");
console.log("          -> shop.order-placed (topic) -> shipping, email (groups) -> email DLQ\n");

let summary: FlowSummary;
try {
  summary = await runOrderFlow({
    url,
    orders,
    ...(redisUrl ? { redisUrl } : {}),
    log: (service, line) => console.log(`  ${service.padEnd(width)} ${line}`),
  });
} catch (error) {
  console.error(`\ndemo failed: ${(error as Error).message}`);
  process.exit(1);
}
console.log(`\nsummary (${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(`  orders placed        ${summary.ordersPlaced}`);
console.log(`  price quotes         ${summary.quotes}`);
console.log(`  stock reserved       ${summary.stockReserved}`);
console.log(`  duplicates dropped   ${summary.duplicatesDropped}`);
console.log(
  `  events delivered     shipping ${summary.shipped}, email ${summary.emailed + summary.deadLettered}`,
);
console.log(`  emails sent          ${summary.emailed}`);
console.log(`  dead-lettered        ${summary.deadLettered}`);
console.log(
  `  2 MiB order forms    ${summary.attachmentsIntact} intact (claim check), ${summary.payloadsLeft} left in the store`,
);
