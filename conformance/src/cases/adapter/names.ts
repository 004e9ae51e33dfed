import { validateName } from "@omnibus/core";
import { check, equal } from "../../assert.js";
import { adapterCase, type Recorder } from "../../case.js";
import { bytes, text } from "../helpers.js";

/** Queue names that a careless mapping (case folding, punctuation folding, truncation, suffixes) merges. */
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
    "distinct names stay apart: queues differing in case, '.', '_' or '-' or after a 199-character prefix; a queue and a topic of one name; (topic a.b, group c) and (topic a, group b.c)",
  timeoutMs: 120_000,
  async run(ctx) {
    const base = ctx.name("n");
    const names = confusable(base);
    check(new Set(names).size === names.length, "the case's names must be distinct");
    const consumer = await ctx.connect();
    const sources: { label: string; recorder: Recorder }[] = [];
    for (const name of names)
      sources.push({
        label: `queue ${name}`,
        recorder: await ctx.consume(consumer, { kind: "queue", name }, { autoAck: true }),
      });
    const topics = ctx.features.fanout
      ? [
          { topic: `${base}.same`, group: "g" },
          { topic: `${base}.t.a`, group: "b.c" },
          { topic: `${base}.t.a.b`, group: "c" },
        ]
      : [];
    for (const t of topics)
      sources.push({
        label: `topic ${t.topic} group ${t.group}`,
        recorder: await ctx.consume(
          consumer,
          { kind: "topic", name: t.topic, group: t.group },
          { autoAck: true },
        ),
      });
    const producer = await ctx.connect();
    // Two messages per destination, sent in the reverse order of the consumers' creation.
    const sends: { label: string; send: () => Promise<void> }[] = [];
    for (const name of names)
      sends.push({
        label: `queue ${name}`,
        send: () => producer.send({ kind: "queue", name }, [ctx.message({ body: bytes(`queue ${name}`) })]),
      });
    for (const t of topics)
      sends.push({
        label: `topic ${t.topic} group ${t.group}`,
        send: () =>
          producer.send({ kind: "topic", name: t.topic }, [
            ctx.message({ body: bytes(`topic ${t.topic} group ${t.group}`) }),
          ]),
      });
    for (let round = 0; round < 2; round++) for (const s of [...sends].reverse()) await s.send();
    // A topic message reaches its group; groups of other topics must not see it.
    await ctx.waitUntil(
      () => sources.every((s) => s.recorder.received.length >= 2),
      60_000,
      () =>
        `destinations that did not get both their messages: ${sources
          .filter((s) => s.recorder.received.length < 2)
          .map((s) => s.label)
          .join("; ")}`,
    );
    await ctx.observe(500);
    for (const s of sources) {
      const got = s.recorder.received.map((r) => text(r.message.body));
      equal(got, [s.label, s.label], `messages consumed from ${s.label}`);
    }
  },
});
