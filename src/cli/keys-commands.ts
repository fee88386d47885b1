import { existsSync } from "node:fs";
import type { Config } from "../config/schema.ts";
import { createKeyProvider, type KeyProvider } from "../crypto/kms/index.ts";
import { DATA_CLASSES } from "../keys/key-service.ts";
import { reencryptRetired } from "../keys/reencrypt.ts";
import { createLogger } from "../shared/logger.ts";
import { keysReport, type ReportFlags } from "./keys-report.ts";
import type { Root } from "./root.ts";

/** progressBar draws a one-line progress bar on stderr (a terminal) or prints every 10%. */
export function progressBar(label: string): (done: number, total: number) => void {
  let lastDecile = -1;
  return (done, total) => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    if (process.stderr.isTTY) {
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}${done === total ? "\n" : ""}`);
    } else if (Math.floor(pct / 10) !== lastDecile || done === total) {
      lastDecile = Math.floor(pct / 10);
      process.stderr.write(`${label}: ${done}/${total} (${pct}%)\n`);
    }
  };
}

/** keysCommand runs `conclave keys status|test|rotate|rewrap`. */
export async function keysCommand(root: Root, config: Config, sub: string | undefined, flags: ReportFlags = {}): Promise<number> {
  const c = await root.assemble(config, createLogger({ level: "warn" }));
  try {
    switch (sub) {
      case "status": {
        const s = c.keys.status();
        const h = await c.keyProvider.health();
        console.log(`provider: ${s.provider} (${s.hsmGrade ? "HSM-grade" : "NOT HSM-grade"})\nkey: ${s.keyId}\nhealth: ${h.ok ? "ok" : "FAILING"} — ${h.detail}\ndata keys: ${s.keys} (${Object.entries(s.byStatus).map(([k, v]) => `${v} ${k}`).join(", ") || "none"})`);
        // Accounts' customer-managed keys: last observed status and unfinished jobs (finish them with `keys rewrap --resume`).
        for (const a of c.cmk.summary()) {
          console.log(`account ${a.accountId}: customer-managed key ${a.key} — ${a.status}${a.detail ? ` (${a.detail})` : ""}`);
          for (const j of a.jobs) console.log(`  ${j.kind} job ${j.state}: ${j.done}/${j.total} data keys${j.error ? ` — ${j.error}` : ""}`);
        }
        return h.ok ? 0 : 1;
      }
      case "test": {
        const h = await c.keyProvider.health();
        console.log(h.ok ? `key test OK: ${h.detail}` : `key test FAILED: ${h.detail}`);
        return h.ok ? 0 : 1;
      }
      case "rotate": {
        // Retire every active data key: new content gets new keys; old content still decrypts.
        const rows = c.db.$client.query("SELECT DISTINCT account_id, data_class FROM data_keys WHERE status = 'active' AND data_class <> 'blind_index'").all() as { account_id: string; data_class: (typeof DATA_CLASSES)[number] }[];
        const bar = progressBar("rotating data keys");
        let done = 0;
        for (const r of rows) {
          await c.keys.rotate(r.account_id, r.data_class);
          bar(++done, rows.length);
        }
        console.log(`${done} data key(s) retired; new writes use new keys.`);
        return 0;
      }
      case "reencrypt": {
        // After `keys rotate`: re-seal values still under retired keys. Resumable: run it again after a crash.
        const r = await reencryptRetired(c.db, c.codec, progressBar("re-encrypting values"));
        // One operation-log entry per account that had values moved (a killed run's moves are
        // recorded by the run that finishes the job: the values themselves are the progress).
        for (const [accountId, values] of r.byAccount)
          c.audit.record({ accountId, userId: null, label: "keys reencrypt (CLI)" }, { action: "key.values_reencrypted", targetType: "account", targetId: accountId, detail: { values } });
        console.log(`${r.reencrypted} value(s) re-encrypted under the current data keys.`);
        return 0;
      }
      case "report":
        // Key usage: every wrap and unwrap by data class, purpose and user (--account, --since, --until, --format csv|table).
        return keysReport(c, flags);
      case "rewrap": {
        // Data keys wrapped by another provider (e.g. the local key file before moving to an HSM)
        // are unwrapped with that provider and wrapped again with the current one. Resumable:
        // each key is updated on its own, and already rewrapped keys are skipped.
        // Opening the server already re-wraps what the local key file wraps (c.rewrappedAtStart); this
        // finishes anything left, without ever creating a key file that is not there.
        let previous: KeyProvider | null = null;
        if (c.keyProvider.name !== "local" && existsSync(c.paths.localKey)) previous = await createKeyProvider("local", { dataDir: c.paths.dataDir, localKeyFile: c.paths.localKey });
        const n = c.rewrappedAtStart + (await c.keys.rewrapAll(progressBar("rewrapping data keys"), previous));
        await previous?.close?.();
        console.log(`${n} data key(s) rewrapped under ${c.keyProvider.describe().provider}:${c.keyProvider.describe().keyId}.`);
        // Unfinished customer-managed-key jobs (rotation, fallback re-seal, deprovisioning) resume here too.
        const bars = new Map<string, (done: number, total: number) => void>();
        const jobs = await c.cmk.resumeJobs((j) => {
          let bar = bars.get(j.id);
          if (!bar) bars.set(j.id, (bar = progressBar(`account ${j.accountId}: ${j.kind}`)));
          bar(j.done, j.total);
        });
        if (jobs) console.log(`${jobs} customer-managed key job(s) finished.`);
        return 0;
      }
    }
    console.error("conclave: keys needs one of: status, test, rotate, reencrypt, rewrap, report");
    return 2;
  } finally {
    c.close();
  }
}
