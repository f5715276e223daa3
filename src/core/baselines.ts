import { exemptionCovers, exemptionState, type Exemption } from './exemptions.js';
import type { HostPackage } from './types.js';
import { compareVersions, schemeForEcosystem } from './versions/index.js';

/** A group's baseline: the lowest version of each package its hosts must run (config `baselines`). */
export interface Baseline {
  group: string;
  packages: { ecosystem: string; name: string; minVersion: string }[];
}

export const BASELINE_STATUSES = ['meets', 'below', 'exceeds', 'exempt'] as const;
export type BaselineStatus = (typeof BASELINE_STATUSES)[number];

export interface BaselinePackageCheck {
  ecosystem: string;
  name: string;
  minVersion: string;
  /** The lowest installed version, or null when the host does not have the package. */
  installed: string | null;
  standing: 'below' | 'equal' | 'above' | 'absent' | 'uncomparable';
  /** The active exemption or mitigation that covers a package below the baseline. */
  exemptionId: number | null;
  detail: string;
}

export interface HostBaselineCheck {
  host: string;
  group: string;
  status: BaselineStatus;
  /** Packages below the baseline (or whose version cannot be ordered), exempted or not. */
  faults: BaselinePackageCheck[];
  packages: BaselinePackageCheck[];
}

function standingOf(ecosystem: string, installed: string, minVersion: string): { standing: BaselinePackageCheck['standing']; why: string } {
  const scheme = schemeForEcosystem(ecosystem);
  if (scheme === null) return { standing: 'uncomparable', why: `Patchdeck cannot order ${ecosystem} versions` };
  try {
    const order = compareVersions(scheme, installed, minVersion);
    return { standing: order < 0 ? 'below' : order === 0 ? 'equal' : 'above', why: '' };
  } catch (error) {
    return { standing: 'uncomparable', why: (error as Error).message };
  }
}

/**
 * Checks one host against its group's baseline. A package the host lacks is not a fault (nothing to
 * patch); a version that cannot be ordered is, since Patchdeck cannot show the host is at the level.
 * `below` when any fault is not covered by an active exemption or mitigation for that package;
 * `exempt` when every fault is covered; `exceeds` when every installed package is above the minimum.
 */
export function checkHostBaseline(
  host: { name: string; groups: readonly string[]; packages: readonly HostPackage[] },
  baseline: Baseline,
  exemptions: readonly Exemption[],
  now: Date,
): HostBaselineCheck {
  const packages = baseline.packages.map((required): BaselinePackageCheck => {
    const installed = host.packages.filter((p) => p.ecosystem === required.ecosystem && p.name === required.name).map((p) => p.version);
    const base = { ecosystem: required.ecosystem, name: required.name, minVersion: required.minVersion, exemptionId: null };
    if (installed.length === 0) return { ...base, installed: null, standing: 'absent', detail: 'not installed' };
    // With several versions installed, the lowest one decides.
    const checks = installed.map((version) => ({ version, ...standingOf(required.ecosystem, version, required.minVersion) }));
    const rank = { uncomparable: 0, below: 1, equal: 2, above: 3, absent: 4 } as const;
    const worst = checks.sort((a, b) => rank[a.standing] - rank[b.standing])[0]!;
    const detail =
      worst.standing === 'uncomparable'
        ? `${worst.version} cannot be compared with ${required.minVersion}: ${worst.why}`
        : `${worst.version} is ${worst.standing === 'equal' ? 'at' : worst.standing} ${required.minVersion}`;
    return { ...base, installed: worst.version, standing: worst.standing, detail };
  });
  const faults = packages
    .filter((p) => p.standing === 'below' || p.standing === 'uncomparable')
    .map((p) => {
      const covering = exemptions
        .filter((e) => e.advisoryId === null && exemptionState(e, now) === 'active')
        .filter((e) => exemptionCovers(e, { host: host.name, groups: host.groups, advisoryId: null, package: p.name }))
        .sort((a, b) => a.id - b.id)[0];
      return covering === undefined ? p : { ...p, exemptionId: covering.id, detail: `${p.detail}; ${covering.kind} #${covering.id} (${covering.control})` };
    });
  const byName = new Map(faults.map((f) => [`${f.ecosystem}\u0000${f.name}`, f]));
  const merged = packages.map((p) => byName.get(`${p.ecosystem}\u0000${p.name}`) ?? p);
  const installed = packages.filter((p) => p.standing !== 'absent');
  const status: BaselineStatus =
    faults.some((f) => f.exemptionId === null)
      ? 'below'
      : faults.length > 0
        ? 'exempt'
        : installed.length > 0 && installed.every((p) => p.standing === 'above')
          ? 'exceeds'
          : 'meets';
  return { host: host.name, group: baseline.group, status, faults, packages: merged };
}
