import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Features } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { allCases } from "./cases/index.js";
import { resolveConformanceOptions } from "./options.js";

const NONE: Features = {
  persistent: false,
  fanout: false,
  orderingByKey: false,
  delay: false,
  maxDelayMs: 0,
  priority: false,
  maxPriority: 0,
  maxMessageBytes: 1,
  maxBatchSize: 1,
};

/** The case table of the README, made from the cases themselves. */
function caseTable(): string {
  const options = resolveConformanceOptions({ name: "x", adapter: () => ({}) as never });
  const rows = allCases.map((c) => {
    const when = c.skip?.({ features: NONE, options });
    const needs =
      when === undefined ? "always" : when.replace(/ is false$/, "").replace(/^no `(\w+)`.*$/, "option `$1`");
    return `| \`${c.id}\` | ${c.title.replace(/\|/g, "\\|")} | ${needs} |`;
  });
  return ["| case | what it proves | runs when |", "|---|---|---|", ...rows].join("\n");
}

describe("conformance README", () => {
  it("lists every case, with what it proves and when it runs (regenerate: UPDATE_README=1)", () => {
    const file = join(import.meta.dirname, "..", "README.md");
    const text = readFileSync(file, "utf8");
    const block = `<!-- cases:start -->\n${caseTable()}\n<!-- cases:end -->`;
    const current = /<!-- cases:start -->[\s\S]*<!-- cases:end -->/.exec(text)?.[0];
    if (process.env.UPDATE_README) {
      writeFileSync(file, text.replace(/<!-- cases:start -->[\s\S]*<!-- cases:end -->/, block));
      return;
    }
    // Compared cell by cell: a formatter may pad the table's columns.
    const cells = (table: string | undefined) =>
      (table ?? "")
        .split("\n")
        .map((line) =>
          line
            .split("|")
            .map((cell) => cell.trim().replace(/^:?-+:?$/, "---"))
            .join("|"),
        )
        .join("\n");
    expect(
      cells(current),
      "the README's case table is out of date: run UPDATE_README=1 pnpm exec vitest run conformance/src/readme.test.ts",
    ).toBe(cells(block));
  });
});
