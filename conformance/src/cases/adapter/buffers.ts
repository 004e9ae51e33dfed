import { sameBytes } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { bytes, queue } from "../helpers.js";

export const senderBuffer = adapterCase({
  id: "adapter/sender-buffer",
  title: "a sender may overwrite its body buffer once send() resolved: the message keeps the bytes sent",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "buf");
    const body = Buffer.from(bytes("the original bytes of this message"));
    const expected = Uint8Array.from(body);
    const m = ctx.message({ body });
    await adapter.send(address, [m]);
    body.fill(0x21); // the application reuses its buffer
    const recorder = await ctx.consume(adapter, address, { autoAck: true });
    await recorder.waitForCount(1, 15_000, "the message");
    sameBytes(recorder.received[0]!.message.body, expected, "body after the sender overwrote its buffer");
  },
});

export const redeliveryIntact = adapterCase({
  id: "adapter/redelivery-intact",
  title: "a redelivery carries the bytes sent, even if the consumer wrote into the buffer it was given",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "intact");
    const recorder = await ctx.consume(adapter, address);
    const m = ctx.message({ body: bytes("keep these bytes intact") });
    await adapter.send(address, [m]);
    await recorder.waitForCount(1, 15_000, "the message");
    const first = recorder.received[0]!;
    first.message.body.fill(0x3f); // a handler scribbles over the body it was given
    await recorder.nack(first);
    await recorder.waitForCount(2, 15_000, "the nacked message, redelivered");
    const second = recorder.received[1]!;
    await recorder.ack(second);
    sameBytes(second.message.body, m.body, "body of the redelivery");
  },
});
