import { describe, expect, it } from 'vitest';
import { routeCase, type RoutingPolicy } from '../../src/core/routing.js';

const policy: RoutingPolicy = {
  defaultChannel: '#patching',
  rules: [
    { channel: '#sec-critical', severity: ['critical'] },
    { channel: '#dba', group: 'databases', ecosystem: 'Ubuntu:22.04:LTS' },
    { channel: '#web-team', group: 'web' },
    { channel: '#node', ecosystem: 'npm', severity: ['high', 'medium'] },
  ],
};

describe('routeCase', () => {
  it('takes the first rule whose conditions all hold', () => {
    expect(routeCase({ severity: 'critical', hostGroups: ['web'], ecosystems: ['npm'] }, policy)).toEqual({ channel: '#sec-critical', rule: 0 });
    expect(routeCase({ severity: 'high', hostGroups: ['web', 'databases'], ecosystems: ['Ubuntu:22.04:LTS'] }, policy)).toEqual({ channel: '#dba', rule: 1 });
  });

  it('needs every given condition: group alone is not enough when an ecosystem is given', () => {
    expect(routeCase({ severity: 'high', hostGroups: ['databases'], ecosystems: ['Debian:12'] }, policy)).toEqual({ channel: '#patching', rule: null });
  });

  it('matches a group when any affected host is in it', () => {
    expect(routeCase({ severity: 'low', hostGroups: ['pilot', 'web'], ecosystems: ['Debian:12'] }, policy).channel).toBe('#web-team');
  });

  it('checks the severity list', () => {
    expect(routeCase({ severity: 'medium', hostGroups: [], ecosystems: ['npm'] }, policy).channel).toBe('#node');
    expect(routeCase({ severity: 'low', hostGroups: [], ecosystems: ['npm'] }, policy).channel).toBe('#patching');
  });

  it('falls back to the default channel with no rules', () => {
    expect(routeCase({ severity: 'critical', hostGroups: [], ecosystems: [] }, { defaultChannel: '#ops', rules: [] })).toEqual({ channel: '#ops', rule: null });
  });
});
