import { afterDelay, CLOCK_SLACK_MS, check, equal, sameBytes, within } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { bytes, ms, queue } from "../helpers.js";

export const nackRedelivers = adapterCase({
  id: "adapter/nack",
  title: "a nack without delay brings the message back promptly, intact, with attempt + 1",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "nack");
    const recorder = await ctx.consume(adapter, address);
    const m = ctx.message({
      body: bytes("nack me"),
      headers: { "X-Keep": "kept" },
      key: "k-1",
      timestamp: Date.now() - 5_000,
    });
    await adapter.send(address, [m]);
    await recorder.waitForCount(1, 15_000, "the message");
    const first = recorder.received[0]!;
    const nackedAt = Date.now();
    await recorder.nack(first);
    await recorder.waitForCount(2, ctx.options.redeliveryBoundMs + 5_000, "the nacked message, redelivered");
    const again = recorder.received[1]!;
    await recorder.ack(again);
    within(ms(nackedAt, again.at), 0, ctx.t(ctx.options.redeliveryBoundMs), "time from nack to redelivery");
    equal(again.message.id, m.id, "id of the redelivery");
    equal(again.message.attempt, 2, "attempt of the redelivery");
    sameBytes(again.message.body, m.body, "body of the redelivery");
    equal(again.message.headers["X-Keep"], "kept", "header of the redelivery");
    equal(again.message.key, "k-1", "key of the redelivery");
    equal(again.message.timestamp, m.timestamp, "timestamp of the redelivery (the time it was sent)");
  },
});

const DELAY_MS = 1_500;

export const nackDelay = adapterCase({
  id: "adapter/nack-delay",
  title: `a nack with a delay brings the message back no sooner than the delay and no later than the declared bound after it`,
  timeoutMs: 40_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "nackdelay");
    const recorder = await ctx.consume(adapter, address);
    const delayed = ctx.message();
    const prompt = ctx.message();
    await adapter.send(address, [delayed, prompt]);
    await recorder.waitForCount(2, 15_000, "two messages");
    const d = recorder.of(delayed.id)[0]!;
    const p = recorder.of(prompt.id)[0]!;
    const nackedAt = Date.now();
    await recorder.nack(d, DELAY_MS);
    await recorder.nack(p, 0);
    const bound = ctx.t(ctx.options.redeliveryBoundMs);
    await ctx.waitUntil(
      () => recorder.of(delayed.id).length >= 2,
      DELAY_MS + bound + 5_000,
      () => `the message nacked with delayMs ${DELAY_MS} did not come back`,
    );
    const again = recorder.of(delayed.id)[1]!;
    await recorder.ack(again);
    for (const r of recorder.of(prompt.id)) if (r.settled === undefined) await recorder.ack(r);
    afterDelay(
      ms(nackedAt, again.at),
      DELAY_MS,
      DELAY_MS + bound,
      `time from a nack with delayMs ${DELAY_MS} to the redelivery`,
    );
    equal(again.message.attempt, 2, "attempt after a delayed nack");
    const promptAgain = recorder.of(prompt.id)[1];
    check(promptAgain, "the message nacked without delay did not come back");
    check(
      promptAgain.at < again.at,
      `the message nacked without delay came back at +${ms(nackedAt, promptAgain.at)} ms, after the delayed one (+${ms(nackedAt, again.at)} ms)`,
    );
  },
});

export const delayedNackSurvivesClose = adapterCase({
  id: "adapter/nack-delay-durable",
  title: "a message nacked with a delay is not lost when its consumer and adapter close during the delay",
  timeoutMs: (env) => 45_000 + env.options.redeliveryAfterMs,
  async run(ctx) {
    const address = queue(ctx, "nackclose");
    const victim = ctx.fresh();
    await victim.connect();
    const recorder = await ctx.consume(victim, address);
    const m = ctx.message();
    await victim.send(address, [m]);
    await recorder.waitForCount(1, 15_000, "the message");
    const nackedAt = Date.now();
    await recorder.nack(recorder.received[0]!, DELAY_MS);
    await ctx.bounded(recorder.handle.stop(), "recorder stop()");
    await ctx.bounded(recorder.handle.close(), "recorder close()");
    await ctx.bounded(victim.close(), "victim close()");
    const rescuer = await ctx.consume(await ctx.connect(), address, { autoAck: true });
    const bound = ctx.t(ctx.options.redeliveryBoundMs) + ctx.t(ctx.options.redeliveryAfterMs);
    await ctx.waitUntil(
      () => rescuer.received.length >= 1,
      DELAY_MS + bound + 5_000,
      () => `a message nacked with delayMs ${DELAY_MS} must survive its consumer closing; it never came back`,
    );
    const again = rescuer.received[0]!;
    equal(again.message.id, m.id, "id of the redelivery");
    check(
      ms(nackedAt, again.at) >= DELAY_MS - CLOCK_SLACK_MS,
      `the message came back ${ms(nackedAt, again.at)} ms after a nack with delayMs ${DELAY_MS}: too soon`,
    );
    // Counting every delivery the closed consumer saw (it may hand one out while stop() is pending).
    equal(again.message.attempt, 1 + recorder.of(m.id).length, "attempt of the redelivery");
  },
});
