/**
 * Raw amqplib, no Omnibus: which messages of a classic durable queue does RabbitMQ flag
 * `redelivered` after a restart, and how soon after the node accepts connections again does a
 * raw consumer get its first message? A private broker (never the shared one); N persistent
 * messages published and confirmed, the first `--delivered` of them delivered to a consumer and
 * left unacked; then `kill -9` + start (or a graceful restart with `--graceful`); a raw client
 * retrying every 100 ms consumes the queue. Run from adapters/rabbitmq:
 *
 *   node --conditions=@omnibus/source --import tsx bench/recovery-redelivered.mts [--messages 3000] [--delivered 64] [--graceful]
 *
 * Prints one JSON line per run: how many came back flagged redelivered, and the times from the
 * broker's start resolving (its probe accepted a connection) to the first basic.consume-ok and
 * to the first delivery.
 */
import { randomUUID } from "node:crypto";
import { startPrivate } from "@omnibus/brokers";
import amqp from "amqplib";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const MESSAGES = Number(flag("messages", "3000"));
const DELIVERED = Number(flag("delivered", "64"));
const GRACEFUL = argv.includes("--graceful");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

await using broker = await startPrivate("rabbitmq");
const queue = `recovery-${randomUUID().slice(0, 8)}`;
{
  const c = await amqp.connect(broker.url);
  const ch = await c.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  for (let i = 0; i < MESSAGES; i++) ch.sendToQueue(queue, Buffer.from(String(i)), { persistent: true });
  await ch.waitForConfirms();
  // A consumer that takes the first DELIVERED messages and never acks them.
  const consumer = await c.createChannel();
  await consumer.prefetch(DELIVERED);
  let got = 0;
  await consumer.consume(queue, () => {
    got++;
  });
  while (got < DELIVERED) await sleep(10);
  await sleep(500); // the broker's index notes the deliveries
  c.on("error", () => {});
}
if (GRACEFUL) await broker.restart();
else {
  await broker.kill();
  await broker.start();
}
const restored = Date.now();
let consumeOk: number | undefined;
let first: number | undefined;
let redelivered = 0;
let received = 0;
for (;;) {
  try {
    const c = await amqp.connect(broker.url);
    c.on("error", () => {});
    const ch = await c.createChannel();
    await ch.prefetch(1000);
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      first ??= Date.now() - restored;
      received++;
      if (msg.fields.redelivered) redelivered++;
      ch.ack(msg);
    });
    consumeOk = Date.now() - restored;
    break;
  } catch {
    await sleep(100);
  }
}
const deadline = Date.now() + 30_000;
while (received < MESSAGES && Date.now() < deadline) await sleep(50);
console.log(
  JSON.stringify({
    fault: GRACEFUL ? "graceful restart" : "SIGKILL + start",
    messages: MESSAGES,
    deliveredUnackedBefore: DELIVERED,
    received,
    redelivered,
    restoreToConsumeOkMs: consumeOk,
    restoreToFirstDeliveryMs: first,
  }),
);
process.exit(0);
