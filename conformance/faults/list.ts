/**
 * The faults the conformance suite is scored against (`pnpm conformance:faults`). Each is a
 * realistic mistake an adapter author (or a change to core) could make, seeded one at a time
 * into a correct subject — the memory adapter and core — and the suite must fail on it by a
 * failing assertion of some case, not by a timeout.
 *
 * This list was written before the cases that catch its faults (the commit history shows it),
 * from the bugs measured in this repo's adapters, in an outside PostgreSQL adapter, and from the
 * obligations of `spi.ts`. How each fault is put in lives in `inject.ts` (SPI wrappers) and
 * `patches.ts` (edits of a temporary copy of core or the memory broker). Nothing here ships.
 * @module
 */

/** Where a fault is put in. */
export type FaultLayer =
  /** A wrapper around the memory adapter at the SPI boundary. */
  | "spi"
  /** An edit of a temporary copy of `@omnibus/core`'s source. */
  | "core"
  /** An edit of a temporary copy of the memory broker's source. */
  | "memory";

export interface FaultSpec {
  readonly id: string;
  readonly layer: FaultLayer;
  /** What the faulty code does, as a bug report would say it. */
  readonly description: string;
}

export const faultList: readonly FaultSpec[] = [
  // -- bytes and envelope
  {
    id: "body-truncated-64k",
    layer: "spi",
    description: "bodies longer than 64 KiB arrive cut to their first 64 KiB",
  },
  {
    id: "body-aliased",
    layer: "spi",
    description:
      "the consumer receives the sender's own buffer, not a copy: a sender that reuses its buffer after send() changes the message",
  },
  {
    id: "redelivery-mutated",
    layer: "spi",
    description:
      "a redelivery hands out the same buffer as the first delivery: a consumer that wrote into it changes the message",
  },
  {
    id: "header-names-lowercased",
    layer: "spi",
    description: "header names arrive lower-cased (as HTTP-style brokers store them)",
  },
  {
    id: "header-empty-dropped",
    layer: "spi",
    description: "headers whose value is the empty string are dropped",
  },
  {
    id: "header-unicode-mangled",
    layer: "spi",
    description: "header values pass through latin1: non-ASCII characters are mangled",
  },
  {
    id: "timestamp-at-delivery",
    layer: "spi",
    description: "timestamp is the time of delivery, not of sending",
  },
  { id: "key-dropped", layer: "spi", description: "the message key does not travel" },
  { id: "correlation-reply-dropped", layer: "spi", description: "correlationId and replyTo do not travel" },
  { id: "id-replaced", layer: "spi", description: "the broker's own message id replaces the id core gave" },
  {
    id: "max-size-rejected",
    layer: "spi",
    description:
      "the adapter declares a maxMessageBytes the broker does not take: bodies over half of it are refused with PublishError",
  },

  // -- settlement
  {
    id: "ack-cumulative",
    layer: "spi",
    description:
      "acking a delivery also acks every earlier unsettled delivery of the same consumer (AMQP multiple=true, an offset commit past unsettled records)",
  },
  {
    id: "double-ack-frees-two",
    layer: "spi",
    description: "settlement is not guarded: a second ack of one delivery frees a second prefetch slot",
  },
  {
    id: "nack-after-ack-redelivers",
    layer: "spi",
    description: "settlement is not guarded: a nack after an ack puts the message back",
  },
  {
    id: "ack-batched-lost-on-close",
    layer: "spi",
    description:
      "acks are batched on a timer and the pending batch is dropped when the consumer closes: settled messages come back",
  },
  {
    id: "nack-delay-seconds",
    layer: "spi",
    description: "nack's delayMs is read as seconds: the message comes back 1000 times too late",
  },
  {
    id: "nack-delay-ignored",
    layer: "spi",
    description: "nack ignores its delay: the message comes back at once",
  },
  {
    id: "delayed-nack-lost-on-close",
    layer: "spi",
    description: "a nack with a delay is held in a timer of the consumer and lost when the consumer closes",
  },

  // -- attempts
  {
    id: "attempt-not-counted-on-crash",
    layer: "spi",
    description:
      "a redelivery after a consumer died without settling keeps the old attempt (only nacks count)",
  },
  { id: "attempt-always-one", layer: "spi", description: "attempt is always 1" },

  // -- flow control and lifecycle
  {
    id: "prefetch-ignored",
    layer: "spi",
    description: "prefetch is ignored: a consumer is handed every message available",
  },
  {
    id: "lease-not-extended",
    layer: "spi",
    description:
      "the visibility timeout / lease is never extended: a delivery held longer than the lease goes to another consumer while the first still works on it",
  },
  { id: "stop-noop", layer: "spi", description: "stop() does nothing: deliveries keep coming" },
  {
    id: "stop-keeps-prefetched",
    layer: "spi",
    description: "messages fetched after stop() are neither handed out nor released until close()",
  },
  {
    id: "close-acks-unsettled",
    layer: "spi",
    description: "a graceful close of a consumer acks (deletes) its unsettled deliveries",
  },
  {
    id: "close-keeps-unsettled",
    layer: "spi",
    description:
      "closing the adapter leaves its unsettled deliveries held: a dead consumer's messages never come back",
  },
  {
    id: "ephemeral-not-deleted",
    layer: "spi",
    description: "ephemeral (request-reply inbox) queues are never deleted and keep their messages",
  },
  {
    id: "connect-not-idempotent",
    layer: "spi",
    description: "a second connect() rejects ('already connected')",
  },
  { id: "native-undefined", layer: "spi", description: "the escape hatch is undefined after connect()" },
  {
    id: "close-hangs-with-unsettled",
    layer: "spi",
    description: "adapter close() waits forever for unsettled deliveries",
  },

  // -- sending
  {
    id: "send-unconfirmed",
    layer: "spi",
    description: "send() resolves before the message is stored: a close right after loses it",
  },
  {
    id: "batch-last-dropped",
    layer: "spi",
    description: "an off-by-one in batching: the last message of a send of more than 50 messages is dropped",
  },
  {
    id: "concurrent-sends-lost",
    layer: "spi",
    description:
      "a send that starts while another is in flight is merged into it after it was written: its messages are lost",
  },
  {
    id: "deletequeue-breaks-sends",
    layer: "spi",
    description: "after deleteQueue() every later send of the adapter fails (a stale metadata cache)",
  },
  { id: "delay-ignored", layer: "spi", description: "delayMs on send is ignored" },
  { id: "priority-ignored", layer: "spi", description: "priority on send is ignored" },

  // -- ordering, topics and names
  {
    id: "ordering-swapped",
    layer: "spi",
    description: "deliveries are reordered in pairs (the second of every two first)",
  },
  {
    id: "fanout-first-group-only",
    layer: "spi",
    description: "a publish reaches only the group that subscribed first",
  },
  {
    id: "group-replays-history",
    layer: "spi",
    description:
      "a new group starts at the topic's beginning and receives messages published before it existed",
  },
  {
    id: "group-members-all-get",
    layer: "spi",
    description: "each member of a group gets every message (the group name includes the instance id)",
  },
  {
    id: "names-case-insensitive",
    layer: "spi",
    description: "destination names are lower-cased: queues 'A.b' and 'a.b' meet",
  },
  {
    id: "names-punctuation-folded",
    layer: "spi",
    description: "'.', '_' and '-' in names map to one character: 'a.b', 'a_b' and 'a-b' meet",
  },
  {
    id: "names-truncated",
    layer: "spi",
    description: "names are cut to 64 characters: long names sharing a prefix meet",
  },

  // -- failures and errors
  {
    id: "unreachable-password-in-cause",
    layer: "spi",
    description:
      "the unreachable broker's error keeps the password in its cause (as ioredis keeps the AUTH command's arguments)",
  },
  { id: "unreachable-hangs", layer: "spi", description: "connect() to an unreachable broker never settles" },
  {
    id: "unreachable-password-logged",
    layer: "spi",
    description:
      "the client library's own warning about a failed connection prints its options, password included, to stderr",
  },
  {
    id: "live-password-printed",
    layer: "spi",
    description:
      "the client library prints its connection options, password included, to stderr as it connects to the live broker",
  },
  {
    id: "live-password-in-log",
    layer: "spi",
    description:
      "the adapter traces the commands it writes at debug level, the AUTH command's password included",
  },
  {
    id: "unreachable-wrong-code",
    layer: "spi",
    description: "connect() to an unreachable broker rejects with a plain Error without a code",
  },

  // -- core
  {
    id: "core-dlq-drops-headers",
    layer: "core",
    description: "the dead-letter copy loses the message's own headers",
  },
  {
    id: "core-dlq-body-reencoded",
    layer: "core",
    description:
      "the dead-letter copy carries the body re-encoded from the decoded value instead of the original bytes",
  },
  {
    id: "core-timestamp-reset-on-dlq",
    layer: "core",
    description: "the dead-letter copy gets a new timestamp",
  },
  {
    id: "core-dlq-attempts-off-by-one",
    layer: "core",
    description: "the omnibus-dlq-attempts header says one attempt more than were made",
  },
  {
    id: "core-backoff-ignored",
    layer: "core",
    description: "a failed message is retried at once, whatever the retry policy's backoff",
  },
  {
    id: "core-retry-later-ignored",
    layer: "core",
    description: "RetryLaterError's delay is replaced by the retry policy's backoff",
  },
  {
    id: "core-max-attempts-off-by-one",
    layer: "core",
    description: "one attempt more than maxAttempts runs before the message is dead-lettered",
  },
  {
    id: "core-decode-retried",
    layer: "core",
    description: "an undecodable body is retried like a handler failure instead of dead-lettered at once",
  },
  {
    id: "core-concurrency-plus-one",
    layer: "core",
    description: "one handler more than `concurrency` runs at once",
  },
  { id: "core-close-no-drain", layer: "core", description: "close() does not wait for in-flight handlers" },
  {
    id: "core-ack-before-handler",
    layer: "core",
    description:
      "the message is acked when the handler starts, not when it succeeds: a crash mid-handler loses it",
  },
  {
    id: "core-idempotency-no-release",
    layer: "core",
    description:
      "the idempotency claim is not released after a failed handler: the retry waits for the lock to expire",
  },
  {
    id: "core-remote-code-lost",
    layer: "core",
    description: "a remote handler error's code is not carried back to the requester",
  },
  {
    id: "core-request-timeout-ignored",
    layer: "core",
    description: "a request without a reply waits forever instead of failing after timeoutMs",
  },

  // -- added after the first cases: defects found in core and the adapters (issues 15 and 16),
  //    each the fault that a regression case must catch, and more driver mistakes
  {
    id: "core-dlq-oversize-loop",
    layer: "core",
    description:
      "the dead-letter copy adds its headers without fitting them under the size limit: a message near the limit is retried forever",
  },
  {
    id: "core-thrown-value-crashes",
    layer: "core",
    description:
      "describing a thrown value calls String() on it, and the failure path is fire-and-forget: a null-prototype object thrown by a handler crashes the process",
  },
  {
    id: "core-consume-close-race",
    layer: "core",
    description: "consume() racing close() resolves with a live consumer after the client closed",
  },
  {
    id: "core-handlers-after-close",
    layer: "core",
    description:
      "buffered deliveries keep being handed to handlers after close() resolved (core ignores both its shutdown flag and what the adapter says of a delivery's staleness)",
  },
  {
    id: "core-reply-failure-retried",
    layer: "core",
    description:
      "a reply that cannot be sent counts as a handler failure: the replier runs again and the request is dead-lettered",
  },
  {
    id: "core-idempotency-no-extend",
    layer: "core",
    description:
      "the idempotency claim is not extended while a slow handler runs: a duplicate runs once lockMs passed",
  },
  {
    id: "core-request-id-collision",
    layer: "core",
    description:
      "pending requests are keyed by the message id: two requests with one id overwrite each other",
  },
  {
    id: "core-reserved-headers-allowed",
    layer: "core",
    description: "user headers named omnibus-* pass: a forged content type changes how the body is decoded",
  },
  {
    id: "core-group-dlq-ambiguous",
    layer: "core",
    description:
      "a topic group dead-letters to <topic>.<group>.dlq: topic a.b group c and topic a group b.c share it",
  },
  {
    id: "core-claim-check-digest-unchecked",
    layer: "core",
    description:
      "the claim check does not compare the fetched payload's SHA-256: a tampered payload reaches the handler",
  },
  {
    id: "core-claim-check-delete-on-fetch",
    layer: "core",
    description:
      "the claim check deletes a payload as soon as it fetched it: a retry or a dead-lettered copy finds it gone",
  },
  {
    id: "core-claim-check-topic-deleted",
    layer: "core",
    description: "topic payloads are deleted after the first group's ack: the other groups find them gone",
  },
  {
    id: "core-claim-check-acked-ignored",
    layer: "core",
    description: "core never runs the onAcked callbacks: queue payloads stay in the store forever",
  },
  {
    id: "nack-redelivery-late",
    layer: "spi",
    description: "a nack without delay brings the message back only after 2.5 s (a slow poll loop)",
  },
  { id: "ack-noop", layer: "spi", description: "ack resolves without settling anything" },
  { id: "nack-drops", layer: "spi", description: "nack deletes the message instead of putting it back" },
  { id: "redelivery-drops-headers", layer: "spi", description: "a redelivered message has lost its headers" },
  { id: "attempt-from-zero", layer: "spi", description: "attempt counts from 0" },
  {
    id: "batch-delay-shared",
    layer: "spi",
    description: "every message of a send gets the first message's delay",
  },
  {
    id: "priority-inverted",
    layer: "spi",
    description: "priorities are mapped the wrong way round (0 highest)",
  },
  {
    id: "consumer-stalls",
    layer: "spi",
    description: "a consumer stops handing out messages after its 100th delivery",
  },
  { id: "empty-body-padded", layer: "spi", description: "an empty body arrives as one zero byte" },
  {
    id: "stop-releases-inflight",
    layer: "spi",
    description:
      "stop() releases the deliveries already handed out: they come back while their handlers still run",
  },
  { id: "fanout-duplicates", layer: "spi", description: "each group receives every published message twice" },
  {
    id: "send-reverses-batch",
    layer: "spi",
    description: "the messages of one send call are stored in reverse order",
  },

  // -- the memory broker
  {
    id: "memory-group-not-kept-offline",
    layer: "memory",
    description: "a topic group's messages are dropped while no consumer of the group is attached",
  },
  {
    id: "memory-competing-duplicates",
    layer: "memory",
    description:
      "a message nacked by one consumer of a queue may also stay with it: the redelivery reaches two consumers",
  },
];
