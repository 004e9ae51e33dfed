import { connect, createServer, type Server, type Socket } from "node:net";
import { brokerUrl } from "@omnibus/brokers";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rabbitmq } from "../src/index.js";

/**
 * A connection that ends after the AMQP handshake, while the adapter opens its first channel (a
 * broker restarting, a network cut at the wrong moment). amqplib emits 'error' on the connection
 * then; an 'error' event nobody listens to ends the process (seen once in a loaded CI run).
 *
 * In front of the shared RabbitMQ, a relay that forwards the handshake and ends both sockets when
 * the client sends its first frame on a channel other than 0 (channel.open).
 */
let relay: Server;
let port = 0;
const upstream = new URL(brokerUrl("rabbitmq"));

beforeAll(async () => {
  relay = createServer((client: Socket) => {
    const server = connect(Number(upstream.port || 5672), upstream.hostname);
    server.on("error", () => client.destroy());
    client.on("error", () => server.destroy());
    server.pipe(client);
    let buffered = Buffer.alloc(0);
    let headerSeen = false;
    client.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!headerSeen && buffered.length >= 8) {
        headerSeen = true; // "AMQP\0\0\x09\x01"
        server.write(buffered.subarray(0, 8));
        buffered = buffered.subarray(8);
      }
      // Frames: type (1), channel (2), size (4), payload, 0xCE.
      while (headerSeen && buffered.length >= 7) {
        const channel = buffered.readUInt16BE(1);
        const size = buffered.readUInt32BE(3);
        if (buffered.length < 8 + size) break;
        if (channel !== 0) {
          client.destroy();
          server.destroy();
          return;
        }
        server.write(buffered.subarray(0, 8 + size));
        buffered = buffered.subarray(8 + size);
      }
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  port = (relay.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));

it("a connection that ends while the first channel opens fails connect() with a ConnectionError, and nothing is thrown at the process", async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  const adapter = rabbitmq({
    url: `amqp://${upstream.username}:${upstream.password}@127.0.0.1:${port}`,
    connectTimeoutMs: 3_000,
    operationTimeoutMs: 3_000,
    reconnect: false,
  });
  try {
    for (let i = 0; i < 5; i++) {
      await expect(adapter.connect()).rejects.toMatchObject({ code: "OMNIBUS_CONNECTION" });
    }
    // The 'end' of the socket is handled a turn of the event loop later.
    await new Promise((resolve) => setImmediate(resolve));
    expect(uncaught.map(String)).toEqual([]);
  } finally {
    process.off("uncaughtException", onUncaught);
    await adapter.close();
  }
});
