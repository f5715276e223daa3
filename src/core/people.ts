/** A person Patchdeck knows, with their chat identities. The same person on Slack and the web counts once. */
export interface PersonRecord {
  id: string;
  name: string;
  groups: string[];
  slack?: string | undefined;
  /** Microsoft Entra object id of their Teams account. */
  teams?: string | undefined;
  email?: string | undefined;
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
