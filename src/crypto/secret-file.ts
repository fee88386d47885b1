/**
 * Helpers for files that hold secrets (key files, TLS private keys): owner-only permissions,
 * and creation that is atomic and never replaces a file that is already there.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, chmodSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { AppError } from "../shared/errors.ts";

/** ensurePrivateDir creates a directory (and missing parents) with mode 0700; an existing one is left as it is. */
export function ensurePrivateDir(dir: string): void {
  const firstCreated = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask; say exactly what we mean on the one we asked for.
  if (firstCreated !== undefined) chmodSync(dir, 0o700);
}

/**
 * writeFileNoClobber writes `data` to `path` with mode 0600 so that readers see either no file
 * or the whole file: it writes and fsyncs a temp file (O_EXCL), then hard-links it into place,
 * which fails if `path` exists. Returns false, writing nothing, when `path` already existed.
 * On filesystems without hard links it falls back to rename after an existence check.
 */
export function writeFileNoClobber(path: string, data: Uint8Array | string): boolean {
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw err;
      if (pathExists(path)) return false;
      renameSync(tmp, path);
    }
    syncDir(dirname(path));
    return true;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed into place, or never created.
    }
  }
}

function pathExists(path: string): boolean {
  try {
    closeSync(openSync(path, "r"));
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform lets a directory be fsynced; the data itself already is.
  }
}

/**
 * readOwnerOnlyFile reads a secret file, refusing it (AppError "unavailable") when it is not a
 * regular file or is readable or writable by group or others. `what` names it in messages.
 * Returns null when the file does not exist.
 */
export function readOwnerOnlyFile(path: string, what: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "EACCES") throw new AppError("unavailable", `Cannot read the ${what} ${path}: permission denied. Run Conclave as the user that owns it.`);
    if (code === "EISDIR") throw new AppError("unavailable", `The ${what} ${path} is a directory, not a file.`);
    throw new AppError("unavailable", `Cannot open the ${what} ${path} (${code ?? "error"}).`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new AppError("unavailable", `The ${what} ${path} is not a regular file.`);
    const perms = st.mode & 0o777;
    if (perms & 0o077) {
      throw new AppError(
        "unavailable",
        `The ${what} ${path} is readable or writable by group or others (mode ${perms.toString(8).padStart(4, "0")}); ` +
          `refusing to use it. Fix: chmod 600 ${path}`,
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
