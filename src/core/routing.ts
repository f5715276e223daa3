import type { Severity } from './types.js';

export interface RoutingRule {
  channel: string;
  severity?: Severity[];
  group?: string;
  ecosystem?: string;
  /** Host owners as `hosts.owner` holds them (a person id or an email); any affected host's owner listed matches. */
  owners?: string[];
}

export interface RoutingPolicy {
  defaultChannel: string;
  rules: RoutingRule[];
}

/** What routing looks at: the case's severity, the groups and owners of its hosts and the ecosystems of its packages. */
export interface RoutingSubject {
  severity: Severity;
  hostGroups: string[];
  ecosystems: string[];
  /** Owners of the affected hosts; hosts without an owner add nothing. */
  hostOwners: string[];
}

export interface Route {
  channel: string;
  /** Index of the rule that matched, or null for the default channel. */
  rule: number | null;
}

/** Owners are written by hand in inventories and config alike, so case and surrounding space do not count. */
const normOwner = (owner: string) => owner.trim().toLowerCase();

/** Whether any rule asks about owners; callers skip looking owners up when none does. */
export function routingUsesOwners(policy: RoutingPolicy): boolean {
  return policy.rules.some((rule) => rule.owners !== undefined);
}

/** First rule whose every given condition holds wins; otherwise the default channel. */
export function routeCase(subject: RoutingSubject, policy: RoutingPolicy): Route {
  const owners = new Set(subject.hostOwners.map(normOwner).filter((o) => o !== ''));
  const index = policy.rules.findIndex(
    (rule) =>
      (rule.severity === undefined || rule.severity.includes(subject.severity)) &&
      (rule.group === undefined || subject.hostGroups.includes(rule.group)) &&
      (rule.ecosystem === undefined || subject.ecosystems.includes(rule.ecosystem)) &&
      (rule.owners === undefined || rule.owners.some((o) => owners.has(normOwner(o)))),
  );
  if (index === -1) return { channel: policy.defaultChannel, rule: null };
  return { channel: policy.rules[index]!.channel, rule: index };
}
