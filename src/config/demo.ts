import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the bundled sample feeds live (real snapshots, copied into the project). */
export const DEMO_SAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../demo/samples');

/**
 * The offline demo's configuration, used when no config file exists: SQLite under ./data, the bundled
 * feeds, a simulated fleet, four people to approve with in the web console, and a simulator connector
 * slow enough to watch the waves go by.
 */
export function demoConfig(): Record<string, unknown> {
  const sample = (...parts: string[]) => path.join(DEMO_SAMPLES_DIR, ...parts);
  return {
    demo: { enabled: true, fleetSize: 300, seed: 42 },
    // The demo shows times in the machine's own zone; a real team sets `timezone` in its config.
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    databaseUrl: 'sqlite:./data/patchdeck.db',
    feeds: [
      { name: 'cisa-kev', kind: 'kev', file: sample('kev', 'known_exploited_vulnerabilities.json'), schedule: '5 */6 * * *' },
      { name: 'ubuntu-usn', kind: 'osv', file: sample('osv', 'ubuntu'), schedule: '10 * * * *' },
      { name: 'github-advisories', kind: 'osv', file: sample('osv', 'ghsa'), schedule: '15 * * * *' },
      { name: 'us-cert-alerts', kind: 'rss', file: sample('rss', 'us-cert-alerts.rss.xml'), schedule: '20 * * * *' },
      { name: 'sans-isc', kind: 'rss', file: sample('rss', 'sans-isc.rss.xml'), schedule: '25 * * * *' },
    ],
    people: [
      { id: 'alice', name: 'Alice Approver', groups: ['approvers'] },
      { id: 'bob', name: 'Bob Approver', groups: ['approvers'] },
      { id: 'carol', name: 'Carol Approver', groups: ['approvers', 'cab'] },
      { id: 'dave', name: 'Dave Operator', email: 'dave@example.com', groups: ['ops'] },
    ],
    routing: {
      defaultChannel: '#patching',
      rules: [
        { channel: '#patch-critical', severity: ['critical'] },
        { channel: '#app-team', ecosystem: 'npm' },
        { channel: '#app-team', ecosystem: 'PyPI' },
      ],
    },
    policy: { alertThreshold: 'high' },
    rollout: { connector: 'simulator', pilotGroup: 'pilot', waveSize: 60, failureThreshold: 0.25 },
    connectors: { simulator: { seed: 7, failureRate: 0.03, rebootFailureRate: 0.02, delayMs: 120 } },
    // Dave's workstations ask him before they reboot; unanswered, they reboot two minutes later.
    maintenance: { rebootNoticeLead: '2m', rebootPostpone: '2m', rebootPostponeLimit: 2, rebootDeadline: '10m' },
  };
}
