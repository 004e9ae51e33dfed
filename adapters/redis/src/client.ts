import type { Cluster, Redis } from "ioredis";

/** An ioredis connection the adapter works with: a standalone/Sentinel `Redis`, or a `Cluster`. */
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/**
 * A new connection for one consumer's blocking reads: never gives up a command while reconnecting
 * (the consumer loop handles errors), no auto-pipelining (a blocking command must not hold others).
 */
export function duplicateForBlocking(client: RedisClient): RedisClient {
  if (isCluster(client)) {
    return client.duplicate([], {
      lazyConnect: true,
      enableAutoPipelining: false,
      enableOfflineQueue: true,
      redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null },
    });
  }
  return client.duplicate({
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
    enableOfflineQueue: true,
  });
}
