/**
 * `@omnibus/sqs`: the Amazon SQS adapter for `@omnibus/core`, with SNS fan-out for topics.
 * @module
 */
import { type Adapter, registerAdapter } from "@omnibus/core";
import { SqsAdapter, type SqsNative } from "./adapter.js";
import { resolveOptions, type SqsOptions } from "./options.js";

/**
 * Create an SQS adapter.
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { sqs } from "@omnibus/sqs";
 *
 * const bus = createClient({ adapter: sqs({ url: "sqs://127.0.0.1:9324?sns=http://127.0.0.1:4575" }) });
 * // or, on AWS: createClient({ url: "sqs://eu-west-1" })
 * ```
 */
export function sqs(options: SqsOptions = {}): Adapter<SqsNative> {
  return new SqsAdapter(resolveOptions(options));
}

/**
 * Build the adapter from an `sqs://` URL; `@omnibus/core` calls this for `createClient({ url })`.
 * `options` are {@link SqsOptions} fields laid over what the URL says.
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<SqsNative> {
  return sqs({ ...(options as SqsOptions), url });
}

export type { SqsNative } from "./adapter.js";
export type { SqsCredentials, SqsOptions } from "./options.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter("sqs", { fromUrl });
