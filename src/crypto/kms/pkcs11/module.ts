/**
 * Loading and initializing PKCS#11 modules (through pkcs11js), shared by every pkcs11 key
 * provider in the process.
 *
 * A module is a shared library: loading the same file twice yields the same library state, and
 * a second C_Initialize fails with CKR_CRYPTOKI_ALREADY_INITIALIZED while C_Finalize ends the
 * library for every user at once. So modules are reference-counted by real path: the first
 * provider to acquire a module calls C_Initialize, the last one to release it calls C_Finalize.
 * The library itself stays loaded (unloading and reloading crypto libraries is not safe).
 *
 * pkcs11js is imported lazily, so importing the provider map loads no native code.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { AppError } from "../../../shared/errors.ts";

/** Pkcs11Js is the pkcs11js namespace (the PKCS11 class and the CK* constants). */
export type Pkcs11Js = typeof import("pkcs11js");
/** Pkcs11Lib is one loaded PKCS#11 library. */
export type Pkcs11Lib = import("pkcs11js").PKCS11;
/** Handle is a PKCS#11 handle (slot, session or object) as pkcs11js represents it. */
export type Handle = Buffer;

let pkcs11js: Pkcs11Js | null = null;

/** loadPkcs11Js imports pkcs11js (and its native addon) on first use. */
export async function loadPkcs11Js(): Promise<Pkcs11Js> {
  if (pkcs11js === null) {
    try {
      const mod = (await import("pkcs11js")) as Pkcs11Js & { default?: Pkcs11Js };
      pkcs11js = typeof mod.PKCS11 === "function" ? mod : (mod.default ?? mod);
    } catch (err) {
      throw new AppError("unavailable", `The PKCS#11 binding (pkcs11js) could not be loaded: ${errorText(err)}.`);
    }
  }
  return pkcs11js;
}

/** Pkcs11Module is an initialized module that a provider holds until it releases it. */
export interface Pkcs11Module {
  /** The path as configured (for messages). */
  readonly path: string;
  /** The real path, the key of the shared registry. */
  readonly realPath: string;
  readonly lib: Pkcs11Lib;
  readonly P: Pkcs11Js;
}

interface Entry {
  lib: Pkcs11Lib;
  users: number;
  /** False when the library was already initialized by someone else in this process; we then never finalize it. */
  ownsInit: boolean;
}

const loaded = new Map<string, Entry>();

/**
 * acquireModule loads (once) and initializes (when no provider holds it) the module at `path`.
 * Throws AppError "unavailable" saying whether the file is missing, not loadable, or failed to
 * initialize.
 */
export async function acquireModule(path: string): Promise<Pkcs11Module> {
  const P = await loadPkcs11Js();
  if (!existsSync(path)) {
    throw new AppError(
      "unavailable",
      `PKCS#11 module not found: ${path} does not exist. Install the HSM vendor's PKCS#11 library (for SoftHSM2: apt-get install softhsm2) or correct the module path.`,
    );
  }
  if (!statSync(path).isFile()) throw new AppError("unavailable", `PKCS#11 module not found: ${path} is not a file.`);
  const real = realpathSync(path);
  let entry = loaded.get(real);
  if (entry === undefined) {
    const lib = new P.PKCS11();
    try {
      lib.load(real);
    } catch (err) {
      throw new AppError("unavailable", `The PKCS#11 module ${path} could not be loaded: ${errorText(err)}.`);
    }
    entry = { lib, users: 0, ownsInit: false };
    loaded.set(real, entry);
  }
  if (entry.users === 0) {
    try {
      initialize(P, entry.lib);
      entry.ownsInit = true;
    } catch (err) {
      if (ckrName(err) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
        throw new AppError(
          "unavailable",
          `The PKCS#11 module ${path} failed to initialize (${errorText(err)}). Check the module's own configuration ` +
            `(for SoftHSM2: the SOFTHSM2_CONF file and its token directory).`,
        );
      }
      entry.ownsInit = false;
    }
  }
  entry.users += 1;
  return { path, realPath: real, lib: entry.lib, P };
}

/** C_Initialize, asking for OS locking (calls may come from worker threads); falls back to no arguments. */
function initialize(P: Pkcs11Js, lib: Pkcs11Lib): void {
  try {
    lib.C_Initialize({ flags: P.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckrName(err) !== "CKR_CANT_LOCK") throw err;
    lib.C_Initialize();
  }
}

/** releaseModule drops one user; the last one calls C_Finalize. Never throws. */
export function releaseModule(mod: Pkcs11Module): void {
  const entry = loaded.get(mod.realPath);
  if (entry === undefined || entry.users === 0) return;
  entry.users -= 1;
  if (entry.users === 0 && entry.ownsInit) {
    entry.ownsInit = false;
    try {
      entry.lib.C_Finalize();
    } catch {
      // CKR_CRYPTOKI_NOT_INITIALIZED or a module failure: either way nothing is left to end.
    }
  }
}

/** ckrName extracts the PKCS#11 return value name (e.g. "CKR_PIN_INCORRECT") from a pkcs11js error, or null. */
export function ckrName(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const m = /\bCKR_[A-Z0-9_]+/.exec(err.message);
  return m ? m[0] : null;
}

/** errorText is an error's message for people (pkcs11js messages are the CKR_ name). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** decodeUlong reads a CK_ULONG attribute or handle (native-endian, 4 or 8 bytes). */
export function decodeUlong(value: Buffer): bigint {
  if (value.length === 8) return value.readBigUInt64LE(0);
  if (value.length === 4) return BigInt(value.readUInt32LE(0));
  throw new RangeError(`unexpected CK_ULONG size ${value.length}`);
}

/** decodeBool reads a CK_BBOOL attribute. */
export function decodeBool(value: Buffer): boolean {
  return value.length > 0 && value[0] !== 0;
}

/** paddedText trims a blank-padded PKCS#11 string (token label, manufacturer). */
export function paddedText(s: string): string {
  return s.replace(/[\s\0]+$/, "");
}
