/**
 * The envd protobuf schemas, taken from the installed `e2b` package.
 *
 * The SDK's dist embeds `filesystem/filesystem.proto` and `process/process.proto` as base64
 * `FileDescriptorProto`s passed to `fileDesc()` (they are not exported). We read the dist file, pull out
 * every `fileDesc("<base64>")` literal, hydrate it with `fileDesc()` from `@bufbuild/protobuf/codegenv2`
 * (filesystem imports `google/protobuf/timestamp.proto`) and pick each file by its service name. The fake
 * then serves exactly the schema the SDK speaks, through `@connectrpc/connect-node`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DescFile, DescMethod, DescService } from '@bufbuild/protobuf';
import { fileDesc } from '@bufbuild/protobuf/codegenv2';
import { file_google_protobuf_timestamp } from '@bufbuild/protobuf/wkt';

export interface EnvdDescriptors {
  process: DescService;
  filesystem: DescService;
}

/** Embedded descriptors drop their import list; a Timestamp field still names the type. */
const TIMESTAMP_TYPE = '.google.protobuf.Timestamp';

function readSdkDist(): { path: string; text: string } {
  const require = createRequire(import.meta.url);
  const main = require.resolve('e2b'); // .../node_modules/e2b/dist/index.js
  const candidates = [join(dirname(main), 'index.mjs'), main];
  for (const path of candidates) {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch {
      // try the next candidate
    }
  }
  throw new Error(`e2b fake: cannot read the e2b SDK dist (tried ${candidates.join(', ')})`);
}

function hydrate(b64: string): DescFile {
  const raw = Buffer.from(b64, 'base64').toString('latin1');
  return raw.includes(TIMESTAMP_TYPE) ? fileDesc(b64, [file_google_protobuf_timestamp]) : fileDesc(b64);
}

let cached: EnvdDescriptors | undefined;

/** Hydrated `process.Process` and `filesystem.Filesystem` service descriptors from the installed SDK. */
export function loadEnvdDescriptors(): EnvdDescriptors {
  if (cached) return cached;
  const { path, text } = readSdkDist();
  const services = new Map<string, DescService>();
  for (const match of text.matchAll(/fileDesc\)?\(\s*"([A-Za-z0-9+/]+={0,2})"/g)) {
    const b64 = match[1];
    if (!b64) continue;
    for (const service of hydrate(b64).services) services.set(service.typeName, service);
  }
  const process = services.get('process.Process');
  const filesystem = services.get('filesystem.Filesystem');
  if (!process || !filesystem) {
    throw new Error(
      `e2b fake: process.Process / filesystem.Filesystem descriptors not found in ${path} (found: ${[...services.keys()].join(', ') || 'none'})`,
    );
  }
  cached = { process, filesystem };
  return cached;
}

/** A method of `service` by its proto name (`Start`, `ListDir`, …). */
export function methodOf(service: DescService, name: string): DescMethod {
  const method = service.methods.find((m) => m.name === name);
  if (!method) throw new Error(`e2b fake: ${service.typeName} has no method ${name}`);
  return method;
}
