/**
 * The PKCS#11 provider: the KEK is a non-extractable, sensitive AES-256 key inside an HSM (any
 * PKCS#11 module; tested with SoftHSM2). Its value never leaves the token; Conclave sends the
 * DEK in and gets the wrapped bytes back.
 *
 * Options (KeyProviderOptions.pkcs11): module path, tokenLabel or slotId, keyLabel, pinFile
 * (mode 0600 enforced) or pinEnv (a variable name), mechanism, createKeyIfMissing. The PIN is
 * read again whenever a session logs in, so a changed PIN source takes effect without a
 * restart. After the token refuses a PIN (CKR_PIN_INCORRECT) the provider never logs in with
 * that same PIN again — periodic health checks cannot lock the token; fix the PIN source.
 *
 * Wrapped DEK formats (binary, frozen):
 *
 *     0x01  AES-256-GCM (mechanism "aes-gcm", the default; CKM_AES_GCM, C_Encrypt/C_Decrypt):
 *           version (1) | IV (12, random, made here) | ciphertext | tag (16)
 *           with AAD = canonicalContext(context).
 *     0x02  AES key wrap (mechanism "aes-key-wrap"; CKM_AES_KEY_WRAP, RFC 3394, C_WrapKey/C_UnwrapKey):
 *           version (1) | RFC 3394 wrap of ( SHA-256("conclave pkcs11 aes-key-wrap context v1\0" || canonicalContext(context)) || DEK )
 *           Key wrap has no AAD, so the context is bound by wrapping its hash with the DEK and
 *           comparing it on unwrap. PKCS#11 key wrap works on key objects, so the DEK (with the
 *           hash) exists for the length of one call as a session object (CKA_TOKEN false,
 *           destroyed in `finally`). DEK length must be a multiple of 8. Prefer "aes-gcm".
 *
 * Sessions: one logged-in read-only session per provider, created on first use and reused;
 * every call that touches it is serialized (PKCS#11 sessions are not thread-safe, and the
 * *Async calls run on worker threads). A session that fails is closed; on session or handle
 * errors (e.g. the HSM dropped it) the call is retried once on a fresh session.
 *
 * Modules are C_Initialize'd once (shared by every provider using the same module file in this
 * process, see ./pkcs11/module.ts) and C_Finalize'd by close() of the last one — also when the
 * factory fails part-way.
 */
import { probeKeyProvider } from "./probe.ts";
import { createHash, timingSafeEqual } from "node:crypto";
import { isAbsolute } from "node:path";
import { AppError } from "../../shared/errors.ts";
import { concatBytes } from "../asn1.ts";
import { readOwnerOnlyFile } from "../secret-file.ts";
import { canonicalContext } from "./context.ts";
import {
  acquireModule,
  ckrName,
  decodeBool,
  decodeUlong,
  errorText,
  paddedText,
  releaseModule,
  type Handle,
  type Pkcs11Js,
  type Pkcs11Lib,
  type Pkcs11Module,
} from "./pkcs11/module.ts";
import type { HealthResult, KeyProvider, KeyProviderDescription, KeyProviderOptions, Pkcs11Options } from "./types.ts";

export type { Pkcs11Options } from "./types.ts";

/** Format version bytes of the wrapped DEK. */
export const PKCS11_WRAP_VERSION = { "aes-gcm": 0x01, "aes-key-wrap": 0x02 } as const;

type Mechanism = keyof typeof PKCS11_WRAP_VERSION;
const MECHANISM_NAMES: Record<Mechanism, string> = { "aes-gcm": "AES-256-GCM", "aes-key-wrap": "AES key wrap (RFC 3394)" };
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const CTX_HASH_BYTES = 32;
const KW_BLOCK = 8;
const MAX_PLAINTEXT_KEY = 1024;
const KW_DOMAIN = "conclave pkcs11 aes-key-wrap context v1\0";
const MAX_LABEL_BYTES = 32;

/** Errors after which the call is retried once on a fresh session. */
const RETRY_ON_FRESH_SESSION = new Set([
  "CKR_SESSION_HANDLE_INVALID",
  "CKR_SESSION_CLOSED",
  "CKR_USER_NOT_LOGGED_IN",
  "CKR_OBJECT_HANDLE_INVALID",
  "CKR_KEY_HANDLE_INVALID",
  "CKR_DEVICE_REMOVED",
  "CKR_TOKEN_NOT_PRESENT",
]);
/** What modules return when the GCM tag does not verify (SoftHSM2: CKR_GENERAL_ERROR). */
const GCM_MISMATCH = new Set(["CKR_GENERAL_ERROR", "CKR_ENCRYPTED_DATA_INVALID", "CKR_ENCRYPTED_DATA_LEN_RANGE", "CKR_AEAD_DECRYPT_FAILED", "CKR_SIGNATURE_INVALID"]);
/** What modules return when an RFC 3394 integrity check fails. */
const KW_MISMATCH = new Set(["CKR_GENERAL_ERROR", "CKR_WRAPPED_KEY_INVALID", "CKR_WRAPPED_KEY_LEN_RANGE", "CKR_ENCRYPTED_DATA_INVALID"]);

type PinSource = { kind: "file"; path: string } | { kind: "env"; name: string };

interface Settings {
  module: string;
  tokenLabel: string | undefined;
  slotId: number | undefined;
  keyLabel: string;
  pin: PinSource;
  mechanism: Mechanism;
  createKeyIfMissing: boolean;
}

interface TokenFound {
  slot: Handle;
  slotId: bigint;
  label: string;
  manufacturer: string;
  model: string;
}

interface Session {
  handle: Handle;
  key: Handle;
}

/** createPkcs11KeyProvider opens the token, logs in, finds (or creates) the key and checks it; AppError "unavailable" otherwise. */
export async function createPkcs11KeyProvider(opts: KeyProviderOptions): Promise<KeyProvider> {
  const settings = parseOptions(opts.pkcs11);
  const mod = await acquireModule(settings.module);
  const provider = new Pkcs11KeyProvider(mod, settings);
  try {
    await provider.open();
  } catch (err) {
    await provider.close();
    throw err instanceof AppError ? err : new AppError("unavailable", `Opening PKCS#11 key ${provider.keyId} failed: ${errorText(err)}.`);
  }
  return provider;
}

/**
 * probePkcs11KeyProvider opens a provider, runs its health check and closes it; never throws.
 * It is the "test this key" action: module missing, token missing, PIN incorrect, key missing
 * or extractable all come back as `{ ok: false, detail }`.
 */
export async function probePkcs11KeyProvider(opts: KeyProviderOptions): Promise<HealthResult> {
  return probeKeyProvider(createPkcs11KeyProvider, opts);
}

function parseOptions(o: Pkcs11Options | undefined): Settings {
  const need = "the pkcs11 key provider needs: module, tokenLabel or slotId, keyLabel, and pinFile or pinEnv";
  if (o === undefined) throw new AppError("invalid_input", `Missing pkcs11 options: ${need}.`);
  const bad = (msg: string): never => {
    throw new AppError("invalid_input", `Invalid pkcs11 options: ${msg}.`);
  };
  if (typeof o.module !== "string" || !isAbsolute(o.module)) bad(`module must be the absolute path of the PKCS#11 library, got ${JSON.stringify(o.module)}`);
  if ((o.tokenLabel === undefined) === (o.slotId === undefined)) bad("give exactly one of tokenLabel and slotId");
  if (o.tokenLabel !== undefined) checkLabel("tokenLabel", o.tokenLabel, bad);
  if (o.slotId !== undefined && (!Number.isSafeInteger(o.slotId) || o.slotId < 0)) bad(`slotId must be a non-negative integer, got ${String(o.slotId)}`);
  checkLabel("keyLabel", o.keyLabel, bad);
  if ((o.pinFile === undefined) === (o.pinEnv === undefined)) bad("give exactly one of pinFile and pinEnv (the PIN itself is never part of the configuration)");
  let pin: PinSource;
  if (o.pinFile !== undefined) {
    if (typeof o.pinFile !== "string" || !isAbsolute(o.pinFile)) bad(`pinFile must be an absolute path, got ${JSON.stringify(o.pinFile)}`);
    pin = { kind: "file", path: o.pinFile };
  } else {
    if (typeof o.pinEnv !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.pinEnv)) bad(`pinEnv must be an environment variable name, got ${JSON.stringify(o.pinEnv)}`);
    pin = { kind: "env", name: o.pinEnv as string };
  }
  const mechanism = o.mechanism ?? "aes-gcm";
  if (!Object.hasOwn(PKCS11_WRAP_VERSION, mechanism)) bad(`mechanism must be "aes-gcm" or "aes-key-wrap", got ${JSON.stringify(mechanism)}`);
  if (o.createKeyIfMissing !== undefined && typeof o.createKeyIfMissing !== "boolean") bad("createKeyIfMissing must be true or false");
  return {
    module: o.module,
    tokenLabel: o.tokenLabel,
    slotId: o.slotId,
    keyLabel: o.keyLabel,
    pin,
    mechanism,
    createKeyIfMissing: o.createKeyIfMissing ?? false,
  };
}

function checkLabel(field: string, value: unknown, bad: (msg: string) => never): void {
  if (typeof value !== "string" || value.length === 0) bad(`${field} must be a non-empty string`);
  const s = value as string;
  if (Buffer.byteLength(s, "utf8") > MAX_LABEL_BYTES && field === "tokenLabel") bad(`${field} is at most ${MAX_LABEL_BYTES} bytes (PKCS#11 token labels are)`);
  if (s.trim() !== s) bad(`${field} must not start or end with spaces`);
}

/** A promise-chain lock: runs the functions one at a time, in call order. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

class Pkcs11KeyProvider implements KeyProvider {
  readonly name = "pkcs11";
  readonly hsmGrade = true;
  private readonly lib: Pkcs11Lib;
  private readonly P: Pkcs11Js;
  private readonly queue = new SerialQueue();
  private session: Session | null = null;
  private closed = false;
  /** SHA-256 of the PIN the token last refused; it is not tried again. */
  private refusedPin: string | null = null;
  private token: TokenFound | null = null;
  /** Said in health and describe when the key was extractable or not sensitive at some point. */
  private caveat = "";

  constructor(
    private readonly mod: Pkcs11Module,
    private readonly s: Settings,
  ) {
    this.lib = mod.lib;
    this.P = mod.P;
  }

  get keyId(): string {
    const token = this.token?.label ?? this.s.tokenLabel ?? `slot ${String(this.s.slotId)}`;
    return `${token}/${this.s.keyLabel}`;
  }

  /** Opens the first session, checking token, PIN and key (the factory's step). */
  open(): Promise<void> {
    return this.queue.run(async () => {
      this.session = this.openSession(this.s.createKeyIfMissing);
    });
  }

  async wrap(plaintextKey: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    checkDekLength(plaintextKey, this.s.mechanism);
    const aad = canonicalContext(context);
    return this.withSession("wrap", (session) => this.wrapIn(session, plaintextKey, aad));
  }

  async unwrap(wrapped: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    const aad = canonicalContext(context);
    this.checkWrappedShape(wrapped);
    return this.withSession("unwrap", (session) => this.unwrapIn(session, wrapped, aad));
  }

  health(): Promise<HealthResult> {
    return this.queue.run(async (): Promise<HealthResult> => {
      if (this.closed) return { ok: false, detail: `The pkcs11 key provider for ${this.keyId} is closed.` };
      // A fresh session, so the PIN, the token and the key are all checked again.
      this.dropSession();
      try {
        const session = this.openSession();
        this.session = session;
        const probe = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
        const aad = canonicalContext({ purpose: "health-check" });
        const back = await this.unwrapIn(session, await this.wrapIn(session, probe, aad), aad);
        if (!Buffer.from(back).equals(Buffer.from(probe))) return { ok: false, detail: "The PKCS#11 wrap/unwrap round trip returned different bytes." };
        const t = this.token;
        const where = t ? `token "${t.label}" (slot ${t.slotId}, ${t.manufacturer} ${t.model})` : `token ${this.keyId}`;
        return {
          ok: true,
          detail:
            `PKCS#11 ${where} via ${this.mod.path}: key "${this.s.keyLabel}" is AES-256, sensitive and non-extractable; ` +
            `${MECHANISM_NAMES[this.s.mechanism]} wrap/unwrap round trip ok.${this.caveat}`,
        };
      } catch (err) {
        this.dropSession();
        return { ok: false, detail: err instanceof AppError ? err.message : `Health check of PKCS#11 key ${this.keyId} failed: ${errorText(err)}.` };
      }
    });
  }

  describe(): KeyProviderDescription {
    const software = /softhsm/i.test(this.mod.path) || /softhsm/i.test(this.token?.manufacturer ?? "");
    return {
      provider: "pkcs11",
      keyId: this.keyId,
      hsmGrade: true,
      note:
        `PKCS#11 key "${this.s.keyLabel}" on token "${this.token?.label ?? this.s.tokenLabel ?? ""}" via module ${this.mod.path}, ${MECHANISM_NAMES[this.s.mechanism]}` +
        (software ? " — SoftHSM2 is a software token (its keys are files on this server): for testing, not production" : "") +
        `.${this.caveat}`,
    };
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.dropSession();
      releaseModule(this.mod);
    });
  }

  // ---- sessions ----

  /** Runs `fn` on the (possibly new) session, serialized; retries once on a fresh session after session/handle errors. */
  private withSession<T>(what: string, fn: (session: Session) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new AppError("unavailable", `The pkcs11 key provider for ${this.keyId} is closed.`);
        const session = this.session ?? this.openSession();
        this.session = session;
        try {
          return await fn(session);
        } catch (err) {
          // A failed operation may leave state behind in the session; start over with a new one.
          this.dropSession();
          if (err instanceof AppError) throw err;
          const name = ckrName(err);
          if (attempt === 0 && name !== null && RETRY_ON_FRESH_SESSION.has(name)) continue;
          throw new AppError("unavailable", `PKCS#11 ${what} with key ${this.keyId} failed: ${errorText(err)}.`);
        }
      }
    });
  }

  private dropSession(): void {
    const session = this.session;
    this.session = null;
    if (session === null) return;
    try {
      this.lib.C_CloseSession(session.handle);
    } catch {
      // Already gone with the token or the module.
    }
  }

  /**
   * Finds the token, logs in, finds and checks the key. Throws AppError saying which step
   * failed. Only the factory's first session may create a missing key: a key that disappears
   * later is reported, never silently replaced (data wrapped under it would be lost).
   */
  private openSession(mayCreateKey = false): Session {
    const P = this.P;
    const token = this.findToken();
    this.token = token;
    this.checkMechanisms(token);
    let handle: Handle;
    try {
      handle = this.lib.C_OpenSession(token.slot, P.CKF_SERIAL_SESSION);
    } catch (err) {
      throw new AppError("unavailable", `Cannot open a session on PKCS#11 token "${token.label}": ${errorText(err)}.`);
    }
    try {
      this.login(handle, token);
      let key = this.findKey(handle, token);
      if (key === null && mayCreateKey) {
        this.createKey(token);
        key = this.findKey(handle, token);
      }
      if (key === null) {
        throw new AppError(
          "unavailable",
          `PKCS#11 key not found: token "${token.label}" has no AES key labelled "${this.s.keyLabel}" (as a token object visible after login). ` +
            (mayCreateKey || !this.s.createKeyIfMissing
              ? `Create a sensitive, non-extractable AES-256 key with that label, or enable createKeyIfMissing for the first start.`
              : `It was there when the provider started; a missing key is never re-created while running, since data wrapped under it would be lost.`),
        );
      }
      this.checkKey(handle, key, token);
      return { handle, key };
    } catch (err) {
      try {
        this.lib.C_CloseSession(handle);
      } catch {
        // Nothing more to undo.
      }
      if (err instanceof AppError) throw err;
      throw new AppError("unavailable", `Using PKCS#11 token "${token.label}" failed: ${errorText(err)}.`);
    }
  }

  private findToken(): TokenFound {
    const P = this.P;
    let slots: Handle[];
    try {
      slots = this.lib.C_GetSlotList(true);
    } catch (err) {
      throw new AppError("unavailable", `Listing the slots of PKCS#11 module ${this.mod.path} failed: ${errorText(err)}.`);
    }
    const tokens: (TokenFound & { flags: number })[] = [];
    for (const slot of slots) {
      try {
        const info = this.lib.C_GetTokenInfo(slot);
        tokens.push({ slot, slotId: decodeUlong(slot), label: paddedText(info.label), manufacturer: paddedText(info.manufacturerID), model: paddedText(info.model), flags: info.flags });
      } catch {
        // A slot whose token vanished meanwhile, or an unreadable one: not ours.
      }
    }
    const ready = tokens.filter((t) => (t.flags & P.CKF_TOKEN_INITIALIZED) !== 0);
    const present = ready.length === 0 ? "none" : ready.map((t) => `"${t.label}" (slot ${t.slotId})`).join(", ");
    let found: (TokenFound & { flags: number }) | undefined;
    if (this.s.tokenLabel !== undefined) {
      const matches = ready.filter((t) => t.label === this.s.tokenLabel);
      if (matches.length > 1) {
        throw new AppError("unavailable", `Several PKCS#11 tokens are labelled "${this.s.tokenLabel}" (slots ${matches.map((t) => t.slotId).join(", ")}); configure slotId instead.`);
      }
      found = matches[0];
      if (found === undefined) {
        throw new AppError("unavailable", `PKCS#11 token not found: module ${this.mod.path} has no initialized token labelled "${this.s.tokenLabel}". Tokens present: ${present}.`);
      }
    } else {
      const want = BigInt(this.s.slotId ?? -1);
      found = tokens.find((t) => t.slotId === want);
      if (found === undefined) throw new AppError("unavailable", `PKCS#11 token not found: module ${this.mod.path} has no token in slot ${want}. Tokens present: ${present}.`);
      if ((found.flags & P.CKF_TOKEN_INITIALIZED) === 0) throw new AppError("unavailable", `PKCS#11 token not found: the token in slot ${want} is not initialized.`);
    }
    if ((found.flags & P.CKF_USER_PIN_LOCKED) !== 0) {
      throw new AppError("unavailable", `The user PIN of PKCS#11 token "${found.label}" is locked (too many wrong PINs); the token's security officer must unlock it.`);
    }
    return found;
  }

  private checkMechanisms(token: TokenFound): void {
    const P = this.P;
    let list: number[];
    try {
      list = this.lib.C_GetMechanismList(token.slot);
    } catch {
      return; // Some modules do not list; the operation itself will say.
    }
    const needed = this.s.mechanism === "aes-gcm" ? [["CKM_AES_GCM", P.CKM_AES_GCM] as const] : [["CKM_AES_KEY_WRAP", P.CKM_AES_KEY_WRAP] as const];
    for (const [label, mech] of needed) {
      if (!list.includes(mech)) {
        throw new AppError("unavailable", `PKCS#11 token "${token.label}" does not support ${label}, which mechanism "${this.s.mechanism}" needs.`);
      }
    }
  }

  private login(session: Handle, token: TokenFound): void {
    const pin = readPin(this.s.pin);
    const digest = createHash("sha256").update("conclave pkcs11 pin\0").update(pin).digest("hex");
    const where = this.s.pin.kind === "file" ? `the PIN file ${this.s.pin.path}` : `the environment variable ${this.s.pin.name}`;
    if (digest === this.refusedPin) {
      throw new AppError(
        "unavailable",
        `PIN incorrect for PKCS#11 token "${token.label}": the PIN in ${where} was already refused (CKR_PIN_INCORRECT) and is not tried again, so the token does not get locked. Correct it there.`,
      );
    }
    try {
      this.lib.C_Login(session, this.P.CKU_USER, pin);
    } catch (err) {
      const name = ckrName(err);
      if (name === "CKR_USER_ALREADY_LOGGED_IN") return;
      if (name === "CKR_PIN_INCORRECT") {
        this.refusedPin = digest;
        throw new AppError("unavailable", `PIN incorrect for PKCS#11 token "${token.label}" (CKR_PIN_INCORRECT): correct the PIN in ${where}. Repeated wrong PINs may lock the token.`);
      }
      if (name === "CKR_PIN_LOCKED") throw new AppError("unavailable", `The user PIN of PKCS#11 token "${token.label}" is locked (CKR_PIN_LOCKED); the token's security officer must unlock it.`);
      if (name === "CKR_PIN_LEN_RANGE" || name === "CKR_PIN_INVALID") {
        throw new AppError("unavailable", `PKCS#11 token "${token.label}" rejected the PIN in ${where} as malformed (${name}): wrong length or characters.`);
      }
      if (name === "CKR_USER_PIN_NOT_INITIALIZED") throw new AppError("unavailable", `PKCS#11 token "${token.label}" has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED); initialize it first.`);
      throw new AppError("unavailable", `Login to PKCS#11 token "${token.label}" failed: ${errorText(err)}.`);
    }
    this.refusedPin = null;
  }

  private findKey(session: Handle, token: TokenFound): Handle | null {
    const P = this.P;
    this.lib.C_FindObjectsInit(session, [
      { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
      { type: P.CKA_TOKEN, value: true },
      { type: P.CKA_LABEL, value: this.s.keyLabel },
    ]);
    let found: Handle[];
    try {
      found = this.lib.C_FindObjects(session, 2);
    } finally {
      this.lib.C_FindObjectsFinal(session);
    }
    if (found.length > 1) {
      throw new AppError("unavailable", `Several keys on PKCS#11 token "${token.label}" are labelled "${this.s.keyLabel}"; refusing to guess which one protects the data. Give the key a unique label.`);
    }
    return found[0] ?? null;
  }

  /** Generates the KEK: AES-256, token object, private, sensitive, never extractable, allowed only what the mechanism needs. */
  private createKey(token: TokenFound): void {
    const P = this.P;
    const gcm = this.s.mechanism === "aes-gcm";
    let rw: Handle;
    try {
      rw = this.lib.C_OpenSession(token.slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
    } catch (err) {
      throw new AppError("unavailable", `Cannot create key "${this.s.keyLabel}": no read-write session on PKCS#11 token "${token.label}" (${errorText(err)}).`);
    }
    try {
      this.lib.C_GenerateKey(rw, { mechanism: P.CKM_AES_KEY_GEN }, [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
        { type: P.CKA_VALUE_LEN, value: KEY_BYTES },
        { type: P.CKA_LABEL, value: this.s.keyLabel },
        { type: P.CKA_TOKEN, value: true },
        { type: P.CKA_PRIVATE, value: true },
        { type: P.CKA_SENSITIVE, value: true },
        { type: P.CKA_EXTRACTABLE, value: false },
        { type: P.CKA_ENCRYPT, value: gcm },
        { type: P.CKA_DECRYPT, value: gcm },
        { type: P.CKA_WRAP, value: !gcm },
        { type: P.CKA_UNWRAP, value: !gcm },
        { type: P.CKA_SIGN, value: false },
        { type: P.CKA_VERIFY, value: false },
        { type: P.CKA_DERIVE, value: false },
      ]);
    } catch (err) {
      throw new AppError("unavailable", `Creating AES-256 key "${this.s.keyLabel}" on PKCS#11 token "${token.label}" failed: ${errorText(err)}.`);
    } finally {
      try {
        this.lib.C_CloseSession(rw);
      } catch {
        // The key, if made, is a token object and stays.
      }
    }
  }

  /** Refuses keys that are not AES-256, are extractable, not sensitive, or lack the functions the mechanism needs. */
  private checkKey(session: Handle, key: Handle, token: TokenFound): void {
    const P = this.P;
    const attr = (type: number): Buffer | null => {
      try {
        return this.lib.C_GetAttributeValue(session, key, [{ type }])[0]?.value ?? null;
      } catch {
        return null;
      }
    };
    const bool = (type: number): boolean | null => {
      const v = attr(type);
      return v === null ? null : decodeBool(v);
    };
    const ulong = (type: number): bigint | null => {
      const v = attr(type);
      return v === null || (v.length !== 4 && v.length !== 8) ? null : decodeUlong(v);
    };
    const name = `Key "${this.s.keyLabel}" on PKCS#11 token "${token.label}"`;
    const refuse = (msg: string): never => {
      throw new AppError("unavailable", `${name} ${msg}`);
    };
    if (ulong(P.CKA_KEY_TYPE) !== BigInt(P.CKK_AES)) refuse("is not an AES key; the pkcs11 provider needs an AES-256 key.");
    const len = ulong(P.CKA_VALUE_LEN);
    if (len !== BigInt(KEY_BYTES)) refuse(`is ${len === null ? "of unknown length" : `AES-${Number(len) * 8}`}; the pkcs11 provider needs AES-256 (32 bytes).`);
    if (bool(P.CKA_EXTRACTABLE) !== false) {
      refuse("is extractable (CKA_EXTRACTABLE true): refused, because its value could be exported from the HSM. Create a new key with CKA_EXTRACTABLE false and CKA_SENSITIVE true.");
    }
    if (bool(P.CKA_SENSITIVE) !== true) {
      refuse("is not sensitive (CKA_SENSITIVE false): refused, because its value could be read from the HSM. Create a new key with CKA_SENSITIVE true and CKA_EXTRACTABLE false.");
    }
    if (this.s.mechanism === "aes-gcm") {
      if (bool(P.CKA_ENCRYPT) !== true || bool(P.CKA_DECRYPT) !== true) refuse('does not allow encrypt and decrypt (CKA_ENCRYPT, CKA_DECRYPT), which mechanism "aes-gcm" needs.');
    } else if (bool(P.CKA_WRAP) !== true || bool(P.CKA_UNWRAP) !== true) {
      refuse('does not allow wrap and unwrap (CKA_WRAP, CKA_UNWRAP), which mechanism "aes-key-wrap" needs.');
    }
    this.caveat =
      bool(P.CKA_ALWAYS_SENSITIVE) === false || bool(P.CKA_NEVER_EXTRACTABLE) === false
        ? " Caution: this key was extractable or not sensitive at some point (CKA_NEVER_EXTRACTABLE / CKA_ALWAYS_SENSITIVE false), so copies of it may exist outside the HSM."
        : "";
  }

  // ---- the two mechanisms ----

  private async wrapIn(session: Session, dek: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return this.s.mechanism === "aes-gcm" ? this.gcmWrap(session, dek, aad) : this.kwWrap(session, dek, aad);
  }

  private async unwrapIn(session: Session, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return this.s.mechanism === "aes-gcm" ? this.gcmUnwrap(session, wrapped, aad) : this.kwUnwrap(session, wrapped, aad);
  }

  private gcmMechanism(iv: Uint8Array, aad: Uint8Array): import("pkcs11js").Mechanism {
    const params: import("pkcs11js").GcmParams = { type: this.P.CK_PARAMS_GCM, iv: Buffer.from(iv), ivBits: IV_BYTES * 8, aad: Buffer.from(aad), tagBits: TAG_BYTES * 8 };
    return { mechanism: this.P.CKM_AES_GCM, parameter: params };
  }

  private async gcmWrap(session: Session, dek: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const input = Buffer.from(dek);
    try {
      this.lib.C_EncryptInit(session.handle, this.gcmMechanism(iv, aad), session.key);
      const out = await this.lib.C_EncryptAsync(session.handle, input, Buffer.alloc(dek.length + TAG_BYTES));
      if (out.length !== dek.length + TAG_BYTES) throw new AppError("unavailable", `PKCS#11 AES-GCM returned ${out.length} bytes for a ${dek.length}-byte key (expected ciphertext and a 16-byte tag).`);
      return concatBytes([Uint8Array.of(PKCS11_WRAP_VERSION["aes-gcm"]), iv, out]);
    } finally {
      input.fill(0);
    }
  }

  private async gcmUnwrap(session: Session, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const body = Buffer.from(wrapped.subarray(1 + IV_BYTES));
    const out = Buffer.alloc(body.length);
    try {
      this.lib.C_DecryptInit(session.handle, this.gcmMechanism(iv, aad), session.key);
      let plain: Buffer;
      try {
        plain = await this.lib.C_DecryptAsync(session.handle, body, out);
      } catch (err) {
        const name = ckrName(err);
        if (name !== null && GCM_MISMATCH.has(name)) throw this.mismatch(name);
        throw err;
      }
      if (plain.length !== body.length - TAG_BYTES) throw new AppError("unavailable", `PKCS#11 AES-GCM returned ${plain.length} bytes where ${body.length - TAG_BYTES} were expected.`);
      return Uint8Array.from(plain);
    } finally {
      out.fill(0);
    }
  }

  /** The context hash that key wrap carries in front of the DEK. */
  private contextHash(aad: Uint8Array): Buffer {
    return createHash("sha256").update(KW_DOMAIN).update(aad).digest();
  }

  private async kwWrap(session: Session, dek: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const P = this.P;
    const data = Buffer.concat([this.contextHash(aad), dek]);
    let object: Handle | null = null;
    try {
      object = this.lib.C_CreateObject(session.handle, [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_KEY_TYPE, value: P.CKK_GENERIC_SECRET },
        { type: P.CKA_TOKEN, value: false },
        { type: P.CKA_PRIVATE, value: true },
        { type: P.CKA_SENSITIVE, value: false },
        { type: P.CKA_EXTRACTABLE, value: true },
        { type: P.CKA_VALUE, value: data },
      ]);
      const out = await this.lib.C_WrapKeyAsync(session.handle, { mechanism: P.CKM_AES_KEY_WRAP }, session.key, object, Buffer.alloc(data.length + KW_BLOCK));
      if (out.length !== data.length + KW_BLOCK) throw new AppError("unavailable", `PKCS#11 AES key wrap returned ${out.length} bytes where ${data.length + KW_BLOCK} were expected.`);
      return concatBytes([Uint8Array.of(PKCS11_WRAP_VERSION["aes-key-wrap"]), out]);
    } finally {
      data.fill(0);
      if (object !== null) this.destroy(session, object);
    }
  }

  private async kwUnwrap(session: Session, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const P = this.P;
    let object: Handle;
    try {
      object = await this.lib.C_UnwrapKeyAsync(session.handle, { mechanism: P.CKM_AES_KEY_WRAP }, session.key, Buffer.from(wrapped.subarray(1)), [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_KEY_TYPE, value: P.CKK_GENERIC_SECRET },
        { type: P.CKA_TOKEN, value: false },
        { type: P.CKA_PRIVATE, value: true },
        { type: P.CKA_SENSITIVE, value: false },
        { type: P.CKA_EXTRACTABLE, value: true },
      ]);
    } catch (err) {
      const name = ckrName(err);
      if (name !== null && KW_MISMATCH.has(name)) throw this.mismatch(name);
      throw err;
    }
    let value: Buffer | undefined;
    try {
      value = this.lib.C_GetAttributeValue(session.handle, object, [{ type: P.CKA_VALUE }])[0]?.value;
    } finally {
      this.destroy(session, object);
    }
    if (value === undefined || value.length <= CTX_HASH_BYTES) throw new AppError("unavailable", "PKCS#11 AES key unwrap returned no usable value.");
    try {
      const expected = this.contextHash(aad);
      if (!timingSafeEqual(value.subarray(0, CTX_HASH_BYTES), expected)) throw this.mismatch("context hash differs");
      return Uint8Array.from(value.subarray(CTX_HASH_BYTES));
    } finally {
      value.fill(0);
    }
  }

  private destroy(session: Session, object: Handle): void {
    try {
      this.lib.C_DestroyObject(session.handle, object);
    } catch {
      // A session object: it goes with the session at the latest, and a failed call drops the session.
    }
  }

  private mismatch(why: string): AppError {
    return new AppError(
      "internal",
      `Could not unwrap a data key with PKCS#11 key ${this.keyId}: the key or the context does not match — it was wrapped under another key or for another context (account, data class), or the stored bytes are damaged (${why}).`,
    );
  }

  private checkWrappedShape(wrapped: Uint8Array): void {
    const version = wrapped[0];
    const expected = PKCS11_WRAP_VERSION[this.s.mechanism];
    if (version !== expected) {
      const other = Object.entries(PKCS11_WRAP_VERSION).find(([, v]) => v === version)?.[0];
      throw new AppError(
        "internal",
        other !== undefined
          ? `The wrapped key was made with mechanism "${other}", but the pkcs11 provider for ${this.keyId} is configured for "${this.s.mechanism}".`
          : `The wrapped key has format version ${String(version)}, which the pkcs11 key provider does not know.`,
      );
    }
    const ok =
      this.s.mechanism === "aes-gcm"
        ? wrapped.length >= 1 + IV_BYTES + 1 + TAG_BYTES
        : wrapped.length >= 1 + CTX_HASH_BYTES + 2 * KW_BLOCK && (wrapped.length - 1) % KW_BLOCK === 0;
    if (!ok) throw new AppError("internal", `The wrapped key is malformed (${wrapped.length} bytes) for the pkcs11 provider's ${MECHANISM_NAMES[this.s.mechanism]} format.`);
  }
}

function checkDekLength(dek: Uint8Array, mechanism: Mechanism): void {
  if (dek.length === 0 || dek.length > MAX_PLAINTEXT_KEY) throw new RangeError(`a wrapped key must be 1 to ${MAX_PLAINTEXT_KEY} bytes, got ${dek.length}`);
  if (mechanism === "aes-key-wrap" && dek.length % KW_BLOCK !== 0) throw new RangeError(`with AES key wrap a wrapped key must be a multiple of ${KW_BLOCK} bytes, got ${dek.length}`);
}

/** Reads the user PIN from its file (owner-only, one trailing newline dropped) or environment variable. */
function readPin(src: PinSource): string {
  if (src.kind === "env") {
    const pin = process.env[src.name];
    if (pin === undefined || pin === "") throw new AppError("unavailable", `The environment variable ${src.name}, which should hold the PKCS#11 PIN, is not set or empty.`);
    return pin;
  }
  const bytes = readOwnerOnlyFile(src.path, "PKCS#11 PIN file");
  if (bytes === null) throw new AppError("unavailable", `The PKCS#11 PIN file ${src.path} does not exist.`);
  const pin = bytes.toString("utf8").replace(/\r?\n$/, "");
  bytes.fill(0);
  if (pin === "") throw new AppError("unavailable", `The PKCS#11 PIN file ${src.path} is empty.`);
  return pin;
}
