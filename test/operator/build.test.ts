import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENSURE_BUILD = join(ROOT, 'scripts', 'ensure-build.mjs');

function node(args: string[], cwd: string, env: Record<string, string> = {}) {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
}

describe('scripts/ensure-build.mjs: npm start compiles only when a source changed', () => {
  let dir: string;

  beforeAll(async () => {
    // A tiny project shaped like this one, with this checkout's TypeScript.
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-build-'));
    await mkdir(join(dir, 'src', 'cli'), { recursive: true });
    await mkdir(join(dir, 'scripts'));
    await writeFile(join(dir, 'scripts', 'ensure-build.mjs'), await readFile(ENSURE_BUILD));
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', target: 'ES2023', strict: true, types: [] } }),
    );
    await writeFile(
      join(dir, 'tsconfig.build.json'),
      JSON.stringify({
        extends: './tsconfig.json',
        compilerOptions: { rootDir: 'src', outDir: 'dist' },
        include: ['src'],
      }),
    );
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), "console.log('main');\n");
    await writeFile(join(dir, 'src', 'old.ts'), 'export const old = 1;\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds when there is no build, then does nothing while src/ is unchanged', async () => {
    const first = node(['scripts/ensure-build.mjs'], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('building dist/ (no build yet)');
    expect((await stat(join(dir, 'dist', 'cli', 'main.js'))).mode & 0o111).not.toBe(0);
    const again = node(['scripts/ensure-build.mjs'], dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    console.info(`first build ${first.ms} ms; up-to-date check ${again.ms} ms (node start included)`);
  });

  it('rebuilds from an empty dist/ when a source is newer, dropping the output of a deleted one', async () => {
    await rm(join(dir, 'src', 'old.ts'));
    const later = new Date(Date.now() + 2_000);
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), "console.log('changed');\n");
    await utimes(join(dir, 'src', 'cli', 'main.ts'), later, later);
    const rebuilt = node(['scripts/ensure-build.mjs'], dir);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('src/ changed since the last build');
    expect(await readFile(join(dir, 'dist', 'cli', 'main.js'), 'utf8')).toContain('changed');
    await expect(stat(join(dir, 'dist', 'old.js'))).rejects.toThrow();
  });

  it('builds once when two starts need a build at the same moment', async () => {
    // Newer than the last build, older than the next one.
    const now = new Date();
    await utimes(join(dir, 'src', 'cli', 'main.ts'), now, now);
    await utimes(join(dir, 'dist', '.build-stamp'), new Date(0), new Date(0));
    const run = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['scripts/ensure-build.mjs'], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const both = await Promise.all([run(), run()]);
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    expect(both.filter((r) => r.stderr.includes('building dist/'))).toHaveLength(1);
    expect(await readFile(join(dir, 'dist', 'cli', 'main.js'), 'utf8')).toContain('changed');
    await expect(stat(join(dir, '.dist-build.lock'))).rejects.toThrow();
  });

  it('says what to do when a build is needed and TypeScript is missing', async () => {
    await rm(join(dir, 'node_modules'));
    await utimes(join(dir, 'src', 'cli', 'main.ts'), new Date(Date.now() + 10_000), new Date(Date.now() + 10_000));
    const result = node(['scripts/ensure-build.mjs'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TypeScript is not installed to build it; run npm ci');
  });
});

describe('the bin is plain JavaScript that node runs', () => {
  let out: string;

  beforeAll(async () => {
    // The real build, into a folder of this checkout (so manifest.yml sits where the package has it).
    out = await mkdtemp(join(ROOT, '.test-dist-'));
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  }, 120_000);
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('answers help, and doctor reports a configuration that does not parse', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['ai-dev']).toBe('dist/cli/main.js');
    const help = node([join(out, 'cli', 'main.js'), 'help'], tmpdir());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('ai-dev run owner/repo "task"');
    const doctor = node([join(out, 'cli', 'main.js'), 'doctor'], tmpdir());
    expect(doctor.code).toBe(2);
    expect(doctor.stdout).toContain('FAIL  Configuration: OPENAI_API_KEY is missing');
    const start = node([join(out, 'main.js')], tmpdir());
    console.info(`built bot: start to configuration error ${start.ms} ms`);
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('SLACK_BOT_TOKEN is missing');
  });
});
