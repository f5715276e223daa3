/**
 * The advisory ecosystem of an operating system, from `/etc/os-release` `ID` and `VERSION_ID` (osquery's
 * os_version `platform`, `major`, `minor` carry the same): `Ubuntu:22.04:LTS`, `Ubuntu:24.10`,
 * `Debian:12`, `AlmaLinux:9`, `Rocky Linux:9`. Null for a system no advisory feed names this way.
 */
export function osEcosystem(id: string, versionId: string): string | null {
  const major = /^(\d+)/.exec(versionId.trim())?.[1];
  if (major === undefined) return null;
  switch (id.trim().toLowerCase()) {
    case 'ubuntu': {
      const minor = /^\d+\.(\d+)/.exec(versionId.trim())?.[1];
      if (minor === undefined) return null;
      const month = minor.padStart(2, '0');
      const release = `${major}.${month}`;
      // Ubuntu's LTS releases are the April releases of even years.
      return Number(major) % 2 === 0 && month === '04' ? `Ubuntu:${release}:LTS` : `Ubuntu:${release}`;
    }
    case 'debian':
      return `Debian:${major}`;
    case 'almalinux':
      return `AlmaLinux:${major}`;
    case 'rocky':
      return `Rocky Linux:${major}`;
    default:
      return null;
  }
}

/** Which package manager the system's packages come from. */
export function packageFamily(ecosystem: string): 'deb' | 'rpm' {
  return ecosystem.startsWith('Ubuntu') || ecosystem.startsWith('Debian') ? 'deb' : 'rpm';
}

/** `KB5031354`, `kb5031354`, `5031354` → `KB5031354`; anything else → null. */
export function normalizeKb(text: string): string | null {
  const match = /^(?:KB)?(\d{6,8})$/i.exec(text.trim());
  return match ? `KB${match[1]}` : null;
}

/**
 * A hotfix install date as `YYYY-MM-DD`, from what Windows tools print: ISO (`2023-11-14T00:00:00`),
 * `M/D/YYYY` (Win32_QuickFixEngineering, osquery `patches.installed_on`), `YYYYMMDD` (osquery `programs.install_date`) or `/Date(ms)/` (Windows
 * PowerShell's ConvertTo-Json); '' when absent or unreadable.
 */
export function hotfixDate(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const inner = value as { value?: unknown; DateTime?: unknown };
    return hotfixDate(inner.value ?? inner.DateTime);
  }
  if (typeof value !== 'string') return '';
  const text = value.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}`;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})/.exec(text);
  if (us) return `${us[3]}-${us[1]!.padStart(2, '0')}-${us[2]!.padStart(2, '0')}`;
  const ms = /^\/Date\((-?\d+)\)\/$/.exec(text);
  if (ms) return new Date(Number(ms[1])).toISOString().slice(0, 10);
  return '';
}
