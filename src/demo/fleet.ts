import type { Criticality, HostInput, HostPackage } from '../core/types.js';

/**
 * A simulated fleet for the offline demo: Ubuntu servers and workstations whose package versions
 * straddle the fixes in the bundled Ubuntu and GitHub advisories, so some hosts are exposed and some
 * are already patched. Deterministic per seed.
 */
/** A demo person (see config/demo.ts) who owns some workstations. */
export const DEMO_WORKSTATION_OWNER = 'dave@example.com';

export function generateDemoFleet(size: number, seed: number): HostInput[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const hosts: HostInput[] = [];
  const serverCount = Math.max(2, Math.round(size * 0.18));
  const departments = ['finance', 'engineering', 'sales', 'support', 'it'] as const;
  for (let i = 0; i < size; i++) {
    const isServer = i < serverCount;
    const release = pick(isServer ? SERVER_RELEASES : WORKSTATION_RELEASES);
    const ecosystem = `Ubuntu:${release}:LTS`;
    const packages: HostPackage[] = [];
    for (const [names, versions] of DEB_PACKAGES[release]) {
      const version = pick(versions);
      for (const name of names) packages.push({ ecosystem, name, version });
    }
    let name: string;
    let role: string;
    let criticality: Criticality;
    let usage: number;
    const groups: string[] = [];
    if (isServer) {
      const kind = pick(['web', 'app', 'db', 'app', 'web'] as const);
      name = `srv-${kind}-${String(i + 1).padStart(2, '0')}`;
      role = kind === 'db' ? 'database' : 'server';
      criticality = kind === 'db' ? 'critical' : pick(['high', 'high', 'medium'] as const);
      usage = round2(0.85 + random() * 0.15);
      groups.push('servers');
      if (kind !== 'db') {
        for (const [eco, pkg, versions] of APP_PACKAGES) {
          if (random() < 0.7) packages.push({ ecosystem: eco, name: pkg, version: pick(versions) });
        }
      }
    } else {
      const laptop = random() < 0.4;
      const dept = pick(departments);
      name = `${laptop ? 'lt' : 'ws'}-${dept.slice(0, 3)}-${String(i + 1).padStart(3, '0')}`;
      role = laptop ? 'laptop' : 'workstation';
      criticality = dept === 'finance' ? 'medium' : pick(['low', 'low', 'medium'] as const);
      usage = round2(0.2 + random() * 0.8);
      groups.push(dept);
    }
    // A small pilot ring of volunteers across roles; the planner patches these first.
    if (i % 17 === 3) groups.push('pilot');
    const owner = isServer ? 'ops-team' : `${pick(FIRST_NAMES)}.${pick(LAST_NAMES)}@example.com`;
    hosts.push({
      name,
      os: ecosystem,
      role,
      criticality,
      usage,
      // The demo's operator owns a few workstations outside the pilot ring, so signing in as him shows
      // the reboot notices end users get (and their Reboot now / Postpone buttons).
      owner: !isServer && i % 17 !== 3 && i % 23 === 0 ? DEMO_WORKSTATION_OWNER : owner,
      groups,
      packages,
    });
  }
  return hosts;
}

const SERVER_RELEASES = ['22.04', '22.04', '20.04', '24.04'] as const;
const WORKSTATION_RELEASES = ['22.04', '22.04', '22.04', '24.04', '20.04'] as const;

type Release = '20.04' | '22.04' | '24.04';

/** Binary packages built from one source share its version; each list spans vulnerable and fixed. */
const DEB_PACKAGES: Record<Release, [string[], string[]][]> = {
  '20.04': [
    [['sudo'], ['1.8.31-1ubuntu1.1', '1.8.31-1ubuntu1.2', '1.8.31-1ubuntu1.5']],
    [['openssh-server', 'openssh-client'], ['1:8.2p1-4ubuntu0.5', '1:8.2p1-4ubuntu0.11', '1:8.2p1-4ubuntu0.12']],
    [['libssl1.1'], ['1.1.1f-1ubuntu2.20', '1.1.1f-1ubuntu2.22']],
    [['curl', 'libcurl4'], ['7.68.0-1ubuntu2.18', '7.68.0-1ubuntu2.22']],
  ],
  '22.04': [
    [['sudo'], ['1.9.9-1ubuntu2.1', '1.9.9-1ubuntu2.4', '1.9.9-1ubuntu2.5']],
    [['openssh-server', 'openssh-client'], ['1:8.9p1-3ubuntu0.1', '1:8.9p1-3ubuntu0.6', '1:8.9p1-3ubuntu0.10', '1:8.9p1-3ubuntu0.11']],
    [['libssl3', 'openssl'], ['3.0.2-0ubuntu1.10', '3.0.2-0ubuntu1.15', '3.0.2-0ubuntu1.18']],
    [['curl', 'libcurl4'], ['7.81.0-1ubuntu1.13', '7.81.0-1ubuntu1.16']],
  ],
  '24.04': [
    [['sudo'], ['1.9.15p5-3ubuntu5', '1.9.15p5-3ubuntu5.24.04.1']],
    [['openssh-server', 'openssh-client'], ['1:9.6p1-3ubuntu13', '1:9.6p1-3ubuntu13.5', '1:9.6p1-3ubuntu13.8']],
    [['libssl3t64', 'openssl'], ['3.0.13-0ubuntu3.1', '3.0.13-0ubuntu3.4']],
  ],
};

const APP_PACKAGES: [string, string, string[]][] = [
  ['npm', 'express', ['4.18.2', '4.19.2']],
  ['npm', 'ws', ['8.11.0', '8.17.1']],
  ['npm', 'axios', ['0.27.2', '1.6.0']],
  ['npm', 'lodash', ['4.17.20', '4.17.21']],
  ['npm', 'path-to-regexp', ['0.1.7', '0.1.10']],
  ['PyPI', 'requests', ['2.28.1', '2.32.3']],
  ['PyPI', 'urllib3', ['1.26.18', '1.26.19']],
  ['PyPI', 'jinja2', ['3.1.2', '3.1.4']],
  ['PyPI', 'werkzeug', ['2.2.2', '3.0.3']],
  ['PyPI', 'setuptools', ['65.5.0', '70.0.0']],
];

const FIRST_NAMES = ['ana', 'ben', 'chen', 'dara', 'eli', 'fatima', 'gus', 'hana', 'ivan', 'jo', 'kim', 'leo'];
const LAST_NAMES = ['meyer', 'okafor', 'silva', 'tanaka', 'novak', 'haddad', 'berg', 'costa'];

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** mulberry32: small, fast and good enough to make a demo fleet repeatable. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
