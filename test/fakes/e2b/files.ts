/**
 * envd's HTTP `/files` endpoint.
 *
 * - `GET /files?path=<p>` → raw bytes (`application/octet-stream`, identity encoding); 404
 *   `{code, message}` → `FileNotFoundError`; a directory → 400.
 * - `POST /files?path=<p>` or batch `POST /files` (no `path`): `multipart/form-data`, one `file` part per
 *   file, the target taken from `path` or else the part's filename (the SDK sends the full path).
 *   Also accepts a raw body (`application/octet-stream`, what the SDK sends for streams / `gzip: true` with
 *   envd ≥ 0.5.7) with `path` required; `Content-Encoding: gzip` is undone first.
 *   Answers 200 `[{name, type: 'file', path}]`.
 * - every file written is recorded (observe.ts `FileWriteRecord`, bytes kept for `scanFor`).
 */
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readBody, sendJson } from './http.js';
import type { Recorder } from './observe.js';
import { type FakeSandbox, PathOutsideSandboxError } from './sandbox.js';

class FilesError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function resolveOrThrow(sandbox: FakeSandbox, path: string): string {
  try {
    return sandbox.resolvePath(path);
  } catch (err) {
    if (err instanceof PathOutsideSandboxError) throw new FilesError(403, err.message);
    throw err;
  }
}

export async function handleFiles(
  sandbox: FakeSandbox,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  recorder: Recorder,
): Promise<void> {
  try {
    if (req.method === 'GET') await download(sandbox, res, url);
    else if (req.method === 'POST') await upload(sandbox, req, res, url, recorder);
    else throw new FilesError(405, `method ${req.method} not allowed`);
  } catch (err) {
    if (err instanceof FilesError) sendJson(res, err.status, { code: err.status, message: err.message });
    else sendJson(res, 500, { code: 500, message: String(err) });
  }
}

async function download(sandbox: FakeSandbox, res: ServerResponse, url: URL): Promise<void> {
  const requested = url.searchParams.get('path') ?? '';
  const hostPath = resolveOrThrow(sandbox, requested);
  const st = await stat(hostPath).catch(() => undefined);
  if (!st) throw new FilesError(404, `path '${hostPath}' does not exist`);
  if (st.isDirectory()) throw new FilesError(400, `path '${hostPath}' is a directory`);
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': st.size,
    'last-modified': st.mtime.toUTCString(),
  });
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(hostPath);
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
}

interface Part {
  name: string | undefined;
  filename: string | undefined;
  data: Buffer;
}

async function upload(
  sandbox: FakeSandbox,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  recorder: Recorder,
): Promise<void> {
  let body = await readBody(req);
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  const gzip = encoding === 'gzip';
  if (gzip) {
    try {
      body = gunzipSync(body);
    } catch (err) {
      throw new FilesError(400, `error decompressing request body: ${String(err)}`);
    }
  }
  const queryPath = url.searchParams.get('path');
  const contentType = req.headers['content-type'] ?? '';
  const targets: Array<{ path: string; data: Buffer }> = [];
  const multipart = contentType.toLowerCase().startsWith('multipart/form-data');
  if (multipart) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
    const b = boundary?.[1] ?? boundary?.[2];
    if (!b) throw new FilesError(400, 'multipart body without boundary');
    for (const part of parseMultipart(body, b.trim())) {
      if (part.name !== 'file') continue;
      const path = queryPath ?? part.filename;
      if (!path) throw new FilesError(400, 'file part without a filename and no path parameter');
      targets.push({ path, data: part.data });
    }
  } else {
    if (!queryPath) throw new FilesError(400, 'path is required for a non-multipart upload');
    targets.push({ path: queryPath, data: body });
  }

  const written: Array<{ name: string; type: 'file'; path: string }> = [];
  const seen = new Set<string>();
  for (const target of targets) {
    const hostPath = resolveOrThrow(sandbox, target.path);
    if (seen.has(hostPath)) {
      throw new FilesError(
        400,
        `you cannot upload multiple files to the same path '${hostPath}' in one upload request`,
      );
    }
    seen.add(hostPath);
    const st = await stat(hostPath).catch(() => undefined);
    if (st?.isDirectory()) throw new FilesError(400, `path is a directory: ${hostPath}`);
    sandbox.ensureParent(hostPath);
    await writeFile(hostPath, target.data);
    await recorder.fileWrite(
      {
        sandboxId: sandbox.sandboxId,
        path: hostPath,
        requestedPath: target.path,
        encoding: multipart ? 'multipart' : 'octet-stream',
        gzip,
        filesInRequest: targets.length,
      },
      target.data,
    );
    written.push({ name: basename(hostPath), type: 'file', path: hostPath });
  }
  sendJson(res, 200, written);
}

/** Minimal RFC 7578 parser, byte-exact (no re-encoding of part bodies). */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const parts: Part[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new FilesError(400, 'multipart boundary not found');
  pos += delimiter.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString('latin1') === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headerEnd < 0) throw new FilesError(400, 'malformed multipart part headers');
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const dataStart = headerEnd + 4;
    const end = body.indexOf(nextDelimiter, dataStart);
    if (end < 0) throw new FilesError(400, 'unterminated multipart part');
    parts.push({ ...dispositionOf(headers), data: body.subarray(dataStart, end) });
    pos = end + nextDelimiter.length;
  }
  return parts;
}

function dispositionOf(headers: string): { name: string | undefined; filename: string | undefined } {
  const line = headers.split('\r\n').find((l) => l.toLowerCase().startsWith('content-disposition:')) ?? '';
  const param = (key: string): string | undefined => {
    const m =
      new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(line) ??
      new RegExp(`;\\s*${key}=([^;]+)`, 'i').exec(line);
    if (!m?.[1]) return undefined;
    // undici escapes \n, \r and " in names as %0A, %0D, %22
    return m[1].replace(/%0A/gi, '\n').replace(/%0D/gi, '\r').replace(/%22/g, '"');
  };
  return { name: param('name'), filename: param('filename') };
}
