import { PatchdeckError } from '../core/errors.js';
import type { Executor } from '../store/db.js';

/**
 * A filter naming a record that does not exist is a mistake to report, not an empty answer:
 * `exposures list --host web-1` for a host called `web-01` must not look like "no exposures".
 */
export async function requireHost(db: Executor, name: string): Promise<void> {
  const row = await db.selectFrom('hosts').select('id').where('name', '=', name).executeTakeFirst();
  if (row === undefined) throw new PatchdeckError('PD_HOST_NOT_FOUND', `no host named "${name}"; see \`patchdeck hosts list\``, { status: 404 });
}

export async function requireCase(db: Executor, caseId: number): Promise<void> {
  const row = await db.selectFrom('cases').select('id').where('id', '=', caseId).executeTakeFirst();
  if (row === undefined) throw new PatchdeckError('PD_CASE_NOT_FOUND', `there is no case ${caseId}; see \`patchdeck patches list\``, { status: 404 });
}
