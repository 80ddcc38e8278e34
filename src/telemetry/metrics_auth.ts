import type { Meter } from "@opentelemetry/api";
import {
  type AuthTelemetry,
  FORWARDED_PROBLEMS,
  KEY_REFRESH_OUTCOMES,
  KEY_REFRESH_TRIGGERS,
  REVOCATION_OUTCOMES,
} from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { attributeCache, attributesOf, counter, observable } from "./metric_instruments.ts";

/**
 * Authentication's and client addresses' instruments (JWKS refreshes, the revocation list,
 * forwarding headers). Every counter's label combination starts at 0: triggers, outcomes
 * and problems are closed sets. The revocation list's size exists once a list is in force.
 */
export function createAuthMetrics(meters: readonly Meter[]): AuthTelemetry {
  const byTriggerOutcome = attributeCache<[string, string]>(["trigger", "outcome"]);
  const keyRefreshes = counter(meters, m.authJwksRefreshes);
  for (const trigger of KEY_REFRESH_TRIGGERS) {
    for (const outcome of KEY_REFRESH_OUTCOMES) keyRefreshes(0, byTriggerOutcome(trigger, outcome));
  }
  const byProblem = attributesOf("problem");
  const forwardedErrors = counter(meters, m.forwardedHeaderErrors);
  for (const problem of FORWARDED_PROBLEMS) forwardedErrors(0, byProblem(problem));

  const byOutcome = attributesOf("outcome");
  const revocationRefreshes = counter(meters, m.authRevocationListRefreshes);
  for (const outcome of REVOCATION_OUTCOMES) revocationRefreshes(0, byOutcome(outcome));
  const byKind = attributesOf("kind");
  let revocationEntries: { jti: number; sub: number } | undefined;
  observable(meters, m.authRevocationListEntries, (result) => {
    if (revocationEntries === undefined) return;
    result.observe(revocationEntries.jti, byKind("jti"));
    result.observe(revocationEntries.sub, byKind("sub"));
  });
  const revokedClosed = counter(meters, m.authRevokedSessionsClosed);

  return {
    keySetRefreshed: (trigger, outcome) => keyRefreshes(1, byTriggerOutcome(trigger, outcome)),
    forwardedHeaderRejected: (problem) => forwardedErrors(1, byProblem(problem)),
    revocationListRefreshed: (outcome) => revocationRefreshes(1, byOutcome(outcome)),
    revocationListEntries: (jti, sub) => void (revocationEntries = { jti, sub }),
    revokedSessionsClosed: (count) => revokedClosed(count),
  };
}
