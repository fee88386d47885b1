// Checks that every path the Dockerfile COPYs/ADDs from the build context exists in the repo,
// so `docker build` on a clean clone does not stop at "COPY failed: not found".
//
//   bun run scripts/check-dockerfile.ts [rootDir] [Dockerfile]    exit 0 = ok, 1 = problems
//
// Only context sources are checked (not `COPY --from=<stage>`, not URLs). In a git work tree a
// path must also hold at least one file git would commit (tracked, or untracked and not
// ignored): an empty or ignored directory exists here but not in a clone. A source whose first
// segment is excluded by a plain .dockerignore entry is reported too.

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface Problem {
  line: number;
  path: string;
  message: string;
}

interface CopyInstr {
  line: number;
  sources: string[];
}

/** COPY/ADD instructions that read from the build context, with their source paths. */
export function contextCopies(dockerfile: string): CopyInstr[] {
  const out: CopyInstr[] = [];
  const lines = dockerfile.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let text = lines[i]!;
    // Join continuation lines ("\" at end), skipping comment lines inside the instruction.
    while (/\\\s*$/.test(text) && i + 1 < lines.length) {
      text = text.replace(/\\\s*$/, " ");
      const next = lines[++i]!;
      if (!/^\s*#/.test(next)) text += next;
    }
    const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(text);
    if (!m) continue;
    let rest = m[2]!.trim();
    let fromStage = false;
    // Flags: --from=, --chown=, --chmod=, --link, --parents, --exclude=, --checksum=, --keep-git-dir=
    for (;;) {
      const flag = /^--([a-z-]+)(?:=(\S+))?\s+/i.exec(rest);
      if (!flag) break;
      if (flag[1]!.toLowerCase() === "from") fromStage = true;
      rest = rest.slice(flag[0].length);
    }
    if (fromStage) continue;
    let args: string[];
    if (rest.startsWith("[")) {
      try {
        args = JSON.parse(rest) as string[];
      } catch {
        args = [];
      }
    } else if (/^<</.test(rest)) {
      continue; // heredoc: content is inline
    } else {
      args = rest.split(/\s+/).filter(Boolean);
    }
    const sources = args.slice(0, -1).filter((s) => !/^[a-z]+:\/\//i.test(s));
    if (sources.length > 0) out.push({ line: start, sources });
  }
  return out;
}

function gitFiles(root: string, path: string): string[] | null {
  const inside = Bun.spawnSync(["git", "rev-parse", "--is-inside-work-tree"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  if (inside.exitCode !== 0 || inside.stdout.toString().trim() !== "true") return null;
  const ls = Bun.spawnSync(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", path], {
    cwd: root,
    stdout: "pipe",
    stderr: "ignore",
  });
  if (ls.exitCode !== 0) return null;
  return ls.stdout.toString().split("\n").filter(Boolean);
}

function plainIgnores(root: string): Set<string> {
  const file = join(root, ".dockerignore");
  if (!existsSync(file)) return new Set();
  return new Set(
    readFileSync(file, "utf8")
      .split(/\r?\n/)
      .map((l) => l.trim().replace(/^\/+/, "").replace(/\/+$/, ""))
      .filter((l) => l && !l.startsWith("#") && !l.startsWith("!") && !/[*?[\]]/.test(l)),
  );
}

export function checkDockerfile(rootDir: string, dockerfilePath = join(rootDir, "Dockerfile")): Problem[] {
  const root = resolve(rootDir);
  if (!existsSync(dockerfilePath)) return [{ line: 0, path: dockerfilePath, message: "Dockerfile not found" }];
  const ignored = plainIgnores(root);
  const problems: Problem[] = [];
  for (const { line, sources } of contextCopies(readFileSync(dockerfilePath, "utf8"))) {
    for (const raw of sources) {
      const src = raw.replace(/^\.\/+/, "").replace(/\/+$/, "") || ".";
      const first = src.split("/")[0]!;
      if (ignored.has(first) || ignored.has(src)) {
        problems.push({ line, path: raw, message: "excluded by .dockerignore, so the build cannot see it" });
        continue;
      }
      const isGlob = /[*?[]/.test(src);
      const matches = isGlob ? [...new Bun.Glob(src).scanSync({ cwd: root, dot: true, onlyFiles: false })] : existsSync(join(root, src)) ? [src] : [];
      if (matches.length === 0) {
        problems.push({ line, path: raw, message: "does not exist in the repo" });
        continue;
      }
      const committed = gitFiles(root, src);
      if (committed !== null && committed.length === 0) {
        problems.push({
          line,
          path: raw,
          message: "exists here but holds no file git would commit (empty or ignored), so a clean clone lacks it",
        });
      }
    }
  }
  return problems;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? resolve(import.meta.dir, ".."));
  const dockerfile = process.argv[3] ? resolve(process.argv[3]) : join(root, "Dockerfile");
  const problems = checkDockerfile(root, dockerfile);
  if (problems.length === 0) {
    console.log("check-dockerfile: ok");
  } else {
    for (const p of problems) console.error(`Dockerfile:${p.line}: ${p.path}: ${p.message}`);
    console.error(`check-dockerfile: ${problems.length} problem(s)`);
    process.exit(1);
  }
}
