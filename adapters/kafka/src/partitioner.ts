import { type ICustomPartitioner, type PartitionerArgs, Partitioners } from "kafkajs";
import { Header } from "./codec.js";

/** FNV-1a over the UTF-16 code units of a string, as a non-negative 31-bit integer. */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x7fffffff;
}

/**
 * Keyed records go where kafkajs's (Java-compatible) default partitioner puts them. Keyless
 * records are spread by a hash of their message id (the `@m` header, which holds it) instead of a round-robin counter, so that a
 * retried produce request puts every record in the same partition as the first attempt. With a
 * counter, kafkajs's idempotent producer re-partitions a request after a partial failure (some
 * partitions written, some not, as right after a broker restart); the batches then no longer
 * match their sequence numbers and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER.
 */
export const stablePartitioner: ICustomPartitioner = () => {
  const byKey = Partitioners.DefaultPartitioner();
  return (args: PartitionerArgs) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    if (message.key !== undefined && message.key !== null) return byKey(args);
    const id = message.headers?.[Header.meta] ?? message.headers?.[Header.id];
    if (typeof id !== "string") return byKey(args);
    return hashId(id) % partitionMetadata.length;
  };
};
