import { SETTINGS, type SettingValue } from "../accounts/setting-definitions.ts";
import type { AppContext } from "../http/context.ts";
import { formatMeetingNumber } from "../meetings/codes.ts";
import { MEETING_SETTING_KEYS, type MeetingSettingKey, type MeetingSettings } from "../meetings/meeting-settings.ts";
import type { MeetingForm, MeetingView } from "../meetings/meetings.ts";
import type { AttendanceRecord } from "../meetings/meetings.ts";
import { Csrf, Field, fmtTime, Notice } from "./ui.tsx";

const RECURRENCE_LABELS: Record<string, string> = { none: "Does not repeat", daily: "Daily", weekly: "Weekly", monthly: "Monthly" };

/** showValue renders a setting value for people. */
export function showValue(key: MeetingSettingKey, v: SettingValue): string {
  const spec = SETTINGS[key];
  if (spec.type === "bool") return v ? "On" : "Off";
  if (key === "meeting.screen_share") return v === "all" ? "All participants" : "Host and co-hosts";
  return String(v) || "Anyone";
}

/** SettingsFields renders the per-meeting overrides: "use my default" or a value; locked ones disabled. */
function SettingsFields({ settings, form, errors }: { settings: MeetingSettings; form: MeetingForm; errors: Record<string, string> }) {
  return (
    <fieldset>
      <legend>Security</legend>
      <p class="hint">Each setting follows your organisation's settings unless you choose otherwise for this meeting. Settings locked by an administrator cannot be changed.</p>
      {MEETING_SETTING_KEYS.map((key) => {
        const s = settings[key];
        const spec = SETTINGS[key];
        const id = `f-${key}`;
        const chosen = form.settings[key] ?? "inherit";
        const lock = s.lockedBy ? `Locked by ${s.lockedBy.level === "account" ? "the account" : s.lockedBy.name}: ${showValue(key, s.inherited)}.` : null;
        const err = errors[key];
        return (
          <div>
            <label for={id}>{spec.label}</label>
            {spec.type === "text" ? (
              <input id={id} type="text" name={key} value={chosen === "inherit" ? "" : chosen} disabled={!!lock} aria-invalid={err ? "true" : undefined} placeholder={`Default: ${showValue(key, s.inherited)}`} />
            ) : (
              <select id={id} name={key} disabled={!!lock} aria-invalid={err ? "true" : undefined}>
                <option value="inherit" selected={chosen === "inherit"}>{`Default (${showValue(key, s.inherited)})`}</option>
                {(spec.type === "bool" ? ["true", "false"] : (spec as { choices: readonly string[] }).choices).map((v) => (
                  <option value={v} selected={chosen === v}>{showValue(key, spec.type === "bool" ? v === "true" : v)}</option>
                ))}
              </select>
            )}
            <p class="hint">{lock ?? spec.help}{spec.type === "text" && !lock ? " Leave empty to use the default." : ""}</p>
            {err && <p class="field-error" role="alert">{err}</p>}
          </div>
        );
      })}
    </fieldset>
  );
}

/** MeetingFormView is the schedule/edit form. */
export function MeetingFormView(p: { c: AppContext; action: string; form: MeetingForm; settings: MeetingSettings; errors: Record<string, string>; submit: string }) {
  const { form, errors } = p;
  return (
    <form method="post" action={p.action}>
      <Csrf c={p.c} />
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <Field name="topic" label="Topic" value={form.topic} error={errors.topic} required />
      <label for="f-description">Description</label>
      <textarea id="f-description" name="description" rows={3} aria-invalid={errors.description ? "true" : undefined}>{form.description}</textarea>
      {errors.description && <p class="field-error" role="alert">{errors.description}</p>}
      <div class="grid2">
        <Field name="start" label="Start (UTC)" type="datetime-local" value={form.start} error={errors.start} required />
        <Field name="duration" label="Duration (minutes)" type="number" value={form.duration} error={errors.duration} required />
      </div>
      <div class="grid2">
        <div>
          <label for="f-recurrence">Repeats</label>
          <select id="f-recurrence" name="recurrence" aria-invalid={errors.recurrence ? "true" : undefined}>
            {Object.entries(RECURRENCE_LABELS).map(([v, l]) => <option value={v} selected={form.recurrence === v}>{l}</option>)}
          </select>
          {errors.recurrence && <p class="field-error" role="alert">{errors.recurrence}</p>}
        </div>
        <Field name="count" label="Number of occurrences (if it repeats)" type="number" value={form.count} error={errors.count} />
      </div>
      <SettingsFields settings={p.settings} form={form} errors={errors} />
      <div class="actions"><button type="submit">{p.submit}</button></div>
    </form>
  );
}

/** whenText describes a meeting's time. */
export function whenText(m: Pick<MeetingView, "startAt" | "durationMinutes" | "recurrence" | "recurrenceCount">): string {
  const rep = m.recurrence === "none" ? "" : `, repeats ${m.recurrence}${m.recurrenceCount ? ` (${m.recurrenceCount} times)` : ""}`;
  return `${fmtTime(m.startAt)} (${m.durationMinutes} minutes)${rep}`;
}

/** invitationText is the copy-able invitation. */
export function invitationText(m: MeetingView, ownerName: string, link: string): string {
  const lines = [
    `${ownerName} is inviting you to a Conclave meeting.`,
    "",
    `Topic: ${m.topic}`,
    `Time: ${whenText(m)}`,
    "",
    "Join from your browser (no passcode needed with this link):",
    link,
    "",
    `Meeting ID: ${formatMeetingNumber(m.number)}`,
  ];
  if (m.settings["meeting.passcode_required"].value === true) lines.push(`Passcode: ${m.passcode}`, `Dial-in passcode: ${m.dialPasscode}`);
  if (m.description) lines.push("", m.description);
  return lines.join("\n");
}

/** Attendance lists who took part (newest 200 seats): times, address, device and connection summary. */
export function Attendance({ rows }: { rows: AttendanceRecord[] }) {
  if (rows.length === 0) return null;
  const shown = rows.slice(-200).reverse();
  return (
    <section class="card">
      <h2>Attendance</h2>
      <table>
        <thead><tr><th>Name</th><th>Arrived</th><th>Admitted</th><th>Left</th><th>Address</th><th>Device</th><th>Connection</th></tr></thead>
        <tbody>
          {shown.map((r) => (
            <tr>
              <td>{r.name}{r.host && <span class="badge">host</span>}{r.internal ? <span class="badge">member</span> : <span class="badge">guest</span>}</td>
              <td>{fmtTime(r.arrivedAt)}</td>
              <td>{r.joinedAt ? fmtTime(r.joinedAt) : "—"}</td>
              <td>{r.leftAt ? `${fmtTime(r.leftAt)} (${(r.leftReason ?? "").replaceAll("_", " ")})` : "—"}</td>
              <td>{r.ip || "—"}</td>
              <td class="muted">{r.device.slice(0, 80) || "—"}</td>
              <td class="muted">{Object.entries(r.stats).map(([k, v]) => `${k} ${v}`).join(", ") || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
