/** MAX_RETURN_PATH bounds the local path carried in RelayState. */
const MAX_RETURN_PATH = 200;

/** safeReturnPath keeps a post-sign-in target on this site: a local absolute path, else /admin. */
export function safeReturnPath(path: string | undefined | null): string {
  const p = path ?? "";
  return p.length <= MAX_RETURN_PATH && /^\/(?![/\\])[\w\-/.?=&%]*$/.test(p) ? p : "/admin";
}
