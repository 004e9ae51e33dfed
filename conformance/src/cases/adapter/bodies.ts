import { check, equal, sameBytes } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { bytes, queue, randomBody } from "../helpers.js";

export const bodies = adapterCase({
  id: "adapter/bodies",
  title:
    "binary bodies arrive byte for byte; empty bodies stay empty; identical bodies stay separate messages",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "bodies");
    const recorder = await ctx.consume(adapter, address, { autoAck: true });
    const everyByte = new Uint8Array(512).map((_, i) => i % 256);
    const random = randomBody(Math.min(100_000, adapter.features.maxMessageBytes - 1_000));
    const messages = [
      ctx.message({ body: everyByte }),
      ctx.message({ body: random }),
      ctx.message({ body: new Uint8Array(0) }),
      ...[0, 1, 2].map(() => ctx.message({ body: bytes("same") })),
    ];
    await adapter.send(address, messages);
    await recorder.waitForCount(messages.length, 15_000, "every message sent");
    for (const sent of messages) {
      const got = recorder.of(sent.id);
      equal(got.length, 1, `deliveries of message ${sent.id}`);
      sameBytes(got[0]!.message.body, sent.body, `body of a ${sent.body.byteLength}-byte message`);
    }
    check(new Set(recorder.ids()).size === messages.length, "identical bodies must stay separate messages");
  },
});
