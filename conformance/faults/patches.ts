/**
 * How each core and memory-broker fault of `list.ts` is put in: an edit of a temporary copy of
 * the source. Every edit must match its file exactly once; the scorer fails loudly when one no
 * longer applies (the code moved on and the fault must be re-seeded, not silently dropped).
 * @module
 */

/** One textual edit of one file (path relative to the repository root). */
export interface Patch {
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

const CLIENT = "packages/core/src/client/client.ts";
const SEND = "packages/core/src/client/send.ts";
const RUNNER = "packages/core/src/consumer/runner.ts";
const REPLY = "packages/core/src/request-reply.ts";
const IDEMPOTENCY = "packages/core/src/idempotency/middleware.ts";
const OUTCOME = "packages/core/src/consumer/outcome.ts";
const NAMES = "packages/core/src/names.ts";
const CLAIM_CHECK = "packages/core/src/claim-check/middleware.ts";
const WIRE = "packages/core/src/client/wire.ts";
/** Source text of names.ts: the hashed group dead-letter name, and the ambiguous plain one. */
const GROUP_DLQ = "  const h = hash(`" + "$" + "{source.name}\\u0000" + "$" + "{source.group}`);\n";
const TEMPLATE_PLAIN_GROUP_DLQ = "`" + "$" + "{source.name}." + "$" + "{source.group}.dlq`";
const BROKER = "adapters/memory/src/broker.ts";

export const patchFaults: Record<string, readonly Patch[]> = {
  "core-dlq-drops-headers": [
    {
      file: OUTCOME,
      find: '  for (const [k, v] of Object.entries(headers)) if (!k.startsWith("omnibus-dlq-")) out[k] = v;\n',
      replace: "",
    },
  ],
  "core-dlq-body-reencoded": [
    {
      file: RUNNER,
      find: "          id: m.id,\n          body: m.body,\n",
      replace:
        "          id: m.id,\n          body: (() => { try { return new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(m.body)))); } catch { return m.body; } })(),\n",
    },
  ],
  "core-timestamp-reset-on-dlq": [
    {
      file: RUNNER,
      find: "          replyTo: m.replyTo,\n          timestamp: m.timestamp,\n",
      replace: "          replyTo: m.replyTo,\n          timestamp: Date.now(),\n",
    },
  ],
  "core-dlq-attempts-off-by-one": [
    {
      file: OUTCOME,
      find: "add(HeaderNames.DeadLetterAttempts, String(info.attempts));",
      replace: "add(HeaderNames.DeadLetterAttempts, String(info.attempts + 1));",
    },
  ],
  "core-backoff-ignored": [
    {
      file: OUTCOME,
      find: 'return { kind: "retry", delayMs: backoffDelay(policy, attempt, random) };',
      replace: 'return { kind: "retry", delayMs: 0 };',
    },
  ],
  "core-retry-later-ignored": [
    {
      file: OUTCOME,
      find: 'if (error instanceof RetryLaterError) return { kind: "retry", delayMs: clampDelay(error.delayMs) };',
      replace:
        'if (error instanceof RetryLaterError && attempt < 0) return { kind: "retry", delayMs: clampDelay(error.delayMs) };',
    },
  ],
  "core-max-attempts-off-by-one": [
    {
      file: OUTCOME,
      find: 'if (attempt >= policy.maxAttempts) return { kind: "dead-letter" };',
      replace: 'if (attempt > policy.maxAttempts) return { kind: "dead-letter" };',
    },
    {
      file: RUNNER,
      find: "if (inbound.attempt > retry.maxAttempts) {",
      replace: "if (inbound.attempt > retry.maxAttempts + 1) {",
    },
  ],
  "core-decode-retried": [
    {
      file: RUNNER,
      find: "    } catch (error) {\n      return this.#deadLetter(delivery, error, op);\n    }\n    try {\n",
      replace:
        "    } catch (error) {\n      return this.#failed(delivery, new Error(String((error as Error)?.message)), op);\n    }\n    try {\n",
    },
  ],
  "core-concurrency-plus-one": [
    {
      file: RUNNER,
      find: "while (this.#running < this.#c.concurrency &&",
      replace: "while (this.#running <= this.#c.concurrency &&",
    },
  ],
  "core-close-no-drain": [
    { file: RUNNER, find: "this.#idle().then(() => false),", replace: "Promise.resolve(false)," },
  ],
  "core-ack-before-handler": [
    {
      file: RUNNER,
      find: "    try {\n      const run = this.#c.hasMiddleware\n",
      replace: "    void delivery.ack();\n    try {\n      const run = this.#c.hasMiddleware\n",
    },
  ],
  "core-idempotency-no-release": [
    { file: IDEMPOTENCY, find: "        await store.release(k, claim.token);\n", replace: "" },
  ],
  "core-remote-code-lost": [
    { file: REPLY, find: "headers[HeaderNames.ReplyErrorCode] = errorCode(error);", replace: "" },
  ],
  "core-request-timeout-ignored": [
    { file: REPLY, find: "      }, timeoutMs);\n", replace: "      }, 2 ** 31 - 1);\n" },
  ],
  "core-dlq-oversize-loop": [
    {
      file: RUNNER,
      find: "      adapter.features.maxMessageBytes,\n    );",
      replace: "      Number.POSITIVE_INFINITY,\n    );",
    },
  ],
  "core-thrown-value-crashes": [
    {
      file: RUNNER,
      find: "      (error: unknown) => this.#unexpected(delivery, error).finally(() => this.#finished(key)),\n",
      replace: "",
    },
    {
      file: OUTCOME,
      find: "export function errorMessage(value: unknown): string {\n",
      replace:
        'export function errorMessage(value: unknown): string {\n  if (typeof value !== "string") return String(value);\n',
    },
  ],
  "core-consume-close-race": [
    {
      file: CLIENT,
      find: "    if (this.#closing) {\n      // close() began while the consumer started",
      replace: "    if (false as boolean) {\n      // close() began while the consumer started",
    },
    { file: RUNNER, find: "        await this.#starting?.catch(() => {});\n", replace: "" },
  ],
  // Both guards: the shutdown flag, and (on adapters that report it) a delivery's staleness.
  "core-handlers-after-close": [
    { file: RUNNER, find: "    if (this.#stopping) return;\n", replace: "" },
    { file: RUNNER, find: "      if (delivery.stale === true) continue;\n", replace: "" },
  ],
  "core-reply-failure-retried": [
    {
      file: REPLY,
      find: "    for (let attempt = 1; ; attempt++) {",
      replace:
        '    await client.sendPrepared(adapter, { kind: "queue", name: message.replyTo }, reply);\n    for (let attempt = 1; ; attempt++) {',
    },
  ],
  "core-idempotency-no-extend": [
    { file: IDEMPOTENCY, find: "        store.extend &&\n", replace: "        false &&\n" },
  ],
  "core-request-id-collision": [
    {
      file: CLIENT,
      find: "    normalised.correlationId = uuidv7();",
      replace: "    normalised.correlationId = normalised.id;",
    },
  ],
  "core-reserved-headers-allowed": [
    { file: SEND, find: "      if (!internal && k.length >= 8", replace: "      if (false && k.length >= 8" },
  ],
  "core-claim-check-digest-unchecked": [
    {
      file: CLAIM_CHECK,
      find: "if (digest !== reference.sha256)",
      replace: "if (digest === reference.sha256 && false)",
    },
  ],
  "core-claim-check-delete-on-fetch": [
    {
      file: CLAIM_CHECK,
      find: "      const payload = await collect(found, reference);\n",
      replace:
        "      const payload = await collect(found, reference);\n      await store.delete(reference.key);\n",
    },
  ],
  "core-claim-check-topic-deleted": [
    {
      file: CLAIM_CHECK,
      find: '      if (deleteAfterAck && ctx.kind === "queue") {',
      replace: "      if (deleteAfterAck) {",
    },
  ],
  "core-claim-check-acked-ignored": [
    { file: WIRE, find: '      if (typeof callback === "function") acked.push(callback);', replace: "" },
  ],
  "core-group-dlq-ambiguous": [
    { file: NAMES, find: GROUP_DLQ, replace: `  return ${TEMPLATE_PLAIN_GROUP_DLQ};\n${GROUP_DLQ}` },
  ],
  "memory-group-not-kept-offline": [
    {
      file: BROKER,
      find: "for (const queue of groups.values()) queue.enqueue(message, 1, seq);",
      replace:
        "for (const queue of groups.values()) if (queue.attachedCount() > 0) queue.enqueue(message, 1, seq);",
    },
    {
      file: BROKER,
      find: "  attach(consumer: MemoryConsumer): void {",
      replace:
        "  attachedCount(): number {\n    return this.#consumers.filter((c) => c.active).length;\n  }\n\n  attach(consumer: MemoryConsumer): void {",
    },
  ],
  "memory-competing-duplicates": [
    {
      file: BROKER,
      find: "        else this.#push(stored);",
      replace:
        "        else {\n          this.#push(stored);\n          this.#push({ ...stored });\n        }",
    },
  ],
};
