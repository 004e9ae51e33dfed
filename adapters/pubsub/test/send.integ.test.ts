import { absentReason, brokerUrl } from "@omnibus/brokers";
import { type Adapter, uuidv7 } from "@omnibus/core";
import type { OutboundMessage } from "@omnibus/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PubsubNative, pubsub } from "../src/index.js";

type PubsubAdapter = Adapter<PubsubNative>;

const absent = await absentReason("pubsub");

const message = (i: number): OutboundMessage => {
  const timestamp = Date.now();
  return { id: uuidv7(timestamp), body: Buffer.from(`{"i":${i}}`), headers: {}, timestamp };
};

/** The publish requests the adapter made: how many messages each carried. */
function countRequests(adapter: PubsubAdapter): number[] {
  const sizes: number[] = [];
  const publisher = adapter.native.publisher;
  const publish = publisher.publish.bind(publisher);
  (publisher as any).publish = (request: { messages: unknown[] }, options: unknown) => {
    sizes.push(request.messages.length);
    return (publish as any)(request, options);
  };
  return sizes;
}

describe.skipIf(absent !== undefined)(`pubsub send path${absent ? ` (skipped: ${absent})` : ""}`, () => {
  let adapter: PubsubAdapter;
  const queue = `send-path-${uuidv7().slice(-8)}`;
  beforeAll(async () => {
    adapter = pubsub({ emulatorHost: brokerUrl("pubsub"), projectId: "omnibus" });
    await adapter.connect();
    await adapter.send({ kind: "queue", name: queue }, []); // declares the topic and subscription
  });
  afterAll(async () => {
    await adapter?.deleteQueue?.(queue).catch(() => {});
    await adapter?.close();
  });

  it("publishes one send as one request, a send over 1,000 messages in requests of 1,000", async () => {
    const sizes = countRequests(adapter);
    await adapter.send(
      { kind: "queue", name: queue },
      Array.from({ length: 500 }, (_, i) => message(i)),
    );
    expect(sizes).toEqual([500]);
    sizes.length = 0;
    await adapter.send(
      { kind: "queue", name: queue },
      Array.from({ length: 2_500 }, (_, i) => message(i)),
    );
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it("gathers concurrent sends while a publish is in flight, every one resolved on its request", async () => {
    const sizes = countRequests(adapter);
    const sends = Array.from({ length: 300 }, (_, i) =>
      adapter.send({ kind: "queue", name: queue }, [message(i)]),
    );
    await Promise.all(sends);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(300);
    // The first send goes alone; the rest arrived while it was in flight and share requests.
    expect(sizes.length).toBeLessThanOrEqual(3);
  });

  it("carries core's UUID v7 ids without omnibus:ts, other ids with it", async () => {
    const sent: Record<string, string>[] = [];
    const publisher = adapter.native.publisher;
    const publish = publisher.publish.bind(publisher);
    (publisher as any).publish = (
      request: { messages: { attributes: Record<string, string> }[] },
      o: unknown,
    ) => {
      for (const m of request.messages) sent.push(m.attributes);
      return (publish as any)(request, o);
    };
    await adapter.send({ kind: "queue", name: queue }, [message(1), { ...message(2), id: "custom-id" }]);
    expect(sent[0]!["omnibus:ts"]).toBeUndefined();
    expect(sent[1]!["omnibus:ts"]).toMatch(/^\d+$/);
  });
});
