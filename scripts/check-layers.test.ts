import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkLayers, formatViolation, moduleOf, type Violation } from "./check-layers.ts";

// Spelled through constants so this file itself holds no focused or skipped test call.
const O = ".only";
const S = ".skip";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Writes a fixture tree (path → contents) into a fresh temp dir and returns its root. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "check-layers-"));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const GOOD: Record<string, string> = {
  "src/main.ts": `import { app } from "./http/app.ts";\nimport { run } from "./cli/run.ts";\nimport { pages } from "./admin/pages.tsx";\nexport { app, run, pages };\n`,
  "src/cli/run.ts": `import { loadConfig } from "../config/load.ts";\nimport main from "../main.ts";\nexport const run = () => loadConfig();\n`,
  "src/admin/pages.tsx": `import { mount } from "../http/app.ts";\nimport { createMeeting } from "../meetings/service.ts";\nexport const pages = () => <div>{String(mount)}{String(createMeeting)}</div>;\n`,
  "src/api/meetings.ts": `import type { Hono } from "hono";\nimport { createMeeting } from "src/meetings/service.ts";\nexport const api = (h: Hono) => createMeeting;\n`,
  "src/http/app.ts": `import { Hono } from "hono";\nimport { ws } from "../signaling/ws.ts";\nexport const app = new Hono();\nexport const mount = ws;\n`,
  "src/signaling/ws.ts": `import { dial } from "../sip/dial.ts";\nexport const ws = dial;\n`,
  "src/sip/dial.ts": `import { Peer } from "../media/peer.ts";\nimport { createMeeting } from "../meetings/service.ts";\nexport const dial = [Peer, createMeeting];\n`,
  "src/meetings/service.ts": `import { audit } from "../audit/log.ts";\nimport { Peer } from "../media/peer.ts";\nimport { db } from "../storage/db.ts";\nexport const createMeeting = () => audit(db, Peer);\n`,
  "src/audit/log.ts": `import type { Db } from "../storage/db.ts";\nimport { notify } from "../notify/mail.ts";\nexport const audit = (..._a: unknown[]) => notify;\n`,
  "src/notify/mail.ts": `import nodemailer from "nodemailer";\nexport const notify = nodemailer;\n`,
  "src/media/peer.ts": `import { PeerConnection } from "node-datachannel";\nimport { log } from "../shared/logger.ts";\nexport const Peer = [PeerConnection, log];\n`,
  "src/storage/db.ts": `import { Database } from "bun:sqlite";\nimport m0 from "../../migrations/0000.sql" with { type: "text" };\nimport { seal } from "../crypto/seal.ts";\nexport const db = [Database, m0, seal];\n`,
  "src/crypto/seal.ts": `const cfg = await import("../config/load.ts");\nexport const seal = cfg;\n`,
  "src/config/load.ts": `import { clock } from "../shared/clock.ts";\nexport * from "../shared/ids.ts";\nexport const loadConfig = () => clock;\n`,
  "src/shared/clock.ts": `// import { x } from "../storage/db.ts";  (a comment, not an import)\nexport const clock = "import('../http/app.ts')";\n`,
  "src/shared/ids.ts": `export const id = 1;\n`,
  "src/shared/logger.ts": `export const log = console.log;\n`,
  "src/client/index.ts": `import { id } from "../shared/ids.ts";\nimport { view } from "./view.ts";\nview(id);\n`,
  "src/client/view.ts": `export const view = (_: number) => {};\n`,
  "src/sql.d.ts": `declare module "*.sql" { const s: string; export default s; }\nimport "../src/http/app.ts";\n`,
  // Test files are exempt from the layer rules, and these calls are allowed.
  "src/storage/db.test.ts": `import { describe, test, expect } from "bun:test";\nimport { createMeeting } from "../meetings/service.ts";\ndescribe("db", () => {\n  test.skipIf(true)("cond", () => {});\n  test.todo("later");\n  test.each([1])("each %p", () => {});\n  test("text", () => expect("describe${O}(").toBe("describe${O}("));\n});\n`,
  "tests/e2e/join.test.ts": `import { test } from "bun:test";\n// test${O}("commented out", () => {});\ntest("joins", () => {});\n`,
};

function rules(v: Violation[]): string[] {
  return v.map((x) => `${x.file}:${x.line}:${x.rule}`);
}

describe("checkLayers", () => {
  test("a tree that follows the layer list passes", () => {
    const v = checkLayers(tree(GOOD));
    expect(v.map(formatViolation)).toEqual([]);
  });

  test("an upward import fails and names file, line and both layers", () => {
    const root = tree({
      ...GOOD,
      "src/storage/db.ts": `import { Database } from "bun:sqlite";\nimport { createMeeting } from "../meetings/service.ts";\nexport const db = [Database, createMeeting];\n`,
    });
    const v = checkLayers(root);
    expect(rules(v)).toEqual(["src/storage/db.ts:2:layer"]);
    const text = formatViolation(v[0]!);
    expect(text).toContain("src/storage/db.ts:2:");
    expect(text).toContain("imports UP");
    expect(text).toContain("src/storage/");
    expect(text).toContain("src/meetings/");
  });

  test("upward imports through src/ paths, type imports, re-exports, dynamic import and require are caught", () => {
    const root = tree({
      ...GOOD,
      "src/shared/clock.ts": `import type { Db } from "src/storage/db.ts";\nexport const clock = 1;\n`,
      "src/config/load.ts": `export * from "../crypto/seal.ts";\nexport const loadConfig = () => 1;\n`,
      "src/crypto/seal.ts": `export const seal = () => import("../storage/db.ts");\n`,
      "src/media/peer.ts": `const s = require("../sip/dial.ts");\nexport const Peer = s;\n`,
      "src/sip/dial.ts": `export type T = import("../signaling/ws.ts").X;\nexport const dial = 1;\n`,
    });
    expect(rules(checkLayers(root)).sort()).toEqual(
      [
        "src/config/load.ts:1:layer",
        "src/crypto/seal.ts:1:layer",
        "src/media/peer.ts:1:layer",
        "src/shared/clock.ts:1:layer",
        "src/sip/dial.ts:1:layer",
      ].sort(),
    );
  });

  test("http may not import the pages/API layer above it, and main.ts is top", () => {
    const root = tree({
      ...GOOD,
      "src/http/app.ts": `import { api } from "../api/meetings.ts";\nimport main from "../main";\nexport const app = api;\nexport const mount = main;\n`,
    });
    expect(rules(checkLayers(root))).toEqual(["src/http/app.ts:1:layer", "src/http/app.ts:2:layer"]);
  });

  test("admin and api may not import each other", () => {
    const root = tree({ ...GOOD, "src/api/meetings.ts": `import { pages } from "../admin/pages.tsx";\nexport const api = pages;\n` });
    expect(rules(checkLayers(root))).toEqual(["src/api/meetings.ts:1:sibling"]);
  });

  test("media may not import storage even though storage is below it; admin may not reach storage", () => {
    const root = tree({
      ...GOOD,
      "src/media/peer.ts": `import { db } from "../storage/db.ts";\nexport const Peer = db;\n`,
      "src/admin/pages.tsx": `import { db } from "../storage/db.ts";\nexport const pages = () => <div>{String(db)}</div>;\n`,
    });
    const v = checkLayers(root);
    expect(rules(v).sort()).toEqual(["src/admin/pages.tsx:1:forbid", "src/media/peer.ts:1:forbid"]);
    expect(v.find((x) => x.file === "src/media/peer.ts")!.message).toContain("media knows nothing");
  });

  test("client code stays apart from server code", () => {
    const root = tree({
      ...GOOD,
      "src/client/index.ts": `import { app } from "../http/app.ts";\nimport { id } from "../shared/ids.ts";\nexport { app, id };\n`,
      "src/http/app.ts": `import { view } from "../client/view.ts";\nexport const app = view;\nexport const mount = 1;\n`,
    });
    expect(rules(checkLayers(root)).sort()).toEqual(["src/client/index.ts:1:client", "src/http/app.ts:1:client"]);
  });

  test("a source file outside every layer is reported", () => {
    const root = tree({ ...GOOD, "src/util/strings.ts": `export const x = 1;\n` });
    expect(rules(checkLayers(root))).toEqual(["src/util/strings.ts:1:unknown"]);
  });

  test(".only( and .skip( in test files fail, anywhere in the project", () => {
    const root = tree({
      ...GOOD,
      "src/meetings/service.test.ts": `import { describe, test, it } from "bun:test";\ndescribe("s", () => {\n  test${O}("a", () => {});\n  it${S}("b", () => {});\n});\ndescribe${S}("c", () => {});\n`,
      "tests/e2e/join.test.ts": `import { describe, test } from "bun:test";\ndescribe${O}("e2e", () => {\n  test${S}.each([1, 2])("n %p", () => {});\n});\n`,
      "tests/ui.test.tsx": `import { it } from "bun:test";\nit${O}("renders", () => <b />);\n`,
    });
    const v = checkLayers(root);
    expect(rules(v).sort()).toEqual(
      [
        "src/meetings/service.test.ts:3:focus",
        "src/meetings/service.test.ts:4:focus",
        "src/meetings/service.test.ts:6:focus",
        "tests/e2e/join.test.ts:2:focus",
        "tests/e2e/join.test.ts:3:focus",
        "tests/ui.test.tsx:2:focus",
      ].sort(),
    );
    expect(formatViolation(v.find((x) => x.file === "tests/ui.test.tsx")!)).toBe(
      `tests/ui.test.tsx:2: [focus] it${O}( left in a test file: remove ${O}`,
    );
  });

  test("moduleOf maps paths and specifiers to their module", () => {
    expect(moduleOf("main.ts")?.module).toBe("main.ts");
    expect(moduleOf("main")?.module).toBe("main.ts");
    expect(moduleOf("storage")?.module).toBe("storage/");
    expect(moduleOf("storage/db.ts")?.layer).toBe(7);
    expect(moduleOf("client/x.ts")?.layer).toBe(-1);
    expect(moduleOf("mainframe/x.ts")).toBeNull();
  });

  test("the CLI exits 1 and prints file:line for each violation", async () => {
    const root = tree({ ...GOOD, "src/shared/ids.ts": `import { clock } from "../config/load.ts";\nexport const id = clock;\n` });
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "check-layers.ts"), root], { stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(1);
    expect(err).toContain("src/shared/ids.ts:1: [layer]");

    const ok = Bun.spawn([process.execPath, join(import.meta.dir, "check-layers.ts"), tree(GOOD)], { stdout: "pipe", stderr: "pipe" });
    expect(await ok.exited).toBe(0);
  });
});
