import { sameBytes } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, randomBody } from "../helpers.js";

/** Limit the case to bodies a test can hold in memory comfortably. */
const CAP = 32 * 1024 * 1024;

export const maxSize = adapterCase({
  id: "adapter/max-size",
  title: "a random body of exactly maxMessageBytes (no headers) arrives byte for byte",
  timeoutMs: 60_000,
  skip: ({ features }) =>
    features.maxMessageBytes > CAP
      ? `maxMessageBytes ${features.maxMessageBytes} is over the case's 32 MiB cap`
      : undefined,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "max");
    const recorder = await ctx.consume(adapter, address, { autoAck: true, prefetch: 2 });
    const body = randomBody(adapter.features.maxMessageBytes);
    const m = ctx.message({ body });
    await adapter.send(address, [m]);
    await recorder.waitForCount(1, 30_000, `the ${body.byteLength}-byte message`);
    sameBytes(recorder.received[0]!.message.body, body, `body of ${body.byteLength} bytes`);
  },
});
