import { describe, expect, it } from "vitest";
import { createTopic } from "./topics.js";

const spec = { topic: "t", numPartitions: 2, replicationFactor: 1 };

/** kafkajs 2.2.4's error when its leader wait meets a broker that does not know the topic yet. */
const unknown = () =>
  Object.assign(new Error("This server does not host this topic-partition"), {
    type: "UNKNOWN_TOPIC_OR_PARTITION",
  });

/** An admin whose createTopics fails with `createError`, and whose broker serves the topic from the `readyAt`-th metadata request. */
function fakeAdmin(createError: Error | undefined, readyAt: number) {
  let asked = 0;
  return {
    get asked() {
      return asked;
    },
    async createTopics() {
      if (createError !== undefined) throw createError;
      return true;
    },
    async fetchTopicMetadata() {
      asked++;
      if (asked < readyAt) throw unknown();
      const leader = asked === readyAt ? -1 : 0; // first it knows the topic, but without a leader
      return { topics: [{ name: "t", partitions: [0, 1].map((partitionId) => ({ partitionId, leader })) }] };
    },
  };
}

describe("createTopic", () => {
  it("resolves as createTopics does when the broker already serves the topic", async () => {
    const admin = fakeAdmin(undefined, 1);
    await createTopic(admin as never, spec);
    expect(admin.asked).toBe(0);
  });

  it("waits past UNKNOWN_TOPIC_OR_PARTITION until every partition has a leader", async () => {
    const admin = fakeAdmin(unknown(), 3);
    await createTopic(admin as never, spec);
    expect(admin.asked).toBe(4);
  });

  it("rejects with the broker's last answer once the wait is over", async () => {
    const admin = fakeAdmin(unknown(), Number.POSITIVE_INFINITY);
    await expect(createTopic(admin as never, spec, 250)).rejects.toThrow("does not host");
  });

  it("does not retry any other error", async () => {
    const admin = fakeAdmin(Object.assign(new Error("bad"), { type: "INVALID_REPLICATION_FACTOR" }), 1);
    await expect(createTopic(admin as never, spec)).rejects.toThrow("bad");
    expect(admin.asked).toBe(0);
  });
});
