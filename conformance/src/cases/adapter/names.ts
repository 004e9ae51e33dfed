import { validateName } from "@omnibus/core";
import { check, equal } from "../../assert.js";
import { adapterCase, type Recorder } from "../../case.js";
import { bytes, text } from "../helpers.js";

/** Names that a careless mapping (case folding, punctuation folding, truncation, suffixes) merges. */
function confusable(base: string): string[] {
  const long = (tail: string) => `${base}.${"L".repeat(200)}`.slice(0, 200 - tail.length) + tail;
  const mid = (c: string) => `${base}.${"M".repeat(40)}${c}${"M".repeat(40)}`;
  return [
    `${base}.Alpha`,
    `${base}.alpha`,
    `${base}.ALPHA`,
    `${base}.a.b`,
    `${base}.a_b`,
    `${base}.a-b`,
    `${base}.x.dlq`,
    `${base}.x_dlq`,
    `${base}.x-dlq`,
    long("1"),
    long("2"),
    mid("."),
    mid("_"),
  ].map((name) => validateName("queue", name));
}

export const namesDistinct = adapterCase({
  id: "adapter/names",
  title:
    "distinct names stay distinct queues: case, '.', '_' and '-', long names sharing a 199-character prefix",
  timeoutMs: 90_000,
  async run(ctx) {
    const names = confusable(ctx.name("n"));
    check(new Set(names).size === names.length, "the case's names must be distinct");
    const consumer = await ctx.connect();
    const recorders: Recorder[] = [];
    for (const name of names)
      recorders.push(await ctx.consume(consumer, { kind: "queue", name }, { autoAck: true }));
    const producer = await ctx.connect();
    for (const name of names)
      await producer.send({ kind: "queue", name }, [ctx.message({ body: bytes(name) })]);
    await ctx.waitUntil(
      () => recorders.every((r) => r.received.length >= 1),
      60_000,
      () =>
        `queues that got nothing: ${names.filter((_, i) => recorders[i]!.received.length === 0).join(", ")}`,
    );
    await ctx.observe(500);
    names.forEach((name, i) => {
      const got = recorders[i]!.received.map((r) => text(r.message.body));
      equal(got, [name], `messages consumed from queue ${JSON.stringify(name)}`);
    });
  },
});
