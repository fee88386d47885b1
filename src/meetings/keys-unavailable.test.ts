// "Drop meetings when keys are unavailable": a customer-managed key that becomes unusable ends the
// account's running meetings and refuses new joins (real assembly, fake AWS KMS).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isolateAwsForFakeKms } from "../../tests/support/test-env.ts";
import { auditActions, createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { FakeKms, type FakeKmsEndpoint } from "../../tests/support/fake-kms-server.ts";
import type { Actor } from "../accounts/actor.ts";
import type { JoinGrant, RoomEffect } from "./live-types.ts";
import { scheduleMeeting } from "./meetings.ts";

isolateAwsForFakeKms("AKIDCONCLAVEMEET0001");

let kms: FakeKms;
let east: FakeKmsEndpoint;
let arn: string;
let t: TestApp;
let owner: Signed;
let actor: Actor;

beforeEach(async () => {
  kms = new FakeKms();
  arn = kms.createKey({ region: "us-east-1" });
  east = await kms.serve("us-east-1");
  t = await createTestApp({
    config: (c) => {
      c.aws_kms.endpoint = east.url;
      c.aws_kms.timeout_ms = 300;
      c.aws_kms.max_attempts = 1;
    },
  });
  owner = await t.setup();
  actor = { accountId: owner.accountId, userId: owner.userId, label: owner.email, roleId: "", roleKind: "owner", permissions: new Set(), ip: "127.0.0.1", userAgent: "test" };
});
afterEach(async () => {
  await t.cmk.idle();
  t.cleanup();
  await kms.close();
});

describe("meetings while the account's key is unavailable", () => {
  test("a revoked key ends running meetings with the reason and refuses new joins until it is back", async () => {
    await t.cmk.addKey(actor, { provider: "aws-kms", keyRef: arn, replicas: [] });
    await t.cmk.setServices(actor, ["meeting_metadata", "chat"]);
    await t.cmk.setLicences(actor, [owner.userId]);
    await t.cmk.setOptions(actor, { fallback: false, dropMeetings: true });
    const m = await scheduleMeeting(t.meetings.deps, actor, { topic: "Board", description: "", start: "2026-01-02T10:00", duration: "60", recurrence: "none", count: "", settings: { "meeting.waiting_room": "false" } });
    const grant = (over: Partial<JoinGrant> = {}): JoinGrant => ({ meetingId: m.id, accountId: owner.accountId, displayName: owner.name, userId: owner.userId, internal: true, host: true, ip: "", device: "", identity: `user:${owner.userId}`, ...over });
    const seen: RoomEffect[] = [];
    t.meetings.live.subscribe((_id, fx) => seen.push(...fx));
    const room = t.meetings.live.room(m.id);
    const h = room.join(grant());
    if (h.outcome !== "joined") throw new Error("host not in");

    kms.setDeny(arn, true);
    await t.cmk.checkNow(owner.accountId);
    await t.cmk.idle();
    const ended = seen.find((f) => f.kind === "ended");
    expect(ended).toMatchObject({ participantId: h.participantId, reason: "keys_unavailable", message: expect.stringContaining("Meetings are unavailable") });
    expect(t.meetings.live.liveMeetingIds(owner.accountId)).toEqual([]);
    expect(auditActions(t, owner.accountId)).toContain("meeting.end");
    const again = t.meetings.live.room(m.id).join(grant());
    expect(again).toMatchObject({ outcome: "refused", reason: "keys_unavailable" });

    kms.setDeny(arn, false);
    await t.cmk.checkNow(owner.accountId);
    await t.cmk.idle();
    expect(t.meetings.live.room(m.id).join(grant()).outcome).toBe("joined");
  });
});
