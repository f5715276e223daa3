import { describe, expect, it } from 'vitest';
import { routeCase, routingUsesOwners, type RoutingPolicy } from '../../src/core/routing.js';

const policy: RoutingPolicy = {
  defaultChannel: '#patching',
  rules: [
    { channel: '#sec-critical', severity: ['critical'] },
    { channel: '#dba', group: 'databases', ecosystem: 'Ubuntu:22.04:LTS' },
    { channel: '#web-team', group: 'web' },
    { channel: '#node', ecosystem: 'npm', severity: ['high', 'medium'] },
  ],
};

const subject = (s: Partial<Parameters<typeof routeCase>[0]> & Pick<Parameters<typeof routeCase>[0], 'severity'>) => ({ hostGroups: [], ecosystems: [], hostOwners: [], ...s });

describe('routeCase', () => {
  it('takes the first rule whose conditions all hold', () => {
    expect(routeCase(subject({ severity: 'critical', hostGroups: ['web'], ecosystems: ['npm'] }), policy)).toEqual({ channel: '#sec-critical', rule: 0 });
    expect(routeCase(subject({ severity: 'high', hostGroups: ['web', 'databases'], ecosystems: ['Ubuntu:22.04:LTS'] }), policy)).toEqual({ channel: '#dba', rule: 1 });
  });

  it('needs every given condition: group alone is not enough when an ecosystem is given', () => {
    expect(routeCase(subject({ severity: 'high', hostGroups: ['databases'], ecosystems: ['Debian:12'] }), policy)).toEqual({ channel: '#patching', rule: null });
  });

  it('matches a group when any affected host is in it', () => {
    expect(routeCase(subject({ severity: 'low', hostGroups: ['pilot', 'web'], ecosystems: ['Debian:12'] }), policy).channel).toBe('#web-team');
  });

  it('checks the severity list', () => {
    expect(routeCase(subject({ severity: 'medium', ecosystems: ['npm'] }), policy).channel).toBe('#node');
    expect(routeCase(subject({ severity: 'low', ecosystems: ['npm'] }), policy).channel).toBe('#patching');
  });

  it('falls back to the default channel with no rules', () => {
    expect(routeCase(subject({ severity: 'critical' }), { defaultChannel: '#ops', rules: [] })).toEqual({ channel: '#ops', rule: null });
  });
});

describe('routing by host owner', () => {
  const byOwner: RoutingPolicy = {
    defaultChannel: '#patching',
    rules: [
      { channel: '#finance-it', owners: ['carol', 'Dave@Example.com'] },
      { channel: '#finance-critical', owners: ['carol'], severity: ['critical'] },
      { channel: '#web-team', group: 'web' },
    ],
  };

  it('matches when any affected host has a listed owner', () => {
    expect(routeCase(subject({ severity: 'low', hostOwners: ['erin', 'carol'] }), byOwner)).toEqual({ channel: '#finance-it', rule: 0 });
  });

  it('compares owners without regard to case or surrounding space (emails are written both ways)', () => {
    expect(routeCase(subject({ severity: 'low', hostOwners: [' dave@example.COM '] }), byOwner).channel).toBe('#finance-it');
  });

  it('does not match hosts owned by others or by nobody', () => {
    expect(routeCase(subject({ severity: 'low', hostGroups: ['web'], hostOwners: ['erin', ''] }), byOwner)).toEqual({ channel: '#web-team', rule: 2 });
    expect(routeCase(subject({ severity: 'low', hostOwners: [] }), byOwner)).toEqual({ channel: '#patching', rule: null });
  });

  it('needs the rule\'s other conditions too, and order still decides', () => {
    const ordered: RoutingPolicy = { defaultChannel: '#patching', rules: [byOwner.rules[1]!, byOwner.rules[0]!] };
    expect(routeCase(subject({ severity: 'critical', hostOwners: ['carol'] }), ordered).channel).toBe('#finance-critical');
    expect(routeCase(subject({ severity: 'high', hostOwners: ['carol'] }), ordered).channel).toBe('#finance-it');
  });

  it('tells callers whether owners need looking up at all', () => {
    expect(routingUsesOwners(policy)).toBe(false);
    expect(routingUsesOwners(byOwner)).toBe(true);
  });
});
