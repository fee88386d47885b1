// SoftHSM2 for tests: a private token directory per test run (SOFTHSM2_CONF pointing at a temp
// config), tokens made with softhsm2-util, and raw pkcs11js sessions for setting up and
// inspecting keys behind the provider's back.
//
// SoftHSM reads SOFTHSM2_CONF with getenv() at C_Initialize. Bun's `process.env` is not the C
// environment, so startSoftHsm() also calls libc setenv() through bun:ffi; close() restores
// both. Only one SoftHSM setup may be active at a time in a process (bun test runs files one
// after another), and every provider must be closed before close() (the module re-reads the
// config only at the next C_Initialize).
//
// Debian/Ubuntu packages: softhsm2 (module + softhsm2-util). opensc (pkcs11-tool) is optional.

import { dlopen, FFIType } from "bun:ffi";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as P from "pkcs11js";

/** SOFTHSM_MODULE is the SoftHSM2 PKCS#11 module as Debian installs it. */
export const SOFTHSM_MODULE = process.env.TEST_SOFTHSM_MODULE ?? "/usr/lib/softhsm/libsofthsm2.so";

/** SoftHsmToken is an initialized token. */
export interface SoftHsmToken {
  label: string;
  slotId: number;
  pin: string;
  soPin: string;
}

/** RawSession is a logged-in pkcs11js session on a token, for test set-up and inspection. */
export interface RawSession {
  lib: P.PKCS11;
  session: Buffer;
  slot: Buffer;
}

/** SoftHsm is a private SoftHSM2 configuration for one test file. */
export interface SoftHsm {
  /** The temp directory holding softhsm2.conf and tokens/. */
  dir: string;
  /** The config file SOFTHSM2_CONF points at. */
  conf: string;
  /** Environment for child processes (e.g. the compiled binary) that should see the same tokens. */
  env: Record<string, string>;
  module: string;
  /** initToken initializes a new token in the next free slot. */
  initToken(label: string, pin?: string, soPin?: string): SoftHsmToken;
  /**
   * withSession runs `fn` on a raw logged-in RW session on the token. It initializes the module
   * itself when nobody has, and then finalizes it afterwards; when a provider already holds the
   * module it shares it (same library state) and leaves it initialized.
   */
  withSession<T>(token: SoftHsmToken, fn: (s: RawSession) => T): T;
  /** isFinalized tells whether the module is NOT initialized in this process right now. */
  isFinalized(): boolean;
  /** close restores SOFTHSM2_CONF and deletes the token directory. */
  close(): void;
}

const libc = dlopen("libc.so.6", {
  setenv: { args: [FFIType.cstring, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  unsetenv: { args: [FFIType.cstring], returns: FFIType.i32 },
});

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, "utf8");

function setNativeEnv(name: string, value: string | undefined): void {
  if (value === undefined) {
    delete process.env[name];
    libc.symbols.unsetenv(cstr(name));
  } else {
    process.env[name] = value;
    if (libc.symbols.setenv(cstr(name), cstr(value), 1) !== 0) throw new Error(`setenv(${name}) failed`);
  }
}

/** requireSoftHsm throws the one message that says what to install when SoftHSM2 is missing. */
export function requireSoftHsm(): void {
  if (!existsSync(SOFTHSM_MODULE) || Bun.which("softhsm2-util") === null) {
    throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE}, softhsm2-util): apt-get install -y softhsm2`);
  }
}

let active = false;

/** startSoftHsm creates a private token directory and points SOFTHSM2_CONF (process and C environment) at it. */
export function startSoftHsm(): SoftHsm {
  requireSoftHsm();
  if (active) throw new Error("a SoftHSM test setup is already active in this process; close it first");
  const dir = mkdtempSync(join(tmpdir(), "conclave-softhsm-"));
  const tokens = join(dir, "tokens");
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\nslots.mechanisms = ALL\n`);
  const previous = process.env.SOFTHSM2_CONF;
  setNativeEnv("SOFTHSM2_CONF", conf);
  active = true;

  const lib = new P.PKCS11();
  lib.load(SOFTHSM_MODULE);

  const initIfNeeded = (): boolean => {
    try {
      lib.C_Initialize();
      return true;
    } catch (err) {
      if (err instanceof Error && err.message.includes("CKR_CRYPTOKI_ALREADY_INITIALIZED")) return false;
      throw err;
    }
  };

  return {
    dir,
    conf,
    env: { SOFTHSM2_CONF: conf },
    module: SOFTHSM_MODULE,
    initToken(label, pin = "123456", soPin = "12345678") {
      const r = Bun.spawnSync(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", soPin], {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = `${r.stdout.toString()}${r.stderr.toString()}`;
      const m = /reassigned to slot (\d+)/.exec(out);
      if (r.exitCode !== 0 || !m?.[1]) throw new Error(`softhsm2-util --init-token failed (exit ${r.exitCode}): ${out}`);
      return { label, slotId: Number(m[1]), pin, soPin };
    },
    withSession(token, fn) {
      const owned = initIfNeeded();
      try {
        const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.label);
        if (slot === undefined) throw new Error(`no SoftHSM token labelled ${token.label}`);
        const session = lib.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
        try {
          try {
            lib.C_Login(session, P.CKU_USER, token.pin);
          } catch (err) {
            if (!(err instanceof Error && err.message.includes("CKR_USER_ALREADY_LOGGED_IN"))) throw err;
          }
          return fn({ lib, session, slot });
        } finally {
          try {
            lib.C_CloseSession(session);
          } catch {
            // Closed by fn (e.g. C_CloseAllSessions).
          }
        }
      } finally {
        if (owned) lib.C_Finalize();
      }
    },
    isFinalized() {
      if (!initIfNeeded()) return false;
      lib.C_Finalize();
      return true;
    },
    close() {
      setNativeEnv("SOFTHSM2_CONF", previous);
      active = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** findKeys returns the handles of the token's secret keys labelled `label`. */
export function findKeys(s: RawSession, label: string): Buffer[] {
  s.lib.C_FindObjectsInit(s.session, [
    { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
    { type: P.CKA_LABEL, value: label },
  ]);
  try {
    return s.lib.C_FindObjects(s.session, 100);
  } finally {
    s.lib.C_FindObjectsFinal(s.session);
  }
}

/** boolAttr reads a CK_BBOOL attribute of an object. */
export function boolAttr(s: RawSession, handle: Buffer, type: number): boolean {
  const v = s.lib.C_GetAttributeValue(s.session, handle, [{ type }])[0]?.value;
  if (v === undefined) throw new Error(`attribute ${type} missing`);
  return v[0] !== 0;
}

/** ulongAttr reads a CK_ULONG attribute of an object. */
export function ulongAttr(s: RawSession, handle: Buffer, type: number): number {
  const v = s.lib.C_GetAttributeValue(s.session, handle, [{ type }])[0]?.value;
  if (v === undefined) throw new Error(`attribute ${type} missing`);
  return v.length === 8 ? Number(v.readBigUInt64LE(0)) : v.readUInt32LE(0);
}

/** KeySpec describes a key made behind the provider's back, to test what it refuses. */
export interface KeySpec {
  label: string;
  bytes?: 16 | 24 | 32;
  extractable?: boolean;
  sensitive?: boolean;
  encrypt?: boolean;
  wrap?: boolean;
}

/** generateAesKey makes an AES token key with the given attributes (defaults: AES-256, sensitive, non-extractable, encrypt/decrypt). */
export function generateAesKey(s: RawSession, spec: KeySpec): Buffer {
  return s.lib.C_GenerateKey(s.session, { mechanism: P.CKM_AES_KEY_GEN }, [
    { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
    { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
    { type: P.CKA_VALUE_LEN, value: spec.bytes ?? 32 },
    { type: P.CKA_LABEL, value: spec.label },
    { type: P.CKA_TOKEN, value: true },
    { type: P.CKA_PRIVATE, value: true },
    { type: P.CKA_SENSITIVE, value: spec.sensitive ?? true },
    { type: P.CKA_EXTRACTABLE, value: spec.extractable ?? false },
    { type: P.CKA_ENCRYPT, value: spec.encrypt ?? true },
    { type: P.CKA_DECRYPT, value: spec.encrypt ?? true },
    { type: P.CKA_WRAP, value: spec.wrap ?? false },
    { type: P.CKA_UNWRAP, value: spec.wrap ?? false },
  ]);
}
