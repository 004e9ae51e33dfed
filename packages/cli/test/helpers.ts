// Drive `omnibus` in-process and capture what it prints.
import { PassThrough } from "node:stream";
import { run } from "../src/index.js";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout's lines parsed as JSON. */
  json(): any[];
}

export async function omnibus(args: string[], input?: string): Promise<Ran> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = Object.assign(new PassThrough(), { isTTY: input !== undefined });
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += String(c)));
  stderr.on("data", (c) => (err += String(c)));
  if (input !== undefined) setTimeout(() => stdin.write(input), 50);
  const code = await run(args, { stdout, stderr, stdin });
  return {
    code,
    stdout: out,
    stderr: err,
    json: () =>
      out
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l)),
  };
}
