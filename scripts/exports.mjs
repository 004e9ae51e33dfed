#!/usr/bin/env node
// The export lists of @omnibus/core in its README: every name of the root entry point
// (`@omnibus/core`) and of the adapter kit (`@omnibus/core/adapter`), each with the first sentence
// of its TSDoc comment, read with the TypeScript compiler from the sources. The lists sit in
// packages/core/README.md between `<!-- exports:root -->` / `<!-- /exports:root -->` and
// `<!-- exports:adapter -->` / `<!-- /exports:adapter -->`.
//   node scripts/exports.mjs           print both lists
//   node scripts/exports.mjs --write   rewrite them in the README
//   node scripts/exports.mjs --check   exit 1 when the README's lists are not what the sources say,
//                                      or a name has no comment to describe it
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const core = join(root, "packages", "core");
const readmePath = join(core, "README.md");
const entries = {
  root: join(core, "src", "index.ts"),
  adapter: join(core, "src", "adapter", "index.ts"),
};

const program = ts.createProgram(Object.values(entries), {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
});
const checker = program.getTypeChecker();

/** The first sentence of a comment (up to ". " or the first blank line), on one line. */
function firstSentence(text) {
  const flat = text
    .split(/\n\s*\n/)[0]
    .replace(/\s+/g, " ")
    .trim();
  // A sentence ends at a full stop before a space or the end, not at "e.g." or "i.e.".
  const end = flat.search(/(?<!\b(?:e\.g|i\.e|etc))\.(\s|$)/);
  return (end >= 0 ? flat.slice(0, end + 1) : flat).replace(/\{@link ([^}|]+)(\|[^}]*)?\}/g, "`$1`");
}

function kindOf(symbol) {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) return "class";
  if (f & ts.SymbolFlags.Function) return "function";
  if (f & ts.SymbolFlags.Interface) return "interface";
  if (f & ts.SymbolFlags.TypeAlias) return "type";
  if (f & ts.SymbolFlags.Enum) return "enum";
  if (f & ts.SymbolFlags.Variable) return "const";
  return "value";
}

/** `[name, kind, sentence]` for every export of an entry point, sorted by name. */
function exportsOf(file) {
  const source = program.getSourceFile(file);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  return checker
    .getExportsOfModule(moduleSymbol)
    .map((exported) => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker));
      return [exported.getName(), kindOf(symbol), doc ? firstSentence(doc) : ""];
    })
    .sort((a, b) => a[0].localeCompare(b[0], "en"));
}

function list(file) {
  return exportsOf(file)
    .map(([name, kind, sentence]) => `- \`${name}\` (${kind}): ${sentence || "(no comment)"}`)
    .join("\n");
}

function section(readme, key, body) {
  const open = `<!-- exports:${key} -->`;
  const close = `<!-- /exports:${key} -->`;
  const from = readme.indexOf(open);
  const to = readme.indexOf(close);
  if (from < 0 || to < from) throw new Error(`${readmePath}: no ${open} … ${close} section`);
  return {
    text: `${readme.slice(0, from + open.length)}\n${body}\n${readme.slice(to)}`,
    current: readme.slice(from + open.length, to).trim(),
  };
}

const lists = { root: list(entries.root), adapter: list(entries.adapter) };
const mode = process.argv[2];
if (mode === "--write" || mode === "--check") {
  let readme = readFileSync(readmePath, "utf8");
  const problems = [];
  for (const [key, body] of Object.entries(lists)) {
    const s = section(readme, key, body);
    if (s.current !== body) problems.push(`the ${key} export list differs from the sources`);
    for (const line of body.split("\n")) if (line.endsWith("(no comment)")) problems.push(`${key}: ${line}`);
    readme = s.text;
  }
  if (mode === "--write") {
    writeFileSync(readmePath, readme);
    console.log(`wrote the export lists in ${readmePath}`);
  } else if (problems.length > 0) {
    console.error(`${problems.join("\n")}\n(node scripts/exports.mjs --write rewrites the lists)`);
    process.exit(1);
  } else {
    console.log("the README's export lists match the sources");
  }
} else {
  console.log(`## @omnibus/core\n\n${lists.root}\n\n## @omnibus/core/adapter\n\n${lists.adapter}`);
}
