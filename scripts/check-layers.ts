// Architecture check: imports under src/ point DOWN the layer list, never up, and no test
// file is left focused or skipped.
//
//   bun run scripts/check-layers.ts [rootDir]      exit 0 = clean, 1 = violations listed
//
// Rules (see /work/shared/DESIGN.md "Shape"):
//   layer    a file under src/ may import from its own layer or any layer BELOW it (LAYERS)
//   sibling  modules of an `isolated` layer may not import each other (admin ↔ api)
//   forbid   extra edges that the layer order alone would allow (FORBIDDEN, e.g. media → storage)
//   client   src/client/ (browser code) imports only src/client/ and src/shared/; nothing
//            else under src/ imports src/client/ (the build bundles it into public/)
//   unknown  every source file under src/ belongs to exactly one layer (add new folders below)
//   focus    no describe/test/it `.only(` / `.skip(` (nor xit/xdescribe/fit/...) in *.test.ts(x)
//
// Imports counted: import/export ... from, side-effect imports, `import type`, dynamic
// import(), require(), `import x = require()`, and `import("...")` types. Specifiers that are
// relative ("./", "../") or rooted at "src/" are resolved; npm packages, node:/bun: builtins and
// paths outside src/ are ignored. Declaration files (*.d.ts) are skipped. Test files under src/
// are checked for focus but exempt from the layer rules (a test may set up a whole stack).

import ts from "typescript";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, resolve, sep } from "node:path";

/**
 * THE layer order, top (0) to bottom. A file may import its own layer or any layer below it.
 * Entries ending in "/" are folders under src/; others are single files under src/.
 * `isolated: true` → the modules of that layer may not import each other.
 */
export const LAYERS: readonly { name: string; modules: readonly string[]; isolated?: boolean }[] = [
  { name: "composition root", modules: ["main.ts", "cli/"] },
  { name: "pages & API", modules: ["admin/", "api/"], isolated: true },
  { name: "http", modules: ["http/"] },
  { name: "signaling", modules: ["signaling/"] },
  { name: "sip", modules: ["sip/"] },
  {
    name: "domain",
    modules: ["meetings/", "auth/", "accounts/", "audit/", "keys/", "retention/", "backup/", "notify/"],
  },
  { name: "media", modules: ["media/"] },
  { name: "storage", modules: ["storage/"] },
  { name: "crypto", modules: ["crypto/"] },
  { name: "config", modules: ["config/"] },
  { name: "shared", modules: ["shared/"] },
];

/** Browser code: outside the server's layer list. */
export const CLIENT_MODULE = "client/";
/** What browser code may import besides itself. */
export const CLIENT_MAY_IMPORT: readonly string[] = ["client/", "shared/"];

/** Edges the layer order would allow but the design forbids (from → to, with the reason). */
export const FORBIDDEN: readonly { from: string; to: readonly string[]; why: string }[] = [
  {
    from: "media/",
    to: ["meetings/", "http/", "storage/"],
    why: "media knows nothing of meetings, HTTP or storage (it exposes Peer / UpTrack / DownTrack)",
  },
  {
    from: "admin/",
    to: ["storage/", "media/"],
    why: "admin pages call modules, never storage or media directly",
  },
  {
    from: "api/",
    to: ["storage/", "media/"],
    why: "the API calls modules, never storage or media directly",
  },
];

const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const TEST_FILE = /\.test\.tsx?$/;
const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "data", ".tmp"]);
const TEST_FNS = new Set(["describe", "test", "it"]);
const FOCUS_ALIASES = new Set(["xit", "xtest", "xdescribe", "fit", "fdescribe", "ftest"]);

export interface Violation {
  /** Path relative to the checked root, with "/" separators. */
  file: string;
  line: number;
  rule: "layer" | "sibling" | "forbid" | "client" | "unknown" | "focus";
  message: string;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: [${v.rule}] ${v.message}`;
}

interface Module {
  /** Entry of LAYERS / CLIENT_MODULE this path belongs to, e.g. "storage/" or "main.ts". */
  module: string;
  /** Layer index, or -1 for client code. */
  layer: number;
}

/** Which module a path under src/ (relative to src/, "/" separators) belongs to. */
export function moduleOf(srcRel: string): Module | null {
  const matches = (mod: string): boolean => {
    if (mod.endsWith("/")) return srcRel === mod.slice(0, -1) || srcRel.startsWith(mod);
    // A single file: "main.ts" also matches specifiers "main", "main.js", ...
    const stem = mod.replace(SOURCE_EXT, "");
    return srcRel === mod || srcRel === stem || srcRel.replace(SOURCE_EXT, "") === stem;
  };
  if (matches(CLIENT_MODULE)) return { module: CLIENT_MODULE, layer: -1 };
  for (let i = 0; i < LAYERS.length; i++) {
    for (const mod of LAYERS[i]!.modules) if (matches(mod)) return { module: mod, layer: i };
  }
  return null;
}

function walk(dir: string, out: string[]): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    if (SKIP_DIRS.has(name)) continue;
    const full = join(dir, name);
    const st = statSync(full, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) walk(full, out);
    else if (st.isFile()) out.push(full);
  }
  return out;
}

function parse(file: string): ts.SourceFile {
  const text = readFileSync(file, "utf8");
  const kind = /\.[jt]sx$/.test(file) ? ts.ScriptKind.TSX : /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

function lineOf(sf: ts.SourceFile, node: ts.Node): number {
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
}

/** Every module specifier in a file, with its line. */
export function importsOf(sf: ts.SourceFile): { specifier: string; line: number }[] {
  const found: { specifier: string; line: number }[] = [];
  const add = (lit: ts.Node | undefined): void => {
    if (lit && ts.isStringLiteralLike(lit)) found.push({ specifier: lit.text, line: lineOf(sf, lit) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) {
        add(node.arguments[0]);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The path under src/ that a specifier points at, or null if it is not ours. */
function targetUnderSrc(root: string, fromFile: string, specifier: string): string | null {
  let abs: string;
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
    abs = resolve(fromFile, "..", specifier);
  } else if (specifier.startsWith("src/")) {
    abs = resolve(root, specifier);
  } else {
    return null; // npm package, node:/bun: builtin, absolute path
  }
  const rel = relative(join(root, "src"), abs).split(sep).join("/");
  if (rel === "" || rel.startsWith("..")) return null; // src/ itself or outside it
  return posix.normalize(rel);
}

function label(mod: Module): string {
  return mod.layer < 0 ? "src/client/ (browser)" : `src/${mod.module} (layer ${mod.layer}: ${LAYERS[mod.layer]!.name})`;
}

function checkImports(root: string, file: string, sf: ts.SourceFile, from: Module, rel: string): Violation[] {
  const out: Violation[] = [];
  for (const { specifier, line } of importsOf(sf)) {
    const target = targetUnderSrc(root, file, specifier);
    if (target === null) continue;
    const to = moduleOf(target);
    if (to === null) continue; // the target file itself is reported as "unknown"
    const v = (rule: Violation["rule"], message: string): void => void out.push({ file: rel, line, rule, message });

    if (from.layer < 0) {
      if (!CLIENT_MAY_IMPORT.includes(to.module)) {
        v("client", `browser code imports "${specifier}" → ${label(to)}; client may import only ${CLIENT_MAY_IMPORT.map((m) => `src/${m}`).join(", ")}`);
      }
      continue;
    }
    if (to.layer < 0) {
      v("client", `server code imports browser code "${specifier}" → src/client/`);
      continue;
    }
    if (to.layer < from.layer) {
      v("layer", `imports UP: ${label(from)} → "${specifier}" in ${label(to)}`);
      continue;
    }
    if (to.layer === from.layer && to.module !== from.module && LAYERS[from.layer]!.isolated) {
      v("sibling", `src/${from.module} may not import its sibling src/${to.module} ("${specifier}")`);
      continue;
    }
    for (const rule of FORBIDDEN) {
      if (rule.from === from.module && rule.to.includes(to.module)) {
        v("forbid", `src/${from.module} → "${specifier}" in src/${to.module}: ${rule.why}`);
      }
    }
  }
  return out;
}

function calleeChain(expr: ts.Expression): string[] | null {
  if (ts.isIdentifier(expr)) return [expr.text];
  if (ts.isPropertyAccessExpression(expr)) {
    const head = calleeChain(expr.expression);
    return head && [...head, expr.name.text];
  }
  return null;
}

/** `.only(` / `.skip(` (and focus/skip aliases) on describe/test/it. */
export function focusViolations(sf: ts.SourceFile, rel: string): Violation[] {
  const out: Violation[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const chain = calleeChain(node.expression);
      if (chain) {
        const [head, ...rest] = chain;
        const bad = TEST_FNS.has(head!) ? rest.find((p) => p === "only" || p === "skip") : undefined;
        if (bad) {
          out.push({ file: rel, line: lineOf(sf, node), rule: "focus", message: `${chain.join(".")}( left in a test file: remove .${bad}` });
        } else if (rest.length === 0 && FOCUS_ALIASES.has(head!)) {
          out.push({ file: rel, line: lineOf(sf, node), rule: "focus", message: `${head}( left in a test file` });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Checks the project at rootDir; returns every violation (empty = clean). */
export function checkLayers(rootDir: string): Violation[] {
  const root = resolve(rootDir);
  const violations: Violation[] = [];
  const relOf = (f: string): string => relative(root, f).split(sep).join("/");

  // Layers: every source file under src/.
  for (const file of walk(join(root, "src"), [])) {
    if (!SOURCE_EXT.test(file) || file.endsWith(".d.ts")) continue;
    if (TEST_FILE.test(file)) continue; // focus is checked below, layers do not apply to tests
    const rel = relOf(file);
    const from = moduleOf(rel.slice("src/".length));
    if (!from) {
      violations.push({
        file: rel,
        line: 1,
        rule: "unknown",
        message: "file is in no layer: move it into a layer folder or add its folder to LAYERS in scripts/check-layers.ts",
      });
      continue;
    }
    violations.push(...checkImports(root, file, parse(file), from, rel));
  }

  // Focus: every *.test.ts(x) in the project.
  for (const file of walk(root, [])) {
    if (TEST_FILE.test(file)) violations.push(...focusViolations(parse(file), relOf(file)));
  }
  return violations;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? resolve(import.meta.dir, ".."));
  const violations = checkLayers(root);
  if (violations.length === 0) {
    console.log("check-layers: ok");
  } else {
    for (const v of violations) console.error(formatViolation(v));
    console.error(`check-layers: ${violations.length} violation(s)`);
    process.exit(1);
  }
}
