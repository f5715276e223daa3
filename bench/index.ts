/**
 * `npm run bench`: runs every benchmark registered here (or only those named on the command line)
 * and prints each figure beside its target. Benchmarks live one per file in bench/.
 */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** e.g. "≤ 10 s"; null for a figure printed for comparison only (the naive baseline). */
  target: string | null;
  met: boolean | null;
}

export interface Benchmark {
  name: string;
  description: string;
  run(log: (line: string) => void): Promise<BenchFigure[]>;
}

const BENCHMARKS: (() => Promise<Benchmark>)[] = [() => import('./ingest.js').then((m) => m.benchmark), () => import('./ack.js').then((m) => m.benchmark), () => import('./match.js').then((m) => m.benchmark)];

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const benches = await Promise.all(BENCHMARKS.map((load) => load()));
  const selected = wanted.length === 0 ? benches : benches.filter((b) => wanted.includes(b.name));
  if (selected.length === 0) {
    console.log(benches.length === 0 ? 'no benchmarks are registered yet' : `no benchmark named ${wanted.join(', ')} (have: ${benches.map((b) => b.name).join(', ')})`);
    return benches.length === 0 ? 0 : 2;
  }
  let missed = 0;
  for (const bench of selected) {
    console.log(`\n# ${bench.name}: ${bench.description}`);
    const figures = await bench.run((line) => console.log(`  ${line}`));
    for (const f of figures) {
      const verdict = f.met === null ? '' : f.met ? '  ok' : '  MISSED';
      if (f.met === false) missed += 1;
      console.log(`  ${f.name.padEnd(48)} ${String(f.value).padStart(10)} ${f.unit.padEnd(6)} ${f.target ? `target ${f.target}` : ''}${verdict}`);
    }
  }
  return missed > 0 ? 1 : 0;
}

process.exitCode = await main();
