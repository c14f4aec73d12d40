#!/usr/bin/env node
// Builds dist/ from src/ only when a source is newer than the last build (npm start, prepare, npm run task).
// Plain Node, no dependencies: checking costs a few milliseconds, so `npm start` does not compile when
// nothing changed. A build starts from an empty dist/, so no output of a deleted source lingers. Two
// starts at once (several instances on one checkout) build once: the second waits for the first's lock,
// then finds dist/ up to date.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
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
const lastBuild = () => statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const upToDate = () => {
  const built = lastBuild();
  return built > 0 && Math.max(newest(src), ...inputs.map(newest)) <= built;
};
if (upToDate()) process.exit(0);

const lock = join(root, '.dist-build.lock');
/** A lock left by a build that died is given up after this long. */
const STALE_LOCK_MS = 5 * 60_000;
const pause = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  try {
    closeSync(openSync(lock, 'wx'));
    break;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > STALE_LOCK_MS) rmSync(lock, { force: true });
    else Atomics.wait(pause, 0, 0, 200);
  }
}
process.on('exit', () => rmSync(lock, { force: true }));
// Another start built it while this one waited.
if (upToDate()) process.exit(0);
const built = lastBuild();

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
