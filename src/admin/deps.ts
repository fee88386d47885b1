import type { MeetingsModule } from "../meetings/index.ts";
import type { SamlDeps } from "../auth/saml/deps.ts";
import type { AuthDeps } from "../auth/signin.ts";
import type { RateLimiter } from "../http/middleware/rate-limit.ts";
import type { CmkService } from "../keys/cmk-service.ts";
import type { KeyService } from "../keys/key-service.ts";

/** AdminDeps is what the pages need from the composition root. */
export interface AdminDeps {
  auth: AuthDeps;
  /** saml: single sign-on (SAML 2.0 service provider). */
  saml: SamlDeps;
  /** Base URL for links in e-mails (config public_url or derived). */
  baseUrl: string;
  signInLimiter: RateLimiter;
  /** keyProvider describes where the server key lives (shown on the dashboard). */
  keyProvider: { provider: string; hsmGrade: boolean; note: string };
  /** keys lists the account's data keys (never their material). */
  keys: Pick<KeyService, "accountKeys">;
  /** cmk: the account's customer-managed key (Advanced → Security → Customer managed key). */
  cmk: CmkService;
  /** meetings: scheduling, join checks and join tokens. */
  meetings: MeetingsModule;
}
