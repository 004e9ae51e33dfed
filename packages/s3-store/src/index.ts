/**
 * `@omnibus/s3-store`: an Amazon S3 blob store for the claim-check middleware of `@omnibus/core`.
 * @module
 */
export type { S3BlobStore, S3BlobStoreOptions, S3Credentials } from "./store.js";
export { s3BlobStore } from "./store.js";
