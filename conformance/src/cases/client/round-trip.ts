import { bytesCodec, type Message } from "@omnibus/core";
import { check, equal, sameBytes, within } from "../../assert.js";
import { clientCase } from "../../case.js";
import { bytes, randomBody, trickyHeaders } from "../helpers.js";

export const clientRoundTrip = clientCase({
  id: "client/round-trip",
  title:
    "a JSON body, headers (names' case kept), key and correlation id arrive unchanged; attempt 1; timestamp is the send time",
  timeoutMs: 30_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("rt");
    const got: Message[] = [];
    await bus.consume(queue, (m) => {
      got.push(m);
    });
    const body = {
      text: "héllo wörld ✓ 日本語 🚀",
      n: 42,
      nested: { list: [1, "two", null] },
      big: "x".repeat(10_000),
    };
    const headers = trickyHeaders();
    const before = Date.now();
    const id = await bus.send(queue, body, { headers, key: "customer-7", correlationId: "corr-1" });
    const after = Date.now();
    await ctx.waitUntil(
      () => got.length >= 1,
      15_000,
      () => "the message did not arrive",
    );
    const m = got[0]!;
    equal(m.id, id, "id");
    equal(m.body, body, "body");
    for (const [name, value] of Object.entries(headers))
      equal(m.headers[name], value, `header ${JSON.stringify(name)}`);
    equal(m.key, "customer-7", "key");
    equal(m.correlationId, "corr-1", "correlationId");
    equal(m.attempt, 1, "attempt");
    equal(m.source, queue, "source");
    within(
      m.timestamp.getTime(),
      before,
      after,
      "timestamp (ms since the epoch) between the send call and its return",
      "",
    );
  },
});

export const clientBodies = clientCase({
  id: "client/bodies",
  title: "binary, empty, undefined and identical bodies arrive as sent, each a separate message",
  timeoutMs: 30_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("bin");
    const got = new Map<string, Message>();
    await bus.consume(queue, (m) => {
      got.set(m.id, m);
    });
    const binary = new Uint8Array(256).map((_, i) => i);
    const binId = await bus.send(queue, binary, { codec: bytesCodec });
    const emptyId = await bus.send(queue, new Uint8Array(0), { codec: bytesCodec });
    const undefinedId = await bus.send(queue, undefined);
    const same = await bus.sendBatch(queue, [{ body: "same" }, { body: "same" }, { body: "same" }]);
    await ctx.waitUntil(
      () => got.size >= 6,
      15_000,
      () => `6 messages; ${got.size} arrived`,
    );
    sameBytes(got.get(binId)?.body as Uint8Array, binary, "binary body");
    sameBytes(got.get(emptyId)?.body as Uint8Array, new Uint8Array(0), "empty body");
    equal(got.get(undefinedId)?.body, undefined, "undefined body");
    equal(new Set(same).size, 3, "ids of three identical bodies");
    for (const id of same) equal(got.get(id)?.body, "same", "identical body");
  },
});

/** Bytes core counts for the content-type header of a bytes body. */
const BYTES_HEADER = "omnibus-content-type".length + bytesCodec.contentType.length;

export const clientMaxSize = clientCase({
  id: "client/max-size",
  title: "a random binary body filling maxMessageBytes (with its content-type header) arrives byte for byte",
  timeoutMs: 60_000,
  skip: ({ features }) =>
    features.maxMessageBytes > 32 * 1024 * 1024 ? "maxMessageBytes over the case's 32 MiB cap" : undefined,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("max");
    const got: Message[] = [];
    await bus.consume(
      queue,
      (m) => {
        got.push(m);
      },
      { codec: bytesCodec, prefetch: 2 },
    );
    const body = randomBody(bus.features.maxMessageBytes - BYTES_HEADER);
    await bus.send(queue, body, { codec: bytesCodec });
    await ctx.waitUntil(
      () => got.length >= 1,
      30_000,
      () => `the ${body.byteLength}-byte message did not arrive`,
    );
    sameBytes(got[0]!.body as Uint8Array, body, `body of ${body.byteLength} bytes`);
  },
});

export const clientSenderBuffer = clientCase({
  id: "client/sender-buffer",
  title: "the sender may reuse its buffer once send() resolved: the message keeps the bytes it had",
  timeoutMs: 30_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("buf");
    const buffer = Buffer.from(bytes("original content of the buffer"));
    const expected = Uint8Array.from(buffer);
    await bus.send(queue, buffer, { codec: bytesCodec });
    buffer.fill(0x2a);
    const got: Message[] = [];
    await bus.consume(
      queue,
      (m) => {
        got.push(m);
      },
      { codec: bytesCodec },
    );
    await ctx.waitUntil(
      () => got.length >= 1,
      15_000,
      () => "the message did not arrive",
    );
    sameBytes(got[0]!.body as Uint8Array, expected, "body after the sender overwrote its buffer");
    check(got.length === 1, `${got.length} deliveries of one message`);
  },
});
