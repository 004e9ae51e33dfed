import { check, equal, sameBytes } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { bytes, queue, trickyHeaders } from "../helpers.js";

export const roundTrip = adapterCase({
  id: "adapter/round-trip",
  title:
    "every field arrives as sent: id, bytes, headers (names' case, unicode, empty values), key, correlationId, replyTo, timestamp; attempt is 1",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "rt");
    const recorder = await ctx.consume(adapter, address, { autoAck: true });
    const headers = trickyHeaders();
    // A timestamp in the past: the adapter must carry the one it was given, not make its own.
    const full = ctx.message({
      body: bytes("héllo wörld ✓ 日本語 🚀"),
      headers,
      key: "customer-7",
      correlationId: "corr-1",
      replyTo: "reply-queue",
      timestamp: Date.now() - 123_456,
    });
    const bare = ctx.message({ body: bytes("bare") });
    await adapter.send(address, [full, bare]);
    await recorder.waitForCount(2, 15_000, "both messages sent");
    const got = new Map(recorder.received.map((r) => [r.message.id, r.message]));
    const m = got.get(full.id);
    check(
      m,
      `the message with every field (id ${full.id}) did not arrive; ids received: ${[...got.keys()].join(", ")}`,
    );
    sameBytes(m.body, full.body, "body");
    for (const [name, value] of Object.entries(headers)) {
      check(
        Object.hasOwn(m.headers, name),
        () =>
          `header ${JSON.stringify(name)} is missing; names received: ${Object.keys(m.headers).slice(0, 40).join(", ")}`,
      );
      equal(m.headers[name], value, `header ${JSON.stringify(name)}`);
    }
    equal(m.key, "customer-7", "key");
    equal(m.correlationId, "corr-1", "correlationId");
    equal(m.replyTo, "reply-queue", "replyTo");
    equal(m.timestamp, full.timestamp, "timestamp (the one given on send)");
    equal(m.attempt, 1, "attempt of a first delivery");
    const b = got.get(bare.id);
    check(b, `the message without optional fields (id ${bare.id}) did not arrive`);
    equal(b.key, undefined, "key of a message sent without one");
    equal(b.correlationId, undefined, "correlationId of a message sent without one");
    equal(b.replyTo, undefined, "replyTo of a message sent without one");
    for (const name of Object.keys(headers)) {
      check(
        !Object.hasOwn(b.headers, name),
        `header ${name} of another message leaked into a message sent without it`,
      );
    }
  },
});
