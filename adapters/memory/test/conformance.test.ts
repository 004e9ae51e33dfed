import { describeConformance } from "@omnibus/conformance";
import { afterAll, expect } from "vitest";
import { memory, memoryBroker } from "../src/index.js";

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "memory",
  adapter: () => memory({ name: "conformance" }),
  unreachable: undefined,
});

// Every case deletes what it created (deleteTopic, deleteQueue): nothing is left on the broker.
// Ephemeral inboxes are retired by their consumers; `retired` names are not queues.
afterAll(() => {
  const broker = memoryBroker("conformance");
  expect(broker.topicNames(), "topics left by the suite").toEqual([]);
  expect(broker.queueNames(), "queues left by the suite").toEqual([]);
});
