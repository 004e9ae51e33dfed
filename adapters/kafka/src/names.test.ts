import { describe, expect, it } from "vitest";
import { queueGroupId, retryTopicName, topicGroupId } from "./names.js";

describe("names", () => {
  it("derives distinct group ids for queues and topic groups", () => {
    expect(queueGroupId("omnibus", "orders")).toBe("omnibus:queue:orders");
    expect(topicGroupId("omnibus", "orders", "shipping")).toBe("omnibus:topic:orders:shipping");
    expect(topicGroupId("omnibus", "a.b", "c")).not.toBe(topicGroupId("omnibus", "a", "b.c"));
  });

  it("keeps retry topics within Kafka's 249 characters and apart per group", () => {
    expect(retryTopicName("orders", "shipping")).toBe("orders..retry..shipping");
    const long = retryTopicName("t".repeat(200), "g".repeat(200));
    expect(long.length).toBeLessThanOrEqual(249);
    expect(long).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(long).not.toBe(retryTopicName("t".repeat(200), `${"g".repeat(199)}h`));
  });
});
