/**
 * `filesystem.Filesystem` for the fake envd: Stat, ListDir (depth), MakeDir, Move, Remove. WatchDir and the
 * watcher RPCs answer `unimplemented`.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { methodOf } from './descriptors.js';
import { type EnvdContext, unary } from './rpc.js';
import { type FakeSandbox, PathOutsideSandboxError } from './sandbox.js';

/** enum filesystem.FileType */
const FILE_TYPE = { unspecified: 0, file: 1, directory: 2, symlink: 3 } as const;

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function resolveIn(sandbox: FakeSandbox, path: string): string {
  try {
    return sandbox.resolvePath(path);
  } catch (err) {
    if (err instanceof PathOutsideSandboxError) throw new ConnectError(err.message, Code.PermissionDenied);
    throw err;
  }
}

function typeOf(st: Stats): number {
  if (st.isFile()) return FILE_TYPE.file;
  if (st.isDirectory()) return FILE_TYPE.directory;
  return FILE_TYPE.unspecified;
}

/** Go's `os.FileMode.String()` for the kinds we produce (`-rw-r--r--`, `drwxr-xr-x`, `Lrwxrwxrwx`). */
function goModeString(st: Stats): string {
  const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'L' : '-';
  const rwx = 'rwxrwxrwx';
  let perms = '';
  for (let i = 0; i < 9; i++) perms += st.mode & (1 << (8 - i)) ? rwx[i] : '-';
  return kind + perms;
}

function ownerOf(uid: number): string {
  try {
    const me = userInfo();
    if (me.uid === uid) return me.username;
  } catch {
    // no passwd entry
  }
  return String(uid);
}

/** envd's `entryInfo`: lstat; for a symlink, report the target's type/mode and `symlinkTarget`. */
async function entryInfo(hostPath: string) {
  let st: Stats;
  try {
    st = await lstat(hostPath);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      throw new ConnectError(`file not found: ${hostPath}: no such file or directory`, Code.NotFound);
    }
    throw new ConnectError(`error getting file info: ${String(err)}`, Code.Internal);
  }
  let type = typeOf(st);
  let mode = st.mode & 0o777;
  let symlinkTarget: string | undefined;
  if (st.isSymbolicLink()) {
    symlinkTarget = await realpath(hostPath).catch(() => undefined);
    const target = symlinkTarget ? await stat(symlinkTarget).catch(() => undefined) : undefined;
    type = target ? typeOf(target) : FILE_TYPE.unspecified;
    mode = target ? target.mode & 0o777 : 0;
  }
  return {
    name: basename(hostPath),
    type,
    path: hostPath,
    size: BigInt(st.size),
    mode,
    permissions: goModeString(st),
    owner: ownerOf(st.uid),
    group: String(st.gid),
    modifiedTime: timestampFromDate(st.mtime),
    ...(symlinkTarget !== undefined ? { symlinkTarget } : {}),
  };
}

type Entry = Awaited<ReturnType<typeof entryInfo>>;

async function walk(dir: string, depth: number, current: number, out: Entry[]): Promise<void> {
  const names = await readdir(dir);
  for (const name of names) {
    const child = join(dir, name);
    const info = await entryInfo(child).catch(() => undefined);
    if (!info) continue; // vanished while listing
    out.push(info);
    const st = await lstat(child).catch(() => undefined);
    if (st?.isDirectory() && current < depth) await walk(child, depth, current + 1, out);
  }
}

export function registerFilesystemService(router: ConnectRouter, service: DescService, env: EnvdContext): void {
  router.rpc(
    ...unary(methodOf(service, 'Stat'), async (req: { path: string }, ctx) => {
      return { entry: await entryInfo(resolveIn(env.sandboxOf(ctx), req.path)) };
    }),
  );

  router.rpc(
    ...unary(methodOf(service, 'ListDir'), async (req: { path: string; depth: number }, ctx) => {
      const dirPath = resolveIn(env.sandboxOf(ctx), req.path);
      const depth = req.depth || 1;
      let resolved: string;
      try {
        resolved = await realpath(dirPath);
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
          throw new ConnectError(`directory not found: ${dirPath}`, Code.NotFound);
        }
        throw new ConnectError(`error resolving symlink: ${String(err)}`, Code.Internal);
      }
      const st = await stat(resolved);
      if (!st.isDirectory()) throw new ConnectError(`path is not a directory: ${dirPath}`, Code.InvalidArgument);
      const entries: Entry[] = [];
      await walk(dirPath, depth, 1, entries);
      entries.sort((a, b) => {
        if (a.type !== b.type && (a.type === FILE_TYPE.directory || b.type === FILE_TYPE.directory)) {
          return a.type === FILE_TYPE.directory ? -1 : 1;
        }
        const an = a.name.toLowerCase();
        const bn = b.name.toLowerCase();
        return an < bn ? -1 : an > bn ? 1 : 0;
      });
      return { entries };
    }),
  );

  router.rpc(
    ...unary(methodOf(service, 'MakeDir'), async (req: { path: string }, ctx) => {
      const dirPath = resolveIn(env.sandboxOf(ctx), req.path);
      const st = await stat(dirPath).catch(() => undefined);
      if (st?.isDirectory()) throw new ConnectError(`directory already exists: ${dirPath}`, Code.AlreadyExists);
      if (st) throw new ConnectError(`path already exists but it is not a directory: ${dirPath}`, Code.InvalidArgument);
      try {
        await mkdir(dirPath, { recursive: true });
      } catch (err) {
        throw new ConnectError(`error creating directory: ${String(err)}`, Code.Internal);
      }
      return { entry: await entryInfo(dirPath) };
    }),
  );

  router.rpc(
    ...unary(methodOf(service, 'Move'), async (req: { source: string; destination: string }, ctx) => {
      const sandbox = env.sandboxOf(ctx);
      const source = resolveIn(sandbox, req.source);
      const destination = resolveIn(sandbox, req.destination);
      if (!(await lstat(source).catch(() => undefined))) {
        throw new ConnectError(`source file not found: ${source}`, Code.NotFound);
      }
      try {
        await mkdir(dirname(destination), { recursive: true });
        await rename(source, destination);
      } catch (err) {
        throw new ConnectError(`error renaming: ${String(err)}`, Code.Internal);
      }
      return { entry: await entryInfo(destination) };
    }),
  );

  router.rpc(
    ...unary(methodOf(service, 'Remove'), async (req: { path: string }, ctx) => {
      const target = resolveIn(env.sandboxOf(ctx), req.path);
      try {
        await rm(target, { recursive: true, force: true });
      } catch (err) {
        throw new ConnectError(`error removing file or directory: ${String(err)}`, Code.Internal);
      }
      return {};
    }),
  );
}
