import { afterEach, beforeEach, expect, it } from 'vitest';
import { createWebApp } from '../../src/web/app.js';
import { describeEachStore } from '../helpers/stores.js';
import { COMPLIANCE_CONFIG, seedCompliance } from './compliance-seed.js';
import { createTestContext, listen } from './seed.js';

describeEachStore('compliance and policy pages', (db) => {
  let server: { url: string; close: () => Promise<void> };

  beforeEach(async () => {
    const ctx = createTestContext(db.store, COMPLIANCE_CONFIG);
    await seedCompliance(ctx);
    server = await listen(createWebApp({ ctx, slackEnabled: false }));
  });
  afterEach(async () => {
    await server?.close();
  });

  it('lists every group with baseline, exposure and SLA counts, escaping group names', async () => {
    const response = await fetch(`${server.url}/compliance`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).not.toContain('pci<dss>');
    expect(html).toContain('<a href="/compliance/pci%3Cdss%3E">pci&lt;dss&gt;</a>');
    const row = (group: string) => html.slice(html.indexOf(`>${group}</a>`), html.indexOf('</tr>', html.indexOf(`>${group}</a>`)));
    const numbers = (group: string) => [...row(group).matchAll(/<td class="num[^"]*">(\d+)/g)].map((m) => Number(m[1]));
    // meets, below, exempt hosts, open, exempt, mitigated, SLA met, SLA missed
    expect(numbers('web')).toEqual([1, 1, 0, 1, 0, 1, 1, 1]);
    expect(row('web')).toContain('(+1 above)');
    expect(numbers('pci&lt;dss&gt;')).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    expect(row('internet-facing')).toContain('no baseline');
  });

  it('shows one group with its hosts, statuses and the packages at fault', async () => {
    const response = await fetch(`${server.url}/compliance/web`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<h1>Compliance: web</h1>');
    expect(html).toMatch(/<td class="nowrap">web-02<\/td>\s*<td><span class="badge state-bad">below<\/span><\/td>\s*<td><ul class="reasons"><li><code>openssl<\/code>: 3\.0\.2-0ubuntu1\.9 is below 3\.0\.2-0ubuntu1\.12<\/li>/);
    expect(html).toMatch(/<td class="nowrap">web-03<\/td>\s*<td><span class="badge state-good">exceeds<\/span>/);
    expect(html).toMatch(/SLA missed<\/div><div class="card-value">1</);
    expect((await fetch(`${server.url}/compliance/pci%3Cdss%3E`)).status).toBe(200);
    const missing = await fetch(`${server.url}/compliance/nobody`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('No host is in a group named &quot;nobody&quot;');
  });

  it('explains the policy: the tree, the thresholds, severities per decision and SLAs per severity and group', async () => {
    const response = await fetch(`${server.url}/policy`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('EPSS percentile is at least <strong>90%</strong>');
    expect(html).toContain('internet-facing, dmz');
    expect(html.match(/<tr><td>(none|poc|active)<\/td>/g)).toHaveLength(12);
    expect(html).toMatch(/<tr><td>active<\/td><td>yes<\/td><td>total<\/td><td><span class="badge state-wait">Attend<\/span><\/td><td><span class="badge state-bad">Act<\/span><\/td><td><span class="badge state-bad">Act<\/span><\/td><\/tr>/);
    expect(html).toMatch(/<dt>Track<\/dt><dd><span class="badge sev-low">low<\/span> to <span class="badge sev-medium">medium<\/span><\/dd>/);
    expect(html).toMatch(/<tr><td>every host \(default\)<\/td><td>1d<\/td><td>7d<\/td><td>30d<\/td><td>90d<\/td><\/tr>/);
    expect(html).toMatch(/<tr><td>group pci&lt;dss&gt;<\/td><td>12h<\/td><td>3d<\/td><td><span class="muted">default<\/span><\/td>/);
    expect(html).toContain('at most <strong>180d</strong>');
  });
});
