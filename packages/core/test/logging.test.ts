// Every log line about a message names its destination and its id; no line, field or error in
// it ever holds a password, whatever the logger (core wraps it), even when the adapter's own
// errors carry one.
import {
  type Adapter,
  type Client,
  createClient,
  DeadLetterError,
  type Delivery,
  type Logger,
  shortId,
} from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { memory } from "@omnibus/memory";
import { afterEach, describe, expect, it } from "vitest";

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

const SECRET = `s3cr3t-${shortId()}`;
const leaky = () => new Error(`socket to amqp://omnibus:${SECRET}@10.0.0.1:5672 closed`);

/** The memory adapter whose acks fail with an error holding a password, and whose consumers can be failed. */
function leakyAdapter(): { adapter: Adapter; fail(): void } {
  const inner = memory({ name: "logging-tests" });
  const errors: ((error: Error) => void)[] = [];
  const adapter: Adapter = {
    name: "leaky",
    features: inner.features,
    native: undefined,
    connect: () => inner.connect(),
    send: (a, m) => inner.send(a, m),
    consume: (source, options) =>
      inner.consume(source, {
        ...options,
        onError: options.onError,
        onDelivery: (d) => {
          errors.push(options.onError);
          const wrapped: Delivery = {
            message: d.message,
            ack: async () => {
              await d.ack();
              throw leaky();
            },
            nack: (o) => d.nack(o),
          };
          options.onDelivery(wrapped);
        },
      }),
    close: () => inner.close(),
  };
  return { adapter, fail: () => errors[0]?.(leaky()) };
}

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe("logging", () => {
  it("names the destination and the message id on every line about a message, and never a password", async () => {
    const { logger, lines } = capture();
    const { adapter, fail } = leakyAdapter();
    const bus = createClient({ adapter, logger, retry: { initialDelayMs: 5, jitter: 0 } });
    open.push(bus);
    const queue = `log-${shortId()}`;
    let calls = 0;
    await bus.consume(queue, (m) => {
      calls++;
      if ((m.body as { n: number }).n === 1) {
        if (m.attempt === 1) throw new Error(`db at postgres://app:${SECRET}@db/x refused`);
        throw new DeadLetterError("poison");
      }
    });
    const poison = await bus.send(queue, { n: 1 });
    const fine = await bus.send(queue, { n: 2 });
    await waitFor(() => calls === 3);
    await waitFor(() => lines.some((l) => l.message.startsWith("dead-lettered")));
    await waitFor(() => lines.filter((l) => l.message.startsWith("ack failed")).length >= 2);
    fail();
    await waitFor(() => lines.some((l) => /consumer of .* failed$/.test(l.message)));

    const about = (id: string) => lines.filter((l) => l.fields?.id === id);
    const destination = `queue:${queue}`;
    // retry (debug), dead-letter (warn), ack failures (warn): each names both.
    expect(about(poison).map((l) => l.message.split(" ")[0])).toEqual(
      expect.arrayContaining(["handler", "dead-lettered"]),
    );
    expect(about(fine).some((l) => l.message.startsWith("ack failed"))).toBe(true);
    for (const line of [...about(poison), ...about(fine)]) expect(line.fields?.destination).toBe(destination);
    const consumerFailed = lines.find((l) => /consumer of .* failed$/.test(l.message))!;
    expect(consumerFailed.fields?.destination).toBe(destination);
    // No password anywhere: messages, fields, errors turned into plain data.
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(SECRET);
    expect(everything).toContain("omnibus:***@10.0.0.1");
  });
});
