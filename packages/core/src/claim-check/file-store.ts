import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { type BlobStore, isBlobKey } from "./store.js";

/** Options of {@link fileBlobStore}. */
export interface FileBlobStoreOptions {
  /** The directory holding the payloads (created if missing). Share it between producers and consumers. */
  directory: string;
  /** The store's name in references. @default "fs" */
  name?: string;
}

/** A {@link BlobStore} on a local directory, with a sweep for payloads nobody deletes (topics). */
export interface FileBlobStore extends BlobStore {
  /** The directory's absolute path. */
  readonly directory: string;
  /**
   * Delete every payload older than `olderThanMs` (by modification time) — those of topic
   * messages, which no consumer deletes, and any left behind — and the empty directories.
   * Resolves with how many payloads went.
   */
  sweep(olderThanMs: number): Promise<number>;
}

/**
 * A blob store on the local file system: one file per payload, a key's segments as directories.
 * A put writes a temporary file and renames it into place, so a reader never sees half a
 * payload. The embedded default for `memory://` and tests; for several machines use a shared
 * store (`s3BlobStore` from `@omnibus/s3-store`). Keys not made by the claim check (`..`,
 * absolute paths, other characters) are refused with a `ConfigError`, so a received reference
 * can never read outside `directory`.
 *
 * @example
 * ```ts
 * const store = fileBlobStore({ directory: "/var/lib/app/payloads" });
 * const bus = createClient({ url: "memory://", use: [claimCheck({ store })] });
 * ```
 */
export function fileBlobStore(options: FileBlobStoreOptions): FileBlobStore {
  if (typeof options?.directory !== "string" || options.directory === "")
    throw new ConfigError("fileBlobStore() needs a directory");
  const directory = resolve(options.directory);
  const name = options.name ?? "fs";
  const pathOf = (key: string): string => {
    if (!isBlobKey(key))
      throw new ConfigError(`not a blob key: ${JSON.stringify(String(key).slice(0, 100))}`);
    return join(directory, ...key.split("/"));
  };
  return {
    name,
    directory,
    async put(key, body) {
      const path = pathOf(key);
      // Written aside, then renamed: a reader sees the whole payload or none.
      const temporary = join(directory, `.tmp-${randomUUID()}`);
      try {
        await mkdir(directory, { recursive: true });
        await writeFile(temporary, body);
        // A sweep removes empty directories: one that ran between our mkdir and rename (or inside
        // mkdir, between its EEXIST and its stat) fails them with ENOENT; make the directory again.
        for (let attempt = 1; ; attempt++) {
          try {
            await mkdir(join(path, ".."), { recursive: true });
            await rename(temporary, path);
            return;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 10) throw error;
          }
        }
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    async delete(key) {
      // The file only: removing its directory when empty would race with puts into it (the
      // bench measured such failures); `sweep` removes empty directories.
      try {
        await unlink(pathOf(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    },
    async sweep(olderThanMs) {
      const before = Date.now() - olderThanMs;
      let removed = 0;
      const walk = async (dir: string): Promise<void> => {
        let entries: import("node:fs").Dirent[];
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const entry of entries) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) {
            await walk(path);
            if (path !== directory) await rmdir(path).catch(() => {});
          } else {
            const info = await stat(path).catch(() => undefined);
            if (info !== undefined && info.mtimeMs < before) {
              await unlink(path).catch(() => {});
              removed++;
            }
          }
        }
      };
      await walk(directory);
      return removed;
    },
  };
}
