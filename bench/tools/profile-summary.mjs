#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and
// per package, so that "where the time goes" is a printed table, not a guess.
// Usage: node bench/tools/profile-summary.mjs FILE.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.mjs FILE.cpuprofile [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
// timeDeltas[i] is the time before samples[i] was taken: attribute it to that sample's node.
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idleNames = new Set(['(idle)', '(program)']);

const packageOf = (url) => {
  if (!url) return '(native)';
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const w = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (w) return `walrus:${w[2]}`;
  if (url.startsWith('node:')) return 'node';
  return url.split('/').slice(-2).join('/');
};

const perFunction = new Map();
const perPackage = new Map();
let idle = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  const name = n.callFrame.functionName || '(anonymous)';
  if (idleNames.has(name)) idle += us;
  const where = n.callFrame.url ? `${packageOf(n.callFrame.url)} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}` : '';
  const key = `${name}  ${where}`;
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  const pkg = idleNames.has(name) ? name : packageOf(n.callFrame.url);
  perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + us);
}
const busy = total - idle;
const pct = (us, of) => ((100 * us) / of).toFixed(1).padStart(5);
const lines = [`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (not idle/program)`, '', 'self time by package (% of busy)'];
for (const [k, us] of [...perPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) if (!idleNames.has(k)) lines.push(`  ${pct(us, busy)}%  ${k}`);
lines.push('', 'self time by function (% of busy)');
for (const [k, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) if (!k.startsWith('(idle)') && !k.startsWith('(program)')) lines.push(`  ${pct(us, busy)}%  ${k}`);
// Inclusive time: each sample counted once for every distinct function on its stack.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur).callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${f.url ? `${packageOf(f.url)} ${f.url.split('/').pop()}` : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}
lines.push('', 'inclusive time by function (% of busy)');
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top * 2)) if (!k.startsWith('(idle)') && !k.startsWith('(program)') && !k.startsWith('(root)')) lines.push(`  ${pct(us, busy)}%  ${k}`);
process.stdout.write(lines.join('\n') + '\n');
