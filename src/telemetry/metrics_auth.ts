import type { Meter } from "@opentelemetry/api";
import {
  type AuthTelemetry,
  FORWARDED_PROBLEMS,
  KEY_REFRESH_OUTCOMES,
  KEY_REFRESH_TRIGGERS,
} from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { attributeCache, attributesOf, counter } from "./metric_instruments.ts";

/**
 * Authentication's and client addresses' instruments (JWKS refreshes, forwarding headers).
 * Every label combination starts at 0: triggers, outcomes and problems are closed sets.
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

  return {
    keySetRefreshed: (trigger, outcome) => keyRefreshes(1, byTriggerOutcome(trigger, outcome)),
    forwardedHeaderRejected: (problem) => forwardedErrors(1, byProblem(problem)),
  };
}
