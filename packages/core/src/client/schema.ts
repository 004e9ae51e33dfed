/**
 * Run-time validation with the contract's Standard Schemas.
 * @module
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type Contract, isStandardSchema } from "../contract.js";
import { ValidationError } from "../errors.js";

/** What a schema is looked up for. */
export type SchemaKind = "queue" | "topic" | "request" | "response";

/**
 * The run-time schema of a destination. A dead-letter queue (`<queue>.dlq`) is typed like its
 * queue but never validated: it holds, among others, the messages that failed that schema.
 */
export function schemaFor(
  contract: Contract | undefined,
  kind: SchemaKind,
  name: string,
): StandardSchemaV1 | undefined {
  if (!contract) return undefined;
  let spec: unknown;
  if (kind === "queue") spec = contract.queues?.[name];
  else if (kind === "topic") spec = contract.topics?.[name];
  else spec = contract.requests?.[name]?.[kind];
  return isStandardSchema(spec) ? spec : undefined;
}

/** `value` validated by `schema` (its output), or a `ValidationError` naming up to 5 issues. */
export async function validate(schema: StandardSchemaV1, value: unknown, what: string): Promise<unknown> {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const detail = result.issues
      .slice(0, 5)
      .map(
        (i) =>
          `${i.path?.map((p) => (typeof p === "object" ? p.key : p)).join(".") || "(root)"}: ${i.message}`,
      )
      .join("; ");
    throw new ValidationError(`body of ${what} does not match its schema: ${detail}`, {
      cause: result.issues,
    });
  }
  return result.value;
}
