import { describe, expect, it } from "vitest";
import { groupSubscriptionId, queueIds, topicId } from "./names.js";

const VALID = /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;

describe("pubsub names", () => {
  it("are valid Pub/Sub ids, also for the longest names", () => {
    const long = "a".repeat(200);
    for (const id of [queueIds(long).topic, topicId(long), groupSubscriptionId(long, long), topicId("x")])
      expect(id).toMatch(VALID);
  });

  it("keep queues, topics and groups apart", () => {
    expect(queueIds("a").topic).not.toBe(topicId("a"));
    expect(groupSubscriptionId("a.b", "c")).not.toBe(groupSubscriptionId("a", "b.c"));
    expect(groupSubscriptionId("a", "b")).not.toBe(queueIds("a+b").subscription);
  });

  it("keep names apart that differ only after a long common prefix", () => {
    const p = "p".repeat(199);
    expect(groupSubscriptionId(`${p}1`, "g")).not.toBe(groupSubscriptionId(`${p}2`, "g"));
    expect(topicId(`${p}1`)).not.toBe(topicId(`${p}2`));
  });
});
