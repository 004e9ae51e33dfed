import { afterDelay, check } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { ms, queue } from "../helpers.js";

const DELAY_MS = 1_500;

export const sendDelay = adapterCase({
  id: "adapter/delay",
  title:
    "a message sent with delayMs arrives no sooner than the delay and no later than the declared bound after it",
  skip: ({ features }) => (features.delay ? undefined : "features.delay is false"),
  timeoutMs: 40_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "delay");
    const recorder = await ctx.consume(adapter, address, { autoAck: true });
    const sentAt = Date.now();
    const delayed = ctx.message({ delayMs: DELAY_MS });
    const now = ctx.message();
    // One send call with both: a delay must belong to its own message only.
    await adapter.send(address, [delayed, now]);
    const bound = ctx.t(ctx.options.redeliveryBoundMs);
    await ctx.waitUntil(
      () => recorder.of(delayed.id).length > 0 && recorder.of(now.id).length > 0,
      DELAY_MS + bound + 10_000,
      () =>
        `delayed arrived: ${recorder.of(delayed.id).length > 0}; undelayed arrived: ${recorder.of(now.id).length > 0}`,
    );
    const d = recorder.of(delayed.id)[0]!;
    const n = recorder.of(now.id)[0]!;
    afterDelay(
      ms(sentAt, d.at),
      DELAY_MS,
      DELAY_MS + bound + ms(sentAt, n.at),
      `arrival of a message sent with delayMs ${DELAY_MS}`,
    );
    check(
      ms(sentAt, n.at) <= bound,
      `the undelayed message sent with a delayed one arrived after ${ms(sentAt, n.at)} ms`,
    );
    check(
      n.at < d.at,
      `the undelayed message (sent in the same call, after the delayed one) must arrive first; it came at +${ms(sentAt, n.at)} ms, the delayed one at +${ms(sentAt, d.at)} ms`,
    );
  },
});
