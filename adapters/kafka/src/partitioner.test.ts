import type { PartitionMetadata } from "kafkajs";
import { describe, expect, it } from "vitest";
import { hashId, stablePartitioner } from "./partitioner.js";

const partitionMetadata = (n: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 1,
    replicas: [1],
    isr: [1],
  }));

describe("stablePartitioner", () => {
  it("puts a keyless record in the same partition on every attempt, even when leaders change", () => {
    const partition = stablePartitioner();
    const message = { value: null, headers: { "@id": "0190c1d2-aaaa-7bbb-8ccc-123456789abc" } };
    const first = partition({ topic: "t", partitionMetadata: partitionMetadata(6), message });
    for (let i = 0; i < 5; i++) {
      expect(partition({ topic: "t", partitionMetadata: partitionMetadata(6, [first]), message })).toBe(
        first,
      );
    }
  });

  it("spreads keyless records over every partition", () => {
    const partition = stablePartitioner();
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const message = { value: null, headers: { "@id": `id-${i}-${(i * 7919) % 1000}` } };
      counts[partition({ topic: "t", partitionMetadata: partitionMetadata(3), message })]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it("keeps kafkajs's (Java-compatible) placement for keyed records", () => {
    const partition = stablePartitioner();
    const a = partition({
      topic: "t",
      partitionMetadata: partitionMetadata(16),
      message: { key: "k1", value: null },
    });
    const b = partition({
      topic: "t",
      partitionMetadata: partitionMetadata(16),
      message: { key: "k1", value: null },
    });
    expect(a).toBe(b);
    expect(hashId("x")).toBeGreaterThanOrEqual(0);
  });
});
