// The client's delete calls on the reference broker: what each removes (DLQs included), name
// validation, and the typed error where the adapter cannot delete.
import {
  type Adapter,
  createClient,
  deadLetterQueueFor,
  ErrorCode,
  shortId,
  silentLogger,
} from "@omnibus/core";
import { memory, memoryBroker } from "@omnibus/memory";
import { afterEach, describe, expect, it } from "vitest";

const brokerName = `core-delete-${shortId()}`;
const open: { close(): Promise<void> }[] = [];
function bus(adapter: Adapter = memory({ name: brokerName })) {
  const c = createClient({ adapter, logger: silentLogger });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
const broker = () => memoryBroker(brokerName);

describe("client delete calls", () => {
  it("deleteQueue removes the queue and its <queue>.dlq, unless deadLetterQueue: false", async () => {
    const c = bus();
    await c.send("orders", 1);
    await c.send("orders.dlq", 2);
    await c.send("bills", 3);
    await c.send("bills.dlq", 4);
    await c.deleteQueue("orders");
    await c.deleteQueue("orders"); // idempotent
    await c.deleteQueue("bills", { deadLetterQueue: false });
    expect(broker().queueNames().sort()).toEqual(["bills.dlq"]);
    await c.deleteQueue("bills.dlq");
    expect(broker().queueNames()).toEqual([]);
  });

  it("deleteGroup removes the group and its DLQ; deleteTopic the topic, its groups and the DLQs of the groups it knows", async () => {
    const c = bus();
    const gDlq = (topic: string, group: string) => deadLetterQueueFor({ kind: "topic", name: topic, group });
    await c.ensureGroup("t", "a");
    await c.ensureGroup("t", "b");
    await c.send(gDlq("t", "a"), 1);
    await c.send(gDlq("t", "b"), 1);
    await c.send(gDlq("t", "named"), 1);
    await c.deleteGroup("t", "a");
    expect(broker().queueNames().sort()).toEqual([gDlq("t", "b"), gDlq("t", "named")].sort());
    expect(broker().topicNames()).toEqual(["t"]);
    await c.deleteTopic("t", { groups: ["named"] });
    await c.deleteTopic("t"); // idempotent
    expect(broker().topicNames()).toEqual([]);
    expect(broker().queueNames()).toEqual([]);
  });

  it("validates names like the other calls", async () => {
    const c = bus();
    await expect(c.deleteQueue("..bad")).rejects.toMatchObject({ code: ErrorCode.Config });
    await expect(c.deleteTopic("")).rejects.toMatchObject({ code: ErrorCode.Config });
    await expect(c.deleteGroup("t", "a b")).rejects.toMatchObject({ code: ErrorCode.Config });
    await expect(c.deleteTopic("t", { groups: ["-x"] })).rejects.toMatchObject({ code: ErrorCode.Config });
    await expect(c.deleteQueue("q", { deadLetterQueue: "yes" as never })).rejects.toMatchObject({
      code: ErrorCode.Config,
    });
  });

  it("fails with OMNIBUS_UNSUPPORTED_FEATURE where the adapter cannot delete", async () => {
    const inner = memory({ name: brokerName });
    const bare: Adapter = {
      name: "bare",
      features: inner.features,
      native: undefined,
      connect: () => inner.connect(),
      send: (a, m) => inner.send(a, m),
      consume: (s, o) => inner.consume(s, o),
      close: () => inner.close(),
    };
    const c = bus(bare);
    await expect(c.deleteQueue("q")).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
    await expect(c.deleteTopic("t")).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
    await expect(c.deleteGroup("t", "g")).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
    const noTopics = bus({
      ...bare,
      features: { ...inner.features, fanout: false },
      deleteTopic: async () => {},
    });
    await expect(noTopics.deleteTopic("t")).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
  });
});
