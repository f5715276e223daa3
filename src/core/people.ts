/** A person Patchdeck knows, with their chat identities. The same person on Slack and the web counts once. */
export interface PersonRecord {
  id: string;
  name: string;
  groups: string[];
  slack?: string | undefined;
  /** Microsoft Entra object id of their Teams account. */
  teams?: string | undefined;
  email?: string | undefined;
  /** `sub` of their account at the web console's OpenID Connect provider. */
  oidcSubject?: string | undefined;
}

export function findPersonById(people: readonly PersonRecord[], id: string): PersonRecord | null {
  return people.find((p) => p.id === id) ?? null;
}

export function findPersonBySlackId(people: readonly PersonRecord[], slackUserId: string): PersonRecord | null {
  return people.find((p) => p.slack !== undefined && p.slack === slackUserId) ?? null;
}

export function findPersonByTeamsId(people: readonly PersonRecord[], aadObjectId: string): PersonRecord | null {
  return people.find((p) => p.teams !== undefined && p.teams === aadObjectId) ?? null;
}

export function isInGroup(person: PersonRecord, group: string): boolean {
  return person.groups.includes(group);
}

/**
 * The person an OpenID Connect identity belongs to: by `oidcSubject` first (stable at the provider),
 * else by a verified email (case does not count). Null: not a Patchdeck person.
 */
export function findPersonByOidcIdentity(people: readonly PersonRecord[], identity: { subject: string; email: string | null; emailVerified: boolean }): PersonRecord | null {
  const bySubject = people.find((p) => p.oidcSubject !== undefined && p.oidcSubject === identity.subject);
  if (bySubject) return bySubject;
  if (identity.email === null || !identity.emailVerified) return null;
  const email = identity.email.toLowerCase();
  return people.find((p) => p.oidcSubject === undefined && p.email !== undefined && p.email.toLowerCase() === email) ?? null;
}
