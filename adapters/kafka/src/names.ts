import { createHash } from "node:crypto";

/** Kafka rejects topic names longer than this. */
const MAX_TOPIC_LENGTH = 249;

/**
 * The consumer group id behind a queue: every consumer of the queue joins it, so they compete
 * for the topic's partitions.
 */
export function queueGroupId(prefix: string, queue: string): string {
  return `${prefix}:queue:${queue}`;
}

/**
 * The consumer group id behind a topic subscription group. It includes the topic because core
 * lets one group name subscribe to several topics, and a Kafka group whose members subscribe to
 * different topics would leave partitions unassigned.
 */
export function topicGroupId(prefix: string, topic: string, group: string): string {
  return `${prefix}:topic:${topic}:${group}`;
}

/**
 * The retry topic of one subscription group: a nack in group G must come back to G only, so it
 * cannot be written to the shared topic. The `..` separator never appears in a name core accepts,
 * so it cannot collide with an application topic. Over-long names end in a hash of the group.
 */
export function retryTopicName(topic: string, group: string): string {
  const name = `${topic}..retry..${group}`;
  if (name.length <= MAX_TOPIC_LENGTH) return name;
  const digest = createHash("sha256").update(group).digest("hex").slice(0, 16);
  return `${topic}..retry..${digest}`;
}
