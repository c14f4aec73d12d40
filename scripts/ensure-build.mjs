#!/usr/bin/env node
// Builds dist/ from src/ only when a source is newer than the last build (npm start, prepare, npm run task).
// Plain Node, no dependencies: checking costs a few milliseconds, so `npm start` does not compile when
// nothing changed. A build starts from an empty dist/, so no output of a deleted source lingers.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
/** What the build depends on besides src/. */
const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => join(root, f));

function newest(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = info.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const src = join(root, 'src');
if (!existsSync(src)) process.exit(0); // an installed package ships dist/ only
const built = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const changed = Math.max(newest(src), ...inputs.map(newest));
if (built > 0 && changed <= built) process.exit(0);

let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write(
    'ai-dev: dist/ is missing or older than src/, and TypeScript is not installed to build it; run npm ci\n',
  );
  process.exit(1);
}
process.stderr.write(`ai-dev: building dist/ (${built > 0 ? 'src/ changed since the last build' : 'no build yet'})…\n`);
// A source saved while tsc runs must count as newer than this build.
const startedAt = new Date();
rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  process.stderr.write('ai-dev: the TypeScript build failed (see above)\n');
  process.exit(result.status ?? 1);
}
chmodSync(join(dist, 'cli', 'main.js'), 0o755);
writeFileSync(stamp, `${startedAt.toISOString()}\n`);
utimesSync(stamp, startedAt, startedAt);
