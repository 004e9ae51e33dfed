import type { SNSClientConfig } from "@aws-sdk/client-sns";
import type { SQSClientConfig } from "@aws-sdk/client-sqs";
import { ConfigError, maskUrl } from "@omnibus/core";
import { checkPrefix } from "./names.js";

/** AWS credentials, or a provider of them (anything the AWS SDK v3 accepts as `credentials`). */
export type SqsCredentials = NonNullable<SQSClientConfig["credentials"]>;

/**
 * Options of {@link sqs}. Every field is optional; a `url` gives most of them in one string and
 * the other fields override what it says.
 */
export interface SqsOptions {
  /**
   * Broker URL: `sqs://<region>` for AWS (`sqs://` alone takes the region from the AWS chain),
   * `sqs://[key:secret@]host:port?...` for an SQS-compatible server. Query parameters:
   * `region`, `prefix`, `sns` (an endpoint URL, `true` or `false`), `fifo`, `autoCreate`,
   * `visibilityTimeout`, `waitTimeSeconds`, `maxPollers`, `tls` (`true`: https to host:port),
   * `endpoint` (a full endpoint URL), `credentials=chain` (use the AWS chain with an endpoint).
   * See the README.
   * @default undefined
   */
  url?: string;
  /**
   * AWS region.
   * @default the URL's region; with an endpoint, "us-east-1"; else the AWS chain (AWS_REGION, ~/.aws/config)
   */
  region?: string;
  /**
   * SQS endpoint (emulators, VPC endpoints), e.g. "http://127.0.0.1:9324".
   * @default the URL's host:port; else AWS's regional endpoint
   */
  endpoint?: string;
  /**
   * SNS for topics: `true` = the AWS regional endpoint, a URL = that endpoint, `false` = no
   * topics (`features.fanout` is false and topic calls throw `UnsupportedFeatureError`).
   * @default true on AWS (no endpoint); false when an SQS endpoint is given and no SNS one
   */
  sns?: boolean | string;
  /**
   * Credentials. With an endpoint and nothing given, dummy ones (emulators ignore them); on AWS,
   * the default provider chain. The URL's `user:password` is an access key id and secret.
   * @default URL credentials; else dummy ones with an endpoint; else the AWS default chain
   */
  credentials?: SqsCredentials | "chain";
  /**
   * Prepended to every queue and topic name on the broker (`[A-Za-z0-9_-]`, up to 40 chars), to
   * share one account between environments.
   * @default ""
   */
  prefix?: string;
  /**
   * FIFO queues and topics for everything: messages with the same key keep their order
   * (MessageGroupId = key, MessageDeduplicationId = message id). SQS FIFO has no per-message
   * delay, so `features.delay` is false in this mode.
   * @default false
   */
  fifo?: boolean;
  /**
   * Create queues, topics and subscriptions on first use (CreateQueue is idempotent). When false,
   * they must exist (a missing one is a `ConfigError`); ephemeral queues are always created.
   * @default true
   */
  autoCreate?: boolean;
  /**
   * Seconds a received message stays invisible to other consumers. A running handler's messages
   * are extended (ChangeMessageVisibility heartbeat) before it runs out; a consumer that dies
   * without settling gets its messages redelivered after it.
   * @default 30
   */
  visibilityTimeoutSeconds?: number;
  /**
   * Long-poll wait of each ReceiveMessage, 1-20 seconds. It is also the longest a consumer's
   * `stop()` (and so a client's `close()`) waits for the receives it has in flight: SQS cannot
   * cancel a receive, and one that comes back after `stop()` could not be handed out. Longer waits
   * mean fewer empty receives on an idle queue (cheaper on AWS), shorter ones a faster shutdown.
   * @default 5
   */
  waitTimeSeconds?: number;
  /**
   * Most parallel ReceiveMessage calls per consumer (each asks for up to 10 messages). A consumer
   * starts with one and adds pollers while receives come back full.
   * @default 8
   */
  maxPollers?: number;
  /**
   * How long acks and nacks wait to be batched (DeleteMessageBatch, ChangeMessageVisibilityBatch)
   * when fewer than 10 are pending.
   * @default 5
   */
  batchDelayMs?: number;
  /**
   * Extra attributes for queues this adapter creates (e.g. `{ MessageRetentionPeriod: "1209600" }`).
   * @default {}
   */
  queueAttributes?: Record<string, string>;
  /**
   * Whether messages survive a broker restart, as declared in `features.persistent`. True for
   * Amazon SQS; set false for an in-memory emulator (ElasticMQ without storage, fauxqs).
   * @default true
   */
  persistent?: boolean;
  /**
   * Send characters beyond U+FFFF (emoji…) only in escaped or binary form: text bodies holding
   * them travel as bytes, metadata escapes them. Amazon SQS accepts them as they are; fauxqs 1.9
   * refuses them ("Invalid characters found"), so turn this on for fauxqs.
   * @default false
   */
  bmpOnly?: boolean;
  /**
   * Extra SQSClient configuration (retry strategy, logger, request handler…), merged under the
   * adapter's own settings.
   * @default {}
   */
  sqsClientConfig?: SQSClientConfig;
  /**
   * Extra SNSClient configuration, as for {@link SqsOptions.sqsClientConfig}.
   * @default {}
   */
  snsClientConfig?: SNSClientConfig;
  /**
   * Silence the AWS SDK's "Node.js 20 is past its support" warning, through its documented
   * switch `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED` (set only when not already set).
   * @default true
   */
  quietNodeVersionWarning?: boolean;
}

/** {@link SqsOptions} resolved: every field set. */
export interface ResolvedSqsOptions {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  /** undefined = no SNS; "" = AWS default endpoint; else the endpoint. */
  readonly snsEndpoint: string | undefined;
  readonly credentials: SqsCredentials | undefined;
  readonly prefix: string;
  readonly fifo: boolean;
  readonly autoCreate: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly waitTimeSeconds: number;
  readonly maxPollers: number;
  readonly batchDelayMs: number;
  readonly queueAttributes: Readonly<Record<string, string>>;
  readonly persistent: boolean;
  readonly bmpOnly: boolean;
  readonly sqsClientConfig: SQSClientConfig;
  readonly snsClientConfig: SNSClientConfig;
  readonly quietNodeVersionWarning: boolean;
  /** The URL with its password masked, for messages. */
  readonly display: string;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const DUMMY_CREDENTIALS = { accessKeyId: "omnibus", secretAccessKey: "omnibus" };

/** Options found in a URL, before the explicit ones are laid over them. */
function parseUrl(url: string): SqsOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError(`invalid SQS URL ${JSON.stringify(maskUrl(url))}`, { cause: error });
  }
  if (parsed.protocol !== "sqs:") {
    throw new ConfigError(`an SQS URL starts with sqs://, got ${JSON.stringify(maskUrl(url))}`);
  }
  const out: SqsOptions = {};
  const q = parsed.searchParams;
  const host = parsed.hostname;
  const tls = bool(q, "tls", url);
  if (host !== "") {
    if (REGION.test(host) && parsed.port === "") out.region = host;
    else out.endpoint = `${tls ? "https" : "http"}://${parsed.host}`;
  }
  const endpoint = q.get("endpoint");
  if (endpoint !== null) out.endpoint = endpoint;
  const region = q.get("region");
  if (region !== null) out.region = region;
  if (parsed.username !== "" || parsed.password !== "") {
    out.credentials = {
      accessKeyId: decodeURIComponent(parsed.username),
      secretAccessKey: decodeURIComponent(parsed.password),
    };
  }
  if (q.get("credentials") === "chain") out.credentials = "chain";
  const prefix = q.get("prefix");
  if (prefix !== null) out.prefix = prefix;
  const sns = q.get("sns");
  if (sns !== null) out.sns = sns === "true" ? true : sns === "false" ? false : sns;
  const fifo = bool(q, "fifo", url);
  if (fifo !== undefined) out.fifo = fifo;
  const autoCreate = bool(q, "autoCreate", url);
  if (autoCreate !== undefined) out.autoCreate = autoCreate;
  const persistent = bool(q, "persistent", url);
  if (persistent !== undefined) out.persistent = persistent;
  const bmpOnly = bool(q, "bmpOnly", url);
  if (bmpOnly !== undefined) out.bmpOnly = bmpOnly;
  const numbers = ["visibilityTimeout", "waitTimeSeconds", "maxPollers", "batchDelayMs"] as const;
  for (const name of numbers) {
    const value = q.get(name);
    if (value === null) continue;
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) {
      throw new ConfigError(
        `${name}=${JSON.stringify(value)} in ${JSON.stringify(maskUrl(url))} is not a number`,
      );
    }
    if (name === "visibilityTimeout") out.visibilityTimeoutSeconds = n;
    else out[name] = n;
  }
  const known = new Set([
    "tls",
    "endpoint",
    "region",
    "credentials",
    "prefix",
    "sns",
    "fifo",
    "autoCreate",
    "persistent",
    "bmpOnly",
    ...numbers,
  ]);
  for (const name of q.keys()) {
    if (!known.has(name)) {
      throw new ConfigError(
        `unknown parameter ${JSON.stringify(name)} in SQS URL ${JSON.stringify(maskUrl(url))}`,
      );
    }
  }
  return out;
}

function bool(q: URLSearchParams, name: string, url: string): boolean | undefined {
  const value = q.get(name);
  if (value === null) return undefined;
  if (value === "true" || value === "1" || value === "") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError(
    `${name}=${JSON.stringify(value)} in ${JSON.stringify(maskUrl(url))} must be true or false`,
  );
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer within ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function endpointUrl(name: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch (error) {
    throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(maskUrl(value))}`, {
      cause: error,
    });
  }
  return value.replace(/\/+$/, "");
}

/** Resolve options once into a fully populated internal form. Throws `ConfigError`. */
export function resolveOptions(options: SqsOptions): ResolvedSqsOptions {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("sqs(options): options must be an object");
  const fromUrl = options.url === undefined ? {} : parseUrl(options.url);
  const o: SqsOptions = { ...fromUrl };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== "url") (o as Record<string, unknown>)[key] = value;
  }
  const endpoint = o.endpoint === undefined ? undefined : endpointUrl("endpoint", o.endpoint);
  let snsEndpoint: string | undefined;
  if (o.sns === undefined) snsEndpoint = endpoint === undefined ? "" : undefined;
  else if (o.sns === true) snsEndpoint = endpoint === undefined ? "" : endpoint;
  else if (o.sns === false) snsEndpoint = undefined;
  else if (typeof o.sns === "string") snsEndpoint = endpointUrl("sns", o.sns);
  else throw new ConfigError(`sns must be a boolean or an endpoint URL, got ${typeof o.sns}`);
  let credentials: SqsCredentials | undefined;
  if (o.credentials === "chain") credentials = undefined;
  else if (o.credentials !== undefined) credentials = o.credentials;
  else if (endpoint !== undefined) credentials = DUMMY_CREDENTIALS;
  const prefix = o.prefix ?? "";
  if (typeof prefix !== "string") throw new ConfigError("prefix must be a string");
  const problem = checkPrefix(prefix);
  if (problem) throw new ConfigError(problem);
  if (o.region !== undefined && (typeof o.region !== "string" || o.region === "")) {
    throw new ConfigError("region must be a non-empty string");
  }
  const flag = (name: string, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw new ConfigError(`${name} must be a boolean, got ${typeof value}`);
    return value;
  };
  const queueAttributes = o.queueAttributes ?? {};
  if (typeof queueAttributes !== "object" || queueAttributes === null) {
    throw new ConfigError("queueAttributes must be an object of strings");
  }
  return {
    region: o.region ?? (endpoint === undefined ? undefined : "us-east-1"),
    endpoint,
    snsEndpoint,
    credentials,
    prefix,
    fifo: flag("fifo", o.fifo, false),
    autoCreate: flag("autoCreate", o.autoCreate, true),
    visibilityTimeoutSeconds: integer(
      "visibilityTimeoutSeconds",
      o.visibilityTimeoutSeconds ?? 30,
      1,
      43_200,
    ),
    waitTimeSeconds: integer("waitTimeSeconds", o.waitTimeSeconds ?? 5, 1, 20),
    maxPollers: integer("maxPollers", o.maxPollers ?? 8, 1, 64),
    batchDelayMs: integer("batchDelayMs", o.batchDelayMs ?? 5, 0, 10_000),
    queueAttributes,
    persistent: flag("persistent", o.persistent, true),
    bmpOnly: flag("bmpOnly", o.bmpOnly, false),
    sqsClientConfig: o.sqsClientConfig ?? {},
    snsClientConfig: o.snsClientConfig ?? {},
    quietNodeVersionWarning: flag("quietNodeVersionWarning", o.quietNodeVersionWarning, true),
    display:
      options.url === undefined
        ? `sqs ${endpoint ?? o.region ?? "(AWS default region)"}`
        : maskUrl(options.url),
  };
}
