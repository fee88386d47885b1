import type { CmkJobRow, CmkOverview } from "../keys/cmk-service.ts";
import type { AppContext } from "../http/context.ts";
import { Csrf, Field, fmtTime, Notice } from "./ui.tsx";

/** CMK_BASE is where the customer-managed-key pages live (Advanced → Security → Customer managed key). */
export const CMK_BASE = "/admin/security/cmk";

/** CLASS_LABELS names each data class for people. */
export const CLASS_LABELS: Record<string, string> = {
  user_pii: "User personal data (names, e-mail addresses)",
  totp: "TOTP secrets (two-step sign-in)",
  saml: "SAML sign-in responses",
  audit: "Operation log details",
  chat: "Meeting chat",
  meeting_metadata: "Meeting metadata (topics, passcodes, participants)",
  recordings: "Recordings and files",
};

const STATUS_CLASS: Record<string, string> = { available: "badge ok", unreachable: "badge warn", denied: "badge bad", unknown: "badge" };

/** StatusBadge shows a key status. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={STATUS_CLASS[status] ?? "badge"} data-testid="cmk-status">{status}</span>;
}

/** KeyForm is the provider + key reference (+ replicas) form used by Add key and Rotate key. */
export function KeyForm(p: { c: AppContext; action: string; providers: string[]; values: Record<string, string>; errors: Record<string, string>; submit: string; test?: { ok: boolean; text: string } }) {
  return (
    <form method="post" action={p.action}>
      <Csrf c={p.c} />
      <div>
        <label for="f-provider">Provider</label>
        <select id="f-provider" name="provider" aria-invalid={p.errors.provider ? "true" : undefined}>
          {p.providers.map((n) => (
            <option value={n} selected={p.values.provider === n}>{n}</option>
          ))}
        </select>
        {p.errors.provider && <p class="field-error" role="alert">{p.errors.provider}</p>}
      </div>
      <Field name="keyRef" label="Key (ARN, key identifier URL, PKCS#11 key label or OCID)" value={p.values.keyRef} error={p.errors.keyRef} required
        hint="oci-vault: the OCID, optionally followed by a space and its vault's Cryptographic Endpoint. Only the key reference is stored. Connection settings (PKCS#11 module and PIN, endpoints, credentials) come from the server configuration and the provider's standard credential chain." />
      <Field name="replicas" label="Replica key ARNs (aws-kms multi-region keys, optional)" value={p.values.replicas} error={p.errors.replicas} hint="Separated by spaces or commas; used when the primary region cannot be reached." />
      {p.test && (
        <div class={p.test.ok ? "notice" : "notice error"} role={p.test.ok ? "status" : "alert"} data-testid="cmk-test-result">
          {p.test.ok ? "Test passed: " : "Test failed: "}
          <code>{p.test.text}</code>
        </div>
      )}
      <p>
        <button type="submit" name="action" value="test">Test key</button>{" "}
        <button type="submit" name="action" value="save">{p.submit}</button>
      </p>
    </form>
  );
}

/** JobProgress shows a job's progress; while it runs, htmx polls it (plain pages: reload). */
export function JobProgress({ job }: { job: CmkJobRow }) {
  const pct = job.total ? Math.floor((job.done / job.total) * 100) : job.state === "done" ? 100 : 0;
  const url = `${CMK_BASE}/jobs/${job.id}/progress`;
  return (
    <div id={`job-${job.id}`} data-testid="cmk-job" data-state={job.state} {...(job.state === "running" ? { "hx-get": url, "hx-trigger": "every 2s", "hx-swap": "outerHTML" } : {})}>
      <p>
        {job.kind === "rotate" ? "Rotation" : job.kind === "reseal" ? "Re-seal of fallback data keys" : "Deprovisioning"}: <strong>{job.state}</strong> — {job.done} of {job.total} data keys ({pct}%)
      </p>
      <progress max={Math.max(job.total, 1)} value={job.done}>{pct}%</progress>
      {job.error && <p class="field-error">{job.error}</p>}
      <p class="hint">Started {fmtTime(job.startedAt)}{job.finishedAt ? `, finished ${fmtTime(job.finishedAt)}` : ""}.</p>
    </div>
  );
}

/** Overview is the main Customer managed key page. */
export function Overview(p: { c: AppContext; o: CmkOverview; editable: boolean; recipients: { id: string; email: string }[]; notice?: string }) {
  const { c, o, editable } = p;
  const s = o.settings;
  const k = o.activeKey;
  return (
    <>
      <section class="card">
        <h1>Customer managed key</h1>
        {p.notice && <Notice>{p.notice}</Notice>}
        {s?.deprovisionedAt && !k && (
          <Notice>
            Deprovisioning finished on {fmtTime(s.deprovisionedAt)}: everything is wrapped by the server key again. You may now disable or delete <code>{s.deprovisionedKey}</code> in your key service.
          </Notice>
        )}
        {!k ? (
          <>
            <p>No customer-managed key is enrolled. Content is protected by the server key.</p>
            {editable && <p><a class="button" href={`${CMK_BASE}/add`}>Add key</a></p>}
          </>
        ) : (
          <>
            <p>
              Key: <strong>{k.provider}</strong> <code data-testid="cmk-key">{k.keyRef}</code> — status <StatusBadge status={s?.status ?? "unknown"} />
              {s?.lastCheckedAt ? <span class="hint"> (checked {fmtTime(s.lastCheckedAt)})</span> : null}
            </p>
            {k.replicas.length > 0 && <p>Replicas: {k.replicas.map((r) => <code>{r} </code>)}</p>}
            {s && s.status !== "available" && s.statusDetail && (
              <div class="notice error" role="alert">Key service said: <code data-testid="cmk-status-detail">{s.statusDetail}</code></div>
            )}
            <p class="hint">Data keys wrapped by your key: {o.dekCounts.cmk}; under the server fallback key, waiting to be re-sealed: {o.dekCounts.fallback}.</p>
            {editable && (
              <div class="actions">
                <form method="post" action={`${CMK_BASE}/check`}><Csrf c={c} /><button type="submit">Check key now</button></form>
                <a class="button secondary" href={`${CMK_BASE}/rotate`}>Rotate key</a>
              </div>
            )}
          </>
        )}
        <p><a href={`${CMK_BASE}/usage`}>Key usage report</a> · <a href={`${CMK_BASE}/licences`}>Licences ({o.licensed.size} users)</a></p>
      </section>
      {k && s && (
        <>
          <section class="card">
            <h2>Services</h2>
            <p class="hint">Which data your key protects. New content follows the choice at once; content stored earlier stays under the key that sealed it until re-encrypted (<code>conclave keys rotate</code> then <code>conclave keys reencrypt</code>).</p>
            <form method="post" action={`${CMK_BASE}/services`} class="checks">
              <Csrf c={c} />
              {Object.entries(CLASS_LABELS).map(([cls, label]) => (
                <div><label><input type="checkbox" name="services" value={cls} checked={s.services.includes(cls)} disabled={!editable} /> {label}</label></div>
              ))}
              {editable && <button type="submit">Save services</button>}
            </form>
          </section>
          <section class="card">
            <h2>Availability</h2>
            <form method="post" action={`${CMK_BASE}/options`} class="checks">
              <Csrf c={c} />
              <div><label><input type="checkbox" name="fallback" value="1" checked={s.fallback} disabled={!editable} /> Fallback control: while the key cannot be reached, seal new content under the server fallback key and re-seal it under your key when it returns</label></div>
              <p class="hint">Off: while the key cannot be reached, content it protects is not stored and users are told why. A key that refuses access (revoked, disabled, deleted) always fails closed.</p>
              <div><label><input type="checkbox" name="dropMeetings" value="1" checked={s.dropMeetings} disabled={!editable} /> Drop meetings when keys are unavailable (end running meetings, refuse new ones)</label></div>
              {editable && <button type="submit">Save</button>}
            </form>
          </section>
          <section class="card">
            <h2>Notification recipients</h2>
            <p class="hint">E-mailed on every key status change (available, unreachable, denied).</p>
            <ul>
              {p.recipients.map((r) => (
                <li>
                  <span data-testid="cmk-recipient">{r.email}</span>{" "}
                  {editable && <form method="post" action={`${CMK_BASE}/recipients/${r.id}/delete`}><Csrf c={c} /><button type="submit" class="secondary">Remove</button></form>}
                </li>
              ))}
            </ul>
            {editable && (
              <form method="post" action={`${CMK_BASE}/recipients`}>
                <Csrf c={c} />
                <Field name="email" label="Add recipient" type="email" />
                <button type="submit">Add recipient</button>
              </form>
            )}
          </section>
          <section class="card">
            <h2>Deprovision</h2>
            {s.deprovisionAt ? (
              <p>Scheduled for <strong data-testid="cmk-deprovision-at">{fmtTime(s.deprovisionAt)}</strong>. Keep your key available until this page says deprovisioning has finished.</p>
            ) : (
              <p class="hint">Schedule a date: from then on everything your key protects is rewrapped under the server key. Keep the key available until this page says you may disable it.</p>
            )}
            {editable && (
              <form method="post" action={`${CMK_BASE}/deprovision`}>
                <Csrf c={c} />
                <Field name="date" label="Date (UTC)" type="date" />
                <button type="submit" name="action" value="schedule" class="danger">Schedule deprovisioning</button>{" "}
                {s.deprovisionAt && <button type="submit" name="action" value="cancel">Cancel</button>}
              </form>
            )}
          </section>
        </>
      )}
      {o.jobs.length > 0 && (
        <section class="card">
          <h2>Key jobs</h2>
          {o.jobs.slice(0, 5).map((j) => (
            <>
              <JobProgress job={j} />
              {editable && j.state === "failed" && (
                <form method="post" action={`${CMK_BASE}/jobs/${j.id}/resume`}><Csrf c={c} /><button type="submit">Resume</button></form>
              )}
            </>
          ))}
        </section>
      )}
    </>
  );
}
