import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { capture, Targets, TopicsGoneError, topicsGone } from "./targets.js";

const unknown = () =>
  Object.assign(new Error("This server does not host this topic-partition"), {
    type: "UNKNOWN_TOPIC_OR_PARTITION",
  });

/** A cluster as kafkajs 2.2.4 has it, with a broker that knows `existing`. */
function fakeCluster(existing: string[]) {
  const requested: string[][] = [];
  const cluster = {
    targetTopics: new Set<string>(),
    brokerPool: {
      async refreshMetadata(topics: string[]) {
        requested.push([...topics]);
        if (topics.some((t) => !existing.includes(t))) throw unknown();
      },
      async withBroker<T>(callback: (args: { broker: any }) => Promise<T>) {
        return callback({
          broker: {
            async metadata(topics: string[]) {
              if (topics.length === 0) return { topicMetadata: existing.map((topic) => ({ topic })) };
              if (topics.some((t) => !existing.includes(t))) throw unknown();
              return { topicMetadata: topics.map((topic) => ({ topic })) };
            },
          },
        }).catch(() => null);
      },
    },
  };
  return { cluster, requested };
}

describe("Targets (kafkajs #1622)", () => {
  it("finds the cluster of a kafkajs 2.2.4 producer and admin", () => {
    const kafka = new Kafka({ brokers: ["127.0.0.1:1"], logLevel: logLevel.NOTHING });
    const producer = capture(kafka, () => kafka.producer());
    const admin = capture(kafka, () => kafka.admin());
    expect(producer.targets).toBeInstanceOf(Targets);
    expect(admin.targets).toBeInstanceOf(Targets);
    expect(producer.targets!.topics).toBeInstanceOf(Set);
    // Clients made afterwards are made as before.
    expect(typeof kafka.consumer({ groupId: "g" }).run).toBe("function");
  });

  it("drops deleted topics from a failed refresh and refreshes again", async () => {
    const { cluster, requested } = fakeCluster(["a", "b"]);
    const targets = new Targets(cluster);
    const gone: string[] = [];
    targets.hooks = { gone: (t) => gone.push(...t) };
    for (const t of ["a", "deleted", "b"]) cluster.targetTopics.add(t);
    await cluster.brokerPool.refreshMetadata([...cluster.targetTopics]);
    expect([...cluster.targetTopics]).toEqual(["a", "b"]);
    expect(requested.at(-1)).toEqual(["a", "b"]);
    expect(gone).toEqual(["deleted"]);
    targets.forget(["a"]);
    expect([...targets.topics]).toEqual(["b"]);
  });

  it("fails at once, without retries, when a deleted topic is being written to", async () => {
    const { cluster } = fakeCluster(["a"]);
    const targets = new Targets(cluster);
    targets.hooks = { producing: (t) => t === "inbox" };
    cluster.targetTopics.add("a").add("inbox");
    const error = await cluster.brokerPool.refreshMetadata(["a", "inbox"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopicsGoneError);
    expect((error as TopicsGoneError).retriable).toBe(false);
    expect(topicsGone({ cause: { originalError: error } })?.topics).toEqual(["inbox"]);
    expect([...cluster.targetTopics]).toEqual(["a"]);
  });

  it("passes on a failure that is not about a deleted topic", async () => {
    const { cluster } = fakeCluster(["x"]);
    cluster.brokerPool.refreshMetadata = async () => {
      throw unknown();
    };
    new Targets(cluster);
    cluster.targetTopics.add("x");
    // Every target exists: nothing to drop, the error goes on to kafkajs's own retries.
    await expect(cluster.brokerPool.refreshMetadata(["x"])).rejects.toMatchObject({
      type: "UNKNOWN_TOPIC_OR_PARTITION",
    });
    expect([...cluster.targetTopics]).toEqual(["x"]);
  });
});
