/**
 * Sandbox network rules as E2B's API receives, validates and stores them. Nothing is enforced (commands run
 * on the host): the fake only keeps a faithful record.
 *
 * Wire (SDK 2.51, `buildNetworkBody` / `buildNetworkUpdateBody`):
 * - create `POST /v2/sandboxes`: top-level `allow_internet_access?: boolean` (snake case, from
 *   `allowInternetAccess`) and `network?: {allowOut?, denyOut?, rules?, egressProxy?, allowPublicTraffic?,
 *   maskRequestHost?, httpsPorts?}` — `allowOut`/`denyOut` are plain string arrays (callback selectors are
 *   resolved client-side; `ALL_TRAFFIC` = `'0.0.0.0/0'`); absent keys are not sent.
 * - update `PUT /sandboxes/{id}/network` → 204: `{allowOut?, denyOut?, rules?, egressProxy?,
 *   allow_internet_access?}`. It replaces the whole egress part (an omitted list is cleared); ingress
 *   (`allowPublicTraffic`, `maskRequestHost`, `httpsPorts`) stays; `allow_internet_access` changes only when sent.
 *
 * Validation and messages follow e2b-dev/infra `validateNetworkConfig` / `validateEgressRules` (see
 * api-error.ts for the source): denyOut takes only IPs/CIDRs; allowOut takes IPs, CIDRs or anything else
 * (a "domain" — the API does not check domain syntax); domains in allowOut need `0.0.0.0/0` in denyOut;
 * unspecified addresses (`0.0.0.0`, `::`, `0.0.0.0/8`) are refused except `0.0.0.0/0`.
 */
import { isIPv6 } from 'node:net';
import { ApiError } from './api-error.js';

export const ALL_TRAFFIC = '0.0.0.0/0';
/** Added to the allowed addresses when allowOut names domains, so DNS keeps working (infra `DefaultNameserver`). */
export const DEFAULT_NAMESERVER = '8.8.8.8';

export interface SandboxNetworkRule {
  transform?: { headers?: Record<string, string> };
}

export interface SandboxEgressProxy {
  address: string;
  username?: string;
  password?: string;
}

/** `SandboxNetworkConfig` as sent and stored (keys present only when sent). */
export interface SandboxNetworkConfig {
  allowOut?: string[];
  denyOut?: string[];
  rules?: Record<string, SandboxNetworkRule[]>;
  egressProxy?: SandboxEgressProxy | null;
  allowPublicTraffic?: boolean;
  maskRequestHost?: string;
  httpsPorts?: number[];
}

/** What the orchestrator would program into the sandbox firewall (infra `buildNetworkConfig`). */
export interface EgressModel {
  /** IPs / CIDRs from allowOut as CIDRs (`/32` added), plus `8.8.8.8/32` when allowOut has domains. */
  allowedCidrs: string[];
  /** allowOut entries that are not IPs or CIDRs (exact names or `*.wildcards`). */
  allowedDomains: string[];
  /** denyOut as CIDRs — or just `0.0.0.0/0` when internet access is off. */
  deniedCidrs: string[];
}

export interface NetworkChange {
  source: 'create' | 'update';
  at: Date;
  /** The request's `allow_internet_access` (undefined = not sent). */
  allowInternetAccess: boolean | undefined;
  /** The request's `network` (create) or the whole update body minus `allow_internet_access` (update). */
  network: SandboxNetworkConfig | undefined;
}

/** `fake.network(id)`. */
export interface NetworkInfo {
  /** Last `allow_internet_access` sent (create or update); undefined = never sent (internet on). */
  allowInternetAccess: boolean | undefined;
  /** The stored config (create's `network`, egress replaced by each update); undefined = none ever sent. */
  network: SandboxNetworkConfig | undefined;
  egress: EgressModel;
  /** Every accepted change, oldest first. */
  history: NetworkChange[];
}

const fail = (message: string): never => {
  throw new ApiError(400, message);
};

function parseError(detail: string): never {
  // gin's binder answers "Error when parsing request: <encoding/json error>" (exact Go wording not reproduced)
  return fail(`Error when parsing request: ${detail}`);
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    parseError(`json: cannot unmarshal into field ${field} of type []string`);
  }
  return [...(value as string[])];
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') parseError(`json: cannot unmarshal into field ${field} of type bool`);
  return value as boolean;
}

function rulesOf(value: unknown, field: string): Record<string, SandboxNetworkRule[]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) parseError(`json: cannot unmarshal into field ${field}`);
  const out: Record<string, SandboxNetworkRule[]> = {};
  for (const [domain, list] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(list)) parseError(`json: cannot unmarshal into field ${field}.${domain}`);
    out[domain] = (list as unknown[]).map((rule) => {
      if (typeof rule !== 'object' || rule === null) return parseError(`json: cannot unmarshal into a rule`);
      const transform = (rule as { transform?: unknown }).transform;
      if (transform === undefined || transform === null) return {};
      const headers = (transform as { headers?: unknown }).headers;
      if (headers === undefined || headers === null) return { transform: {} };
      if (typeof headers !== 'object' || Object.values(headers).some((h) => typeof h !== 'string')) {
        return parseError(`json: cannot unmarshal into field ${field}.${domain}.transform.headers`);
      }
      return { transform: { headers: { ...(headers as Record<string, string>) } } };
    });
  }
  return out;
}

function egressProxyOf(value: unknown): SandboxEgressProxy | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'object' || typeof (value as { address?: unknown }).address !== 'string') {
    return parseError('json: egressProxy needs a string address');
  }
  const { address, username, password } = value as Record<string, unknown>;
  if (!/^[^\s:]+:\d{1,5}$/.test(address as string)) {
    // infra ValidateEgressProxy also resolves the host and refuses private ranges (not modelled)
    fail(`Invalid egress proxy config: address must be host:port, got ${JSON.stringify(address)}`);
  }
  return {
    address: address as string,
    ...(typeof username === 'string' ? { username } : {}),
    ...(typeof password === 'string' ? { password } : {}),
  };
}

/** Go `net.ParseIP` for IPv4: four decimal octets, no leading zeros. */
function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255 && p.length <= 3);
}

function isIP(s: string): 4 | 6 | 0 {
  if (isIPv4(s)) return 4;
  if (!s.includes('%') && isIPv6(s)) return 6;
  return 0;
}

/** Go `net.ParseIP(s) != nil || net.ParseCIDR(s) succeeds`. */
export function isIPOrCIDR(s: string): boolean {
  if (isIP(s)) return true;
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const family = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (!family || !/^(0|[1-9]\d{0,2})$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function isUnspecified(ip: string): boolean {
  if (/^(::ffff:)?0\.0\.0\.0$/i.test(ip)) return true;
  return isIP(ip) === 6 && /^[0:]+$/.test(ip);
}

/** infra `IsSpecifiedIPOrCIDR`: an IP/CIDR whose address is not 0.0.0.0 / ::, except `0.0.0.0/0` itself. */
export function isSpecifiedIPOrCIDR(s: string): boolean {
  if (!isIPOrCIDR(s)) return false;
  if (s === ALL_TRAFFIC) return true;
  return !isUnspecified(s.split('/')[0] ?? '');
}

/** infra `validateEgressRules` (create and update). */
export function validateEgress(allowOut: string[] = [], denyOut: string[] = []): void {
  for (const cidr of denyOut) {
    if (!isSpecifiedIPOrCIDR(cidr)) fail(`invalid denied CIDR ${cidr}`);
  }
  if (allowOut.length === 0) return;
  const domains: string[] = [];
  for (const entry of allowOut) {
    if (!isIPOrCIDR(entry)) domains.push(entry);
    else if (!isSpecifiedIPOrCIDR(entry)) fail(`invalid allowed address ${entry}`);
  }
  if (domains.length > 0 && !denyOut.includes(ALL_TRAFFIC)) {
    fail(
      "When specifying allowed domains in allow out, you must include 'ALL_TRAFFIC' in deny out to block all other traffic.",
    );
  }
}

/** The structural part of infra `validateNetworkRules` (its team feature flag and envd-version gate are not modelled). */
function validateRules(rules: Record<string, SandboxNetworkRule[]> | undefined): void {
  if (!rules) return;
  if (Object.keys(rules).length > 10) fail('Network rules can have at most 10 domains.');
  for (const [domain, list] of Object.entries(rules)) {
    if (domain.length === 0) fail('Rule domain must not be empty.');
    if (domain.length > 128) fail(`Rule domain ${JSON.stringify(domain)} exceeds maximum length of 128 characters.`);
    if (list.length > 1) fail(`Domain ${JSON.stringify(domain)} can have at most 1 transform rule.`);
    for (const rule of list) {
      const headers = rule.transform?.headers ?? {};
      if (Object.keys(headers).length > 20) {
        fail(`Domain ${JSON.stringify(domain)} can have at most 20 headers per rule.`);
      }
      for (const name of Object.keys(headers)) {
        if (name.length === 0) fail(`Header name in rule for domain ${JSON.stringify(domain)} must not be empty.`);
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
          fail(
            `Header name ${JSON.stringify(name)} in rule for domain ${JSON.stringify(domain)} must contain only valid HTTP token characters.`,
          );
        }
      }
    }
  }
}

function validateMaskRequestHost(mask: string | undefined): void {
  if (mask === undefined) return;
  const host = mask.replace(/:\d*$/, '');
  if (host === '' || /[\s/]/.test(host)) fail(`mask request host is not valid: ${mask}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for non-ASCII characters
  if (/[^\x00-\x7f]/.test(host)) {
    fail(`mask request host '${host}' is not ASCII. Please use ASCII characters only.`);
  }
}

/** Parse + validate create's `network`; returns the config to store (only keys that were sent). */
export function parseCreateNetwork(value: unknown): SandboxNetworkConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return parseError('json: network must be an object');
  const raw = value as Record<string, unknown>;
  const config = egressOf(raw, 'network');
  const allowPublicTraffic = optionalBoolean(raw.allowPublicTraffic, 'network.allowPublicTraffic');
  if (allowPublicTraffic !== undefined) config.allowPublicTraffic = allowPublicTraffic;
  if (raw.maskRequestHost !== undefined && raw.maskRequestHost !== null) {
    if (typeof raw.maskRequestHost !== 'string') parseError('json: network.maskRequestHost must be a string');
    config.maskRequestHost = raw.maskRequestHost as string;
  }
  if (raw.httpsPorts !== undefined && raw.httpsPorts !== null) {
    const ports = raw.httpsPorts;
    if (!Array.isArray(ports) || ports.some((p) => !Number.isInteger(p))) {
      parseError('json: network.httpsPorts must be integers');
    }
    // SDK doc: "The envd port (49983) cannot be listed" (status and wording unverified)
    if ((ports as number[]).some((p) => p < 1 || p > 65535 || p === 49983)) {
      fail('httpsPorts must be valid ports other than the envd port 49983');
    }
    config.httpsPorts = [...(ports as number[])];
  }
  validateMaskRequestHost(config.maskRequestHost);
  validateEgress(config.allowOut, config.denyOut);
  validateRules(config.rules);
  return config;
}

/** Parse + validate a `PUT /sandboxes/{id}/network` body. */
export function parseNetworkUpdate(value: unknown): {
  allowInternetAccess: boolean | undefined;
  egress: SandboxNetworkConfig;
} {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return parseError('json: the body must be an object');
  }
  const raw = value as Record<string, unknown>;
  const egress = egressOf(raw, '');
  validateEgress(egress.allowOut, egress.denyOut);
  validateRules(egress.rules);
  return { allowInternetAccess: optionalBoolean(raw.allow_internet_access, 'allow_internet_access'), egress };
}

function egressOf(raw: Record<string, unknown>, prefix: string): SandboxNetworkConfig {
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  const config: SandboxNetworkConfig = {};
  const allowOut = stringList(raw.allowOut, at('allowOut'));
  const denyOut = stringList(raw.denyOut, at('denyOut'));
  const rules = rulesOf(raw.rules, at('rules'));
  const egressProxy = egressProxyOf(raw.egressProxy);
  if (allowOut !== undefined) config.allowOut = allowOut;
  if (denyOut !== undefined) config.denyOut = denyOut;
  if (rules !== undefined) config.rules = rules;
  if (egressProxy !== undefined) config.egressProxy = egressProxy;
  return config;
}

/** Full replace of the egress part, ingress kept (infra `UpdateSandboxNetworkConfig`). */
export function applyEgressUpdate(
  current: SandboxNetworkConfig | undefined,
  egress: SandboxNetworkConfig,
): SandboxNetworkConfig {
  const kept: SandboxNetworkConfig = {};
  if (current?.allowPublicTraffic !== undefined) kept.allowPublicTraffic = current.allowPublicTraffic;
  if (current?.maskRequestHost !== undefined) kept.maskRequestHost = current.maskRequestHost;
  if (current?.httpsPorts !== undefined) kept.httpsPorts = current.httpsPorts;
  return { ...kept, ...egress };
}

/** infra `buildNetworkConfig` / `buildEgressConfig`. */
export function egressModel(network: SandboxNetworkConfig | undefined, allowInternetAccess: boolean | undefined) {
  const allowOut = network?.allowOut ?? [];
  const addresses = allowOut.filter(isIPOrCIDR);
  const domains = allowOut.filter((e) => !isIPOrCIDR(e));
  if (domains.length > 0) addresses.push(DEFAULT_NAMESERVER);
  const cidr = (a: string) => (a.includes('/') ? a : `${a}/32`);
  return {
    allowedCidrs: addresses.map(cidr),
    allowedDomains: domains,
    deniedCidrs: allowInternetAccess === false ? [ALL_TRAFFIC] : (network?.denyOut ?? []).map(cidr),
  } satisfies EgressModel;
}

/** What `GET /sandboxes/{id}` returns as `network` (the proxy password is never returned). */
export function networkForInfo(network: SandboxNetworkConfig | undefined): SandboxNetworkConfig | undefined {
  if (!network) return undefined;
  const { egressProxy, ...rest } = structuredClone(network);
  if (!egressProxy) return rest;
  return {
    ...rest,
    egressProxy: {
      address: egressProxy.address,
      ...(egressProxy.username !== undefined ? { username: egressProxy.username } : {}),
    },
  };
}
