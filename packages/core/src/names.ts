import { ConfigError } from "./errors.js";

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
