/**
 * Topic creation that waits until the broker serves the new topic.
 *
 * `admin.createTopics({ waitForLeaders: true })` asks a broker for the new topic's metadata right
 * after the controller answered, and retries only `LEADER_NOT_AVAILABLE`. A broker whose metadata
 * cache has not caught up with the creation yet (KRaft hands it to the brokers after the
 * controller answered) answers `UNKNOWN_TOPIC_OR_PARTITION`, and kafkajs gives up with "This
 * server does not host this topic-partition" although the topic exists (seen in CI, under load,
 * on a single broker). That answer is retried here until every partition has a leader.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { protocolType } from "./errors.js";

/** What a topic is created with. */
export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

/** How long a new topic may take to be served by the broker. */
export const TOPIC_READY_MS = 30_000;
const POLL_MS = 100;

/**
 * Create `spec.topic` (an existing topic is fine) and resolve once every partition has a leader;
 * reject with the last error after `readyMs`.
 */
export async function createTopic(
  admin: Pick<Admin, "createTopics" | "fetchTopicMetadata">,
  spec: TopicSpec,
  readyMs: number = TOPIC_READY_MS,
): Promise<void> {
  const deadline = Date.now() + readyMs;
  try {
    await admin.createTopics({ topics: [{ ...spec }], waitForLeaders: true });
    return;
  } catch (error) {
    if (protocolType(error) !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
  }
  for (;;) {
    let last: unknown;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [spec.topic] });
      const partitions = topics.find((t) => t.name === spec.topic)?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
      last = new Error(`topic ${spec.topic} has no leader yet`);
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) throw last;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
