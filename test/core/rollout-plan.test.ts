import { describe, expect, it } from 'vitest';
import { compareWithinRing, isServerRole, pilotCount, planHash, planRollout, type PlanSettings, type PlanTarget, type RolloutPlan } from '../../src/core/rollout-plan.js';
import { CRITICALITIES, type Criticality } from '../../src/core/types.js';

const SETTINGS: PlanSettings = { pilotGroup: 'pilot', pilotPercent: 10, waveSize: 3, order: 'servers-first' };

function host(hostId: number, name: string, role: string, criticality: Criticality, usage: number, groups: string[] = []): PlanTarget {
  return { hostId, name, role, criticality, usage, groups };
}

/** mulberry32, so every property run sees the same fleets. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFleet(random: () => number): PlanTarget[] {
  const n = Math.floor(random() * 120);
  const roles = ['server', 'database', 'workstation', 'laptop', 'kiosk', 'Server'];
  const withPilots = random() < 0.5;
  return Array.from({ length: n }, (_, i) => ({
    hostId: 1000 + i,
    // Duplicate names on purpose now and then: ties must still order by host id.
    name: `h${Math.floor(random() * (n + 5))}`,
    role: roles[Math.floor(random() * roles.length)]!,
    criticality: CRITICALITIES[Math.floor(random() * CRITICALITIES.length)]!,
    // Few distinct usage values, so ties are common.
    usage: Math.floor(random() * 5) / 4,
    groups: withPilots && random() < 0.15 ? ['pilot', 'x'] : ['x'],
  }));
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function idsOf(plan: RolloutPlan): number[][] {
  return plan.waves.map((w) => w.hosts.map((h) => h.hostId));
}

describe('rollout planner', () => {
  it('puts the pilot group first, then the rest in waves, servers and busy hosts first', () => {
    const targets = [
      host(1, 'ws-a', 'workstation', 'low', 0.9),
      host(2, 'db-1', 'database', 'critical', 0.95),
      host(3, 'ws-b', 'workstation', 'medium', 0.2, ['pilot']),
      host(4, 'srv-1', 'server', 'high', 0.5, ['pilot']),
      host(5, 'ws-c', 'laptop', 'high', 0.9),
      host(6, 'srv-2', 'server', 'medium', 0.5),
      host(7, 'ws-d', 'workstation', 'low', 0.1),
    ];
    const plan = planRollout(targets, SETTINGS);
    expect(plan.pilotBasis).toBe('group');
    expect(plan.waves.map((w) => [w.index, w.ring, w.hosts.map((h) => h.name)])).toEqual([
      [0, 'pilot', ['srv-1', 'ws-b']],
      [1, 'broad', ['db-1', 'srv-2', 'ws-c']],
      [2, 'broad', ['ws-a', 'ws-d']],
    ]);
  });

  it('orders workstations first when asked, and breaks usage ties by criticality, then name', () => {
    const targets = [
      host(1, 'srv-1', 'server', 'high', 0.5),
      host(2, 'ws-b', 'workstation', 'low', 0.5),
      host(3, 'ws-a', 'workstation', 'low', 0.5),
      host(4, 'ws-c', 'workstation', 'high', 0.5),
      host(5, 'pilot', 'workstation', 'low', 0, ['pilot']),
    ];
    const plan = planRollout(targets, { ...SETTINGS, order: 'workstations-first', waveSize: 10 });
    expect(plan.waves[1]!.hosts.map((h) => h.name)).toEqual(['ws-c', 'ws-a', 'ws-b', 'srv-1']);
  });

  it('without pilot-group hosts picks the least critical, least used percent (at least one)', () => {
    const targets = Array.from({ length: 30 }, (_, i) =>
      host(i + 1, `h${String(i).padStart(2, '0')}`, i < 5 ? 'server' : 'workstation', i % 2 === 0 ? 'high' : 'low', (i % 5) / 5),
    );
    const plan = planRollout(targets, { ...SETTINGS, pilotPercent: 10, waveSize: 100 });
    expect(plan.pilotBasis).toBe('percent');
    // 10% of 30 is exactly 3 (not 4 from floating point).
    expect(plan.waves[0]!.hosts.map((h) => h.name).sort()).toEqual(['h05', 'h15', 'h25']);
    expect(planRollout([host(1, 'only', 'server', 'critical', 1)], SETTINGS).waves.map((w) => w.ring)).toEqual(['pilot']);
    expect(pilotCount(30, 10)).toBe(3);
    expect(pilotCount(31, 10)).toBe(4);
    expect(pilotCount(5, 1)).toBe(1);
    expect(pilotCount(7, 100)).toBe(7);
    expect(pilotCount(0, 50)).toBe(0);
  });

  it('plans nothing for no targets and lists each host once even if given twice', () => {
    expect(planRollout([], SETTINGS)).toEqual({ pilotBasis: 'none', waves: [] });
    const twice = planRollout([host(1, 'a', 'server', 'low', 1), host(1, 'a', 'server', 'low', 1), host(2, 'b', 'server', 'low', 0)], SETTINGS);
    expect(idsOf(twice).flat().sort()).toEqual([1, 2]);
  });

  it('holds its properties on 300 random fleets', () => {
    const random = prng(20261123);
    for (let run = 0; run < 300; run++) {
      const targets = randomFleet(random);
      const settings: PlanSettings = {
        pilotGroup: 'pilot',
        pilotPercent: 1 + Math.floor(random() * 100),
        waveSize: 1 + Math.floor(random() * 20),
        order: random() < 0.5 ? 'servers-first' : 'workstations-first',
      };
      const plan = planRollout(targets, settings);
      const byId = new Map(targets.map((t) => [t.hostId, t]));
      const label = `run ${run}`;

      // Every host exactly once.
      const all = idsOf(plan).flat();
      expect(all.length, label).toBe(targets.length);
      expect(new Set(all).size, label).toBe(targets.length);
      if (targets.length === 0) {
        expect(plan.waves, label).toEqual([]);
        continue;
      }

      // Waves numbered in order; one pilot wave, then full broad waves with only the last one short.
      expect(plan.waves.map((w) => w.index), label).toEqual(plan.waves.map((_, i) => i));
      expect(plan.waves.map((w) => w.ring), label).toEqual(plan.waves.map((_, i) => (i === 0 ? 'pilot' : 'broad')));
      const broad = plan.waves.slice(1);
      broad.forEach((w, i) => {
        expect(w.hosts.length, label).toBeGreaterThan(0);
        if (i < broad.length - 1) expect(w.hosts.length, label).toBe(settings.waveSize);
        else expect(w.hosts.length, label).toBeLessThanOrEqual(settings.waveSize);
      });

      // The pilot ring: the pilot group when it has members, else the least critical, least used share.
      const pilotIds = new Set(plan.waves[0]!.hosts.map((h) => h.hostId));
      const inGroup = targets.filter((t) => t.groups.includes('pilot'));
      if (inGroup.length > 0) {
        expect(plan.pilotBasis, label).toBe('group');
        expect([...pilotIds].sort(), label).toEqual(inGroup.map((t) => t.hostId).sort());
      } else {
        expect(plan.pilotBasis, label).toBe('percent');
        expect(pilotIds.size, label).toBe(pilotCount(targets.length, settings.pilotPercent));
        // Lexicographic (criticality, usage): the most critical/used pilot host is at most the least non-pilot one.
        const key = (t: PlanTarget) => CRITICALITIES.indexOf(t.criticality) * 10 + t.usage;
        const pilots = targets.filter((t) => pilotIds.has(t.hostId)).map(key);
        const others = targets.filter((t) => !pilotIds.has(t.hostId)).map(key);
        if (others.length > 0) expect(Math.max(...pilots), label).toBeLessThanOrEqual(Math.min(...others));
      }

      // Inside each wave, and across the broad ring, hosts follow the ring order.
      const compare = compareWithinRing(settings.order);
      const outOfOrder = (hosts: PlanTarget[]) => hosts.findIndex((h, i) => i > 0 && compare(hosts[i - 1]!, h) >= 0);
      for (const wave of plan.waves) expect(outOfOrder(wave.hosts.map((h) => byId.get(h.hostId)!)), label).toBe(-1);
      const broadOrder = broad.flatMap((w) => w.hosts.map((h) => byId.get(h.hostId)!));
      expect(outOfOrder(broadOrder), label).toBe(-1);
      // Servers-first means no workstation precedes a server in a ring (and the reverse).
      for (const wave of [plan.waves[0]!.hosts.map((h) => byId.get(h.hostId)!), broadOrder]) {
        const kinds = wave.map((t) => isServerRole(t.role));
        const firstKind = settings.order === 'servers-first';
        const switchAt = kinds.indexOf(!firstKind);
        if (switchAt >= 0) expect(kinds.slice(switchAt).includes(firstKind), label).toBe(false);
      }

      // The plan depends on the hosts, not on the order they were listed in.
      const again = planRollout(shuffle(targets, random), settings);
      expect(idsOf(again), label).toEqual(idsOf(plan));
      expect(planHash(7, 'simulator', again), label).toBe(planHash(7, 'simulator', plan));
    }
  });

  it('hashes the case, connector and waves, and nothing else', () => {
    const targets = [host(1, 'a', 'server', 'low', 1, ['pilot']), host(2, 'b', 'server', 'low', 0.5), host(3, 'c', 'workstation', 'low', 0.5)];
    const plan = planRollout(targets, SETTINGS);
    const hash = planHash(1, 'simulator', plan);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(planHash(2, 'simulator', plan)).not.toBe(hash);
    expect(planHash(1, 'shell', plan)).not.toBe(hash);
    const swapped: RolloutPlan = { ...plan, waves: [plan.waves[0]!, { ...plan.waves[1]!, hosts: [...plan.waves[1]!.hosts].reverse() }] };
    expect(planHash(1, 'simulator', swapped)).not.toBe(hash);
    const renamed: RolloutPlan = { ...plan, waves: plan.waves.map((w) => ({ ...w, hosts: w.hosts.map((h) => ({ ...h, name: `${h.name}-x` })) })) };
    expect(planHash(1, 'simulator', renamed)).toBe(hash);
  });
});
