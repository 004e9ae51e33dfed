import { createHash } from "node:crypto";
import { ConfigError } from "./errors.js";
import type { Source } from "./spi.js";

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

/**
 * Check a queue, topic or group name: 1-200 characters of `[A-Za-z0-9._-]`, not starting with
 * `.` or `-`. Every adapter can map such names onto its broker; anything else is a
 * `ConfigError` at the call site.
 */
export function validateName(kind: "queue" | "topic" | "group", name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name) || name.includes("..")) {
    throw new ConfigError(
      `invalid ${kind} name ${JSON.stringify(name)}: use 1-200 characters of A-Z a-z 0-9 . _ - ` +
        "(not starting with . or -, no '..')",
    );
  }
  return name;
}

/**
 * The default dead-letter queue of a source. A queue's is `<queue>.dlq`; a topic group's is
 * `<topic>.<group>.<10 hex>.dlq`, the hex a hash of the pair, so that (topic `a.b`, group `c`)
 * and (topic `a`, group `b.c`) never share one. Names too long for the 200-character limit keep
 * a readable head: `<head>.dlq-<hash>` for a queue, `<head>.<hash>.dlq` for a group.
 */
export function deadLetterQueueFor(source: Source): string {
  if (source.kind === "queue") {
    const plain = `${source.name}.dlq`;
    return plain.length <= 200
      ? plain
      : `${source.name.slice(0, 200 - 16).replace(/[.-]+$/, "")}.dlq-${hash(source.name)}`;
  }
  const h = hash(`${source.name}\u0000${source.group}`);
  const head = `${source.name}.${source.group}`.slice(0, 200 - 16).replace(/[.-]+$/, "");
  return `${head}.${h}.dlq`.replace(/\.\.+/g, ".");
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
}
