import { describe, expect, it } from 'vitest';
import { artifactFileName, artifactsForPackage, type DeployArtifact } from '../../../src/store/queries/artifacts.js';

const SHA = 'cd'.repeat(32);
const artifact = (url: string, pkg: string | null, ecosystem: string | null = null): DeployArtifact => ({
  url,
  sha256: SHA,
  size: 1,
  fileName: artifactFileName(url, SHA),
  package: pkg,
  ecosystem,
});

describe('artifacts for a rollout target', () => {
  it('takes the file name from the URL, made safe for a path on a host', () => {
    expect(artifactFileName('https://m/pool/libssl3_3.0.2-0ubuntu1.18_amd64.deb?x=1', SHA)).toBe('libssl3_3.0.2-0ubuntu1.18_amd64.deb');
    expect(artifactFileName('https://m/pool/openssh%201%3A9.deb', SHA)).toBe('openssh_1_9.deb');
    expect(artifactFileName('https://m/a/--oProxyCommand=x.deb', SHA)).toBe('oProxyCommand_x.deb');
    expect(artifactFileName('https://m/a/..%2F..%2Fetc%2Fpasswd', SHA)).toBe('_.._etc_passwd');
    expect(artifactFileName('https://m/', SHA)).toBe(`artifact-${SHA.slice(0, 12)}`);
  });

  it('matches files fetched for a package by name and ecosystem, else vendor files naming the package (a KB) as a word', () => {
    const deb = artifact('http://m/libssl3_3.0.2_amd64.deb', 'libssl3', 'Ubuntu:22.04:LTS');
    const msu = artifact('https://catalog.example/windows10.0-kb5032189-x64.msu', null);
    const other = artifact('https://catalog.example/windows10.0-kb50321890-x64.msu', null);
    const all = [deb, msu, other];
    expect(artifactsForPackage(all, { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3' })).toEqual([deb]);
    expect(artifactsForPackage(all, { ecosystem: 'Debian:12', name: 'libssl3' })).toEqual([]);
    expect(artifactsForPackage(all, { ecosystem: 'Windows', name: 'KB5032189' })).toEqual([msu]);
    // A name inside another word is not a match ("ssl" in "libssl3", KB503218 in KB5032189).
    expect(artifactsForPackage(all, { ecosystem: 'Windows', name: 'KB503218' })).toEqual([]);
    expect(artifactsForPackage(all, { ecosystem: 'Ubuntu:22.04:LTS', name: 'ssl' })).toEqual([]);
  });
});
