/**
 * The S3 blob store: one object per payload, PutObject / GetObject (streamed) / DeleteObject.
 * @module
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { type BlobStore, ConfigError, ConnectionError, isBlobKey, type OmnibusError } from "@omnibus/core";

/** AWS credentials, or a provider of them (anything the AWS SDK v3 accepts as `credentials`). */
export type S3Credentials = NonNullable<S3ClientConfig["credentials"]>;

/** Options of {@link s3BlobStore}. */
export interface S3BlobStoreOptions {
  /** The bucket holding the payloads. */
  bucket: string;
  /**
   * An S3 client of your own (then `region`, `endpoint`, `credentials`, `forcePathStyle` and
   * `clientConfig` are ignored, and `close()` leaves it open).
   */
  client?: S3Client;
  /** AWS region. @default with an endpoint "us-east-1", else the AWS chain (AWS_REGION, ~/.aws/config) */
  region?: string;
  /** An S3-compatible endpoint (fauxqs, MinIO, LocalStack): `http://127.0.0.1:4575`. @default AWS's */
  endpoint?: string;
  /** @default with an endpoint dummy credentials, else the AWS default chain */
  credentials?: S3Credentials;
  /** Path-style URLs (`endpoint/bucket/key`), which emulators need. @default true with an endpoint */
  forcePathStyle?: boolean;
  /** More configuration of the S3 client the store creates. */
  clientConfig?: S3ClientConfig;
  /** Create the bucket on first use when it does not exist (tests, emulators). @default false */
  createBucket?: boolean;
  /** The store's name in claim-check references. @default `s3:<bucket>` */
  name?: string;
}

/** A {@link BlobStore} on S3, with the client it uses. */
export interface S3BlobStore extends BlobStore {
  /** The bucket. */
  readonly bucket: string;
  /** The escape hatch: the `S3Client` the store uses. */
  readonly native: S3Client;
  /** Destroy the S3 client if the store created it (a client given in the options stays open). */
  close(): Promise<void>;
}

const DUMMY_CREDENTIALS = { accessKeyId: "omnibus", secretAccessKey: "omnibus" };
/** Bucket names S3 accepts (general purpose buckets): 3-63 of a-z 0-9 . -, a letter or digit at each end. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * A claim-check blob store on Amazon S3 or an S3-compatible server. Payloads are objects
 * `<key>` in `bucket` (the claim check makes the keys: `<prefix><queue|topic>/<destination>/<id>`),
 * put with PutObject (up to 5 GiB) and read back as a stream. Topic payloads, and queue payloads
 * with `deleteAfterAck: false`, are left to a bucket lifecycle rule: expire `topic/` (or
 * everything) after the longest time a message may wait.
 *
 * @example
 * ```ts
 * import { claimCheck, createClient } from "@omnibus/core";
 * import { s3BlobStore } from "@omnibus/s3-store";
 *
 * const store = s3BlobStore({ bucket: "orders-payloads", region: "eu-west-1" });
 * const bus = createClient({ url, use: [claimCheck({ store })] });
 * ```
 */
export function s3BlobStore(options: S3BlobStoreOptions): S3BlobStore {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("s3BlobStore() needs options with a bucket");
  const { bucket } = options;
  if (typeof bucket !== "string" || !BUCKET.test(bucket))
    throw new ConfigError(`bucket ${JSON.stringify(bucket)}: 3-63 characters of a-z 0-9 . -`);
  if (options.endpoint !== undefined) {
    try {
      new URL(options.endpoint);
    } catch {
      throw new ConfigError("endpoint must be a URL, such as http://127.0.0.1:4575");
    }
  }
  const own = options.client === undefined;
  const client =
    options.client ??
    new S3Client({
      ...options.clientConfig,
      ...(options.region !== undefined
        ? { region: options.region }
        : options.endpoint !== undefined
          ? { region: "us-east-1" }
          : {}),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials !== undefined
        ? { credentials: options.credentials }
        : options.endpoint !== undefined
          ? { credentials: DUMMY_CREDENTIALS }
          : {}),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    });
  const where = `S3 bucket ${bucket}`;
  let ready: Promise<void> | undefined;
  const ensureBucket = (): Promise<void> => {
    if (!options.createBucket) return Promise.resolve();
    ready ??= (async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
          if (!isNamed(error, "BucketAlreadyOwnedByYou", "BucketAlreadyExists")) throw error;
        });
      }
    })().catch((error: unknown) => {
      ready = undefined;
      throw translate(error, `cannot create ${where}`);
    });
    return ready;
  };
  const checked = (key: string): string => {
    if (!isBlobKey(key))
      throw new ConfigError(`not a blob key: ${JSON.stringify(String(key).slice(0, 100))}`);
    return key;
  };
  return {
    name: options.name ?? `s3:${bucket}`,
    bucket,
    native: client,
    async put(key, body, info) {
      checked(key);
      await ensureBucket();
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.byteLength,
            ContentType: info.contentType,
            Metadata: { sha256: info.sha256 },
          }),
        );
      } catch (error) {
        throw translate(error, `cannot put ${key} in ${where}`);
      }
    },
    async get(key) {
      checked(key);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        // In Node the body is an IncomingMessage: an async iterable of Buffers, read as it comes.
        return out.Body as AsyncIterable<Uint8Array> | undefined;
      } catch (error) {
        if (isNamed(error, "NoSuchKey", "NotFound")) return undefined;
        throw translate(error, `cannot get ${key} from ${where}`);
      }
    },
    async delete(key) {
      checked(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        if (isNamed(error, "NoSuchKey", "NotFound")) return;
        throw translate(error, `cannot delete ${key} from ${where}`);
      }
    },
    async close() {
      if (own) client.destroy();
    },
  };
}

function isNamed(error: unknown, ...names: string[]): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" && names.includes(name);
}

/**
 * A failed S3 call as an Omnibus error: a missing bucket or refused access is a `ConfigError`
 * (trying again will not help), anything else a retryable `ConnectionError`. The SDK's error is
 * the cause.
 */
function translate(error: unknown, what: string): OmnibusError {
  const name = (error as { name?: unknown } | null)?.name;
  const detail = `${what}: ${typeof name === "string" ? `${name}: ` : ""}${(error as Error)?.message ?? String(error)}`;
  if (isNamed(error, "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"))
    return new ConfigError(detail, { cause: error });
  return new ConnectionError(detail, { cause: error, retryable: true });
}
