import type { Severity } from './types.js';

export interface RoutingRule {
  channel: string;
  severity?: Severity[];
  group?: string;
  ecosystem?: string;
}

export interface RoutingPolicy {
  defaultChannel: string;
  rules: RoutingRule[];
}

/** What routing looks at: the case's severity, the groups of its hosts and the ecosystems of its packages. */
export interface RoutingSubject {
  severity: Severity;
  hostGroups: string[];
  ecosystems: string[];
}

export interface Route {
  channel: string;
  /** Index of the rule that matched, or null for the default channel. */
  rule: number | null;
}

/** First rule whose every given condition holds wins; otherwise the default channel. */
export function routeCase(subject: RoutingSubject, policy: RoutingPolicy): Route {
  const index = policy.rules.findIndex(
    (rule) =>
      (rule.severity === undefined || rule.severity.includes(subject.severity)) &&
      (rule.group === undefined || subject.hostGroups.includes(rule.group)) &&
      (rule.ecosystem === undefined || subject.ecosystems.includes(rule.ecosystem)),
  );
  if (index === -1) return { channel: policy.defaultChannel, rule: null };
  return { channel: policy.rules[index]!.channel, rule: index };
}
