import type { Application } from 'express';
import { TARGET_STATES } from '../../core/types.js';
import { getRolloutSummary } from '../../store/queries/cases.js';
import { listRolloutTargets, type RolloutTargetRow } from '../../store/queries/cases.js';
import { listRolloutHostArtifacts } from '../../store/queries/artifacts.js';
import { getRolloutCaseRef } from '../../store/queries/web.js';
import { notFound, parseId, readViewer, sendPage, type WebContext } from '../web-context.js';
import { describeRollout } from './cases.js';

/** While a rollout runs, its page reloads itself this often. */
export const ROLLOUT_REFRESH_SECONDS = 5;

interface TargetGroup {
  wave: number;
  ring: string;
  current: boolean;
  /** Shown unfolded: the current wave, and any wave with failures to look at. */
  open: boolean;
  targets: TargetView[];
  counts: { state: string; count: number }[];
}

/** A target with the cached artifacts (file name, short sha256) its host's packages are installed from. */
type TargetView = RolloutTargetRow & { artifacts: { fileName: string; sha256: string; sha256Short: string }[] };

function groupTargets(targets: TargetView[], currentWave: number): TargetGroup[] {
  const groups = new Map<string, TargetGroup>();
  for (const target of targets) {
    const key = `${target.wave}\u0000${target.ring}`;
    let group = groups.get(key);
    if (!group) {
      group = { wave: target.wave, ring: target.ring, current: target.wave === currentWave, open: false, targets: [], counts: [] };
      groups.set(key, group);
    }
    group.targets.push(target);
  }
  for (const group of groups.values()) {
    group.open = group.current || group.targets.some((t) => t.state === 'failed' || t.state === 'reboot_failed');
    group.counts = TARGET_STATES.map((state) => ({ state, count: group.targets.filter((t) => t.state === state).length })).filter((c) => c.count > 0);
  }
  return [...groups.values()];
}

export function registerRolloutRoutes(app: Application, web: WebContext): void {
  app.get('/rollouts/:id', async (req, res) => {
    const rolloutId = parseId(req.params.id, 'rollout');
    const summary = await getRolloutSummary(web.ctx.store.db, rolloutId);
    const ref = await getRolloutCaseRef(web.ctx.store.db, rolloutId);
    if (!summary || !ref) throw notFound('rollout', rolloutId);
    const rollout = describeRollout(summary)!;
    const artifactsByHost = await listRolloutHostArtifacts(web.ctx.store.db, rolloutId);
    const targets = (await listRolloutTargets(web.ctx.store.db, rolloutId)).map((t) => ({
      ...t,
      artifacts: (artifactsByHost.get(t.hostId) ?? []).map((a) => ({ fileName: a.fileName, sha256: a.sha256, sha256Short: a.sha256.slice(0, 12) })),
    }));
    sendPage(
      web,
      res,
      'rollout',
      { title: `Rollout #${rolloutId}`, viewer: readViewer(web, req), refreshSeconds: rollout.active ? ROLLOUT_REFRESH_SECONDS : undefined },
      { rollout, case: ref, groups: groupTargets(targets, summary.currentWave), hasArtifacts: artifactsByHost.size > 0 },
    );
  });
}
