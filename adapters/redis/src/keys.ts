/**
 * Key naming. Every key of one queue or topic carries the same `{…}` hash tag, so that they all live
 * in one Redis Cluster slot and one Lua script may touch them together.
 *
 * | key | type | what |
 * |---|---|---|
 * | `<p>:{q:<queue>}:stream` | stream | the queue; one consumer group {@link QUEUE_GROUP} |
 * | `<p>:{q:<queue>}:delayed` | zset | delayed sends and nacks of the queue (score = due time) |
 * | `<p>:{t:<topic>}:stream` | stream | the topic; one consumer group per Omnibus group |
 * | `<p>:{t:<topic>}:delayed` | zset | delayed publishes to the topic |
 * | `<p>:{t:<topic>}:retry:<group>` | stream | redeliveries of one group (nacked messages) |
 * | `<p>:{t:<topic>}:delayed:<group>` | zset | delayed nacks of one group |
 */

/** The consumer group that all consumers of a queue share. */
export const QUEUE_GROUP = "omnibus";

/** A pair of schedule and stream: due entries of `delayed` are moved into `stream`. */
export interface Schedule {
  readonly delayed: string;
  readonly stream: string;
}

/** Every key a consumer of one source reads and writes. */
export interface SourceKeys {
  /** The streams read with one `XREADGROUP` (the main stream, then the group's retry stream). */
  readonly streams: readonly string[];
  /** The consumer group name on every one of `streams`. */
  readonly group: string;
  /** Where a nacked message goes back to when it is redelivered at once. */
  readonly retryStream: string;
  /** Where a nacked message waits when it is redelivered later. */
  readonly retryDelayed: string;
  /** The schedules whose due entries this consumer's client promotes. */
  readonly schedules: readonly Schedule[];
  /** Where a new group starts reading the main stream: `0` for a queue, `$` for a topic. */
  readonly startId: "0" | "$";
}

export function queueTag(prefix: string, name: string): string {
  return `${prefix}:{q:${name}}`;
}

export function topicTag(prefix: string, name: string): string {
  return `${prefix}:{t:${name}}`;
}

/** The stream and schedule a message sent to an address goes to. */
export function addressKeys(
  prefix: string,
  kind: "queue" | "topic",
  name: string,
): { stream: string; delayed: string } {
  const tag = kind === "queue" ? queueTag(prefix, name) : topicTag(prefix, name);
  return { stream: `${tag}:stream`, delayed: `${tag}:delayed` };
}

export function queueKeys(prefix: string, name: string): SourceKeys {
  const tag = queueTag(prefix, name);
  const stream = `${tag}:stream`;
  const delayed = `${tag}:delayed`;
  return {
    streams: [stream],
    group: QUEUE_GROUP,
    retryStream: stream,
    retryDelayed: delayed,
    schedules: [{ delayed, stream }],
    startId: "0",
  };
}

export function topicKeys(prefix: string, name: string, group: string): SourceKeys {
  const tag = topicTag(prefix, name);
  const stream = `${tag}:stream`;
  const delayed = `${tag}:delayed`;
  const retryStream = `${tag}:retry:${group}`;
  const retryDelayed = `${tag}:delayed:${group}`;
  return {
    streams: [stream, retryStream],
    group,
    retryStream,
    retryDelayed,
    schedules: [
      { delayed, stream },
      { delayed: retryDelayed, stream: retryStream },
    ],
    startId: "$",
  };
}
