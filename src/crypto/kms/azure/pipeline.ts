/**
 * HTTP pipeline pieces for the Key Vault SDK clients.
 *
 * The SDK's node HTTP client turns `request.timeout` into an AbortError, which its retry policy
 * never retries. attemptTimeoutPolicy (position "perRetry") instead bounds each attempt itself
 * and reports a timeout as a RestError with code ETIMEDOUT, a "system error" the SDK's
 * exponential retry strategy retries — so maxAttempts counts timeouts like 5xx and throttling.
 */
import { RestError, type PipelinePolicy } from "@azure/core-rest-pipeline";

export function attemptTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: "conclaveAttemptTimeoutPolicy",
    async sendRequest(request, next) {
      const outer = request.abortSignal;
      const ac = new AbortController();
      let timedOut = false;
      const onOuterAbort = (): void => ac.abort();
      if (outer?.aborted) ac.abort();
      outer?.addEventListener("abort", onOuterAbort);
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, timeoutMs);
      request.abortSignal = ac.signal;
      try {
        return await next(request);
      } catch (err) {
        if (timedOut && !outer?.aborted) {
          throw new RestError(`No answer from Azure Key Vault within ${timeoutMs} ms (${request.method} ${new URL(request.url).pathname})`, { code: "ETIMEDOUT", request });
        }
        throw err;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener("abort", onOuterAbort);
        // The retry policy looks at this signal to tell a cancelled call from a failed attempt.
        request.abortSignal = outer;
      }
    },
  };
}
