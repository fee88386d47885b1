import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkDockerfile, contextCopies } from "./check-dockerfile.ts";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>, dirs: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), "check-dockerfile-"));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  return root;
}

const DOCKERFILE = `FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY --chown=1000:1000 src ./src
COPY ["migrations", "./migrations"]
COPY scripts/*.ts \\
     ./scripts/
RUN npm run build
FROM debian:bookworm-slim
COPY --from=build /src/dist/conclave /usr/local/bin/conclave
ADD https://example.com/x.tar.gz /tmp/
`;

const FILES = {
  "package.json": "{}",
  "package-lock.json": "{}",
  "src/main.ts": "",
  "migrations/0000.sql": "",
  "scripts/build.ts": "",
};

describe("check-dockerfile", () => {
  test("parses context sources and skips --from= and URLs", () => {
    expect(contextCopies(DOCKERFILE)).toEqual([
      { line: 3, sources: ["package.json", "package-lock.json"] },
      { line: 5, sources: ["src"] },
      { line: 6, sources: ["migrations"] },
      { line: 7, sources: ["scripts/*.ts"] },
    ]);
  });

  test("passes when every source exists", () => {
    const root = tree({ ...FILES, Dockerfile: DOCKERFILE });
    expect(checkDockerfile(root)).toEqual([]);
  });

  test("names a missing path with its line", () => {
    const files: Record<string, string> = { ...FILES, Dockerfile: DOCKERFILE };
    delete files["package-lock.json"];
    delete files["scripts/build.ts"];
    const root = tree(files);
    expect(checkDockerfile(root)).toEqual([
      { line: 3, path: "package-lock.json", message: "does not exist in the repo" },
      { line: 7, path: "scripts/*.ts", message: "does not exist in the repo" },
    ]);
  });

  test("a path excluded by .dockerignore is reported", () => {
    const root = tree({ ...FILES, ".dockerignore": "node_modules\nsrc/\n", Dockerfile: DOCKERFILE });
    expect(checkDockerfile(root).map((p) => p.path)).toEqual(["src"]);
  });

  test("in a git work tree, an empty directory counts as missing", () => {
    const root = tree({ ...FILES, Dockerfile: DOCKERFILE + "COPY config ./config\n" }, ["config"]);
    expect(Bun.spawnSync(["git", "init", "-q"], { cwd: root }).exitCode).toBe(0);
    const problems = checkDockerfile(root);
    expect(problems.map((p) => `${p.line}:${p.path}`)).toEqual(["13:config"]);
    expect(problems[0]!.message).toContain("clean clone");
  });

  test("the CLI exits 1 and prints Dockerfile:line", async () => {
    const root = tree({ "package.json": "{}", Dockerfile: "FROM debian\nCOPY package.json nope.txt /app/\n" });
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "check-dockerfile.ts"), root], { stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(1);
    expect(err).toContain("Dockerfile:2: nope.txt: does not exist in the repo");
  });
});
