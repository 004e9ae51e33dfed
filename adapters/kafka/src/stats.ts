/**
 * Broker state for `client.stats`: a consumer group's lag, end offsets − committed offsets per
 * partition, over the source's main topic and (for a topic group) its retry topic. Kafka has no
 * count of messages delivered and not yet committed, so `depth` is the whole lag and `inFlight`
 * is `undefined`. Only topics that exist are asked about (a metadata request for a missing topic
 * could create it).
 * @module
 */
import type { SourceStats } from "@omnibus/core";
import type { Admin } from "kafkajs";

/** One topic a consumer group reads, and where the group starts where it never committed. */
export interface LagTopic {
  readonly topic: string;
  /** A group without a committed offset reads from the start (queues, retry topics) or the end. */
  readonly fromBeginning: boolean;
}

/**
 * The lag of `groupId` over `topics` (those that exist; zeros for the rest). A topic created a
 * moment ago may have no leader in the admin's metadata yet ("not the leader for that
 * topic-partition", seen right after a first dead letter): retriable errors are retried for up to
 * about 3 s, with the metadata refreshed.
 */
export async function groupLag(
  admin: Admin,
  groupId: string,
  topics: readonly LagTopic[],
): Promise<SourceStats> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readLag(admin, groupId, topics);
    } catch (error) {
      if ((error as { retriable?: unknown })?.retriable !== true || attempt >= 15) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function readLag(admin: Admin, groupId: string, topics: readonly LagTopic[]): Promise<SourceStats> {
  const existing = new Set(await admin.listTopics());
  const present = [...new Map(topics.filter((t) => existing.has(t.topic)).map((t) => [t.topic, t])).values()];
  if (present.length === 0) return { depth: 0, inFlight: undefined };
  const [committed, ...ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics: present.map((t) => t.topic) }),
    ...present.map((t) => admin.fetchTopicOffsets(t.topic)),
  ]);
  let lag = 0;
  present.forEach((t, i) => {
    const done = new Map<number, number>();
    for (const p of committed.find((c) => c.topic === t.topic)?.partitions ?? [])
      done.set(p.partition, Number(p.offset));
    for (const end of ends[i]!) {
      const high = Number(end.high);
      const low = Number(end.low);
      const at = done.get(end.partition) ?? -1;
      const from = at < 0 ? (t.fromBeginning ? low : high) : Math.max(at, low);
      lag += Math.max(0, high - from);
    }
  });
  return { depth: lag, inFlight: undefined };
}
