import { parseArgs } from 'node:util';
import { errorMessage } from '../lib/errors.js';
import type { CliIO } from './io.js';
import { formatTarget, startTcpBalancer, type TcpTarget } from './tcp-balancer.js';

export const BALANCE_USAGE =
  'usage: ai-dev balance --listen [host:]port target [target...]  (a target is host:port or port)';

export interface BalanceArgs {
  listen: Required<TcpTarget>;
  targets: Array<Required<TcpTarget>>;
}

/** A usage mistake: the command prints it with the usage line and exits 2. */
export class BalanceUsageError extends Error {
  override name = 'BalanceUsageError';
}

/**
 * Reads `--listen [host:]port target...`. A host left out is 127.0.0.1 (the listen side too: a trial on one
 * machine exposes nothing; `--listen 0.0.0.0:9080` to be reached from elsewhere). Throws BalanceUsageError.
 */
export function parseBalanceArgs(argv: string[]): BalanceArgs {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    throw new BalanceUsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.listen === undefined) throw new BalanceUsageError('say where to listen, e.g. --listen 9080');
  if (positionals.length === 0) {
    throw new BalanceUsageError('give at least one target to forward to, e.g. 9081 9082 or 10.0.0.5:9080');
  }
  return {
    // Port 0 picks a free port (the line printed at start says which).
    listen: parseEndpoint(values.listen, '--listen', 0),
    targets: positionals.map((spec) => parseEndpoint(spec, 'target', 1)),
  };
}

/**
 * `ai-dev balance`: a round-robin TCP balancer (per connection, HTTP/2 cleartext passes through) in front of
 * several bot instances' RESTATE_SERVICE_PORTs, so a trial needs nothing installed. Runs until `stopped()`
 * settles (SIGINT or SIGTERM for the bin) and answers 0; 2 on bad usage, 1 when it cannot listen.
 */
export async function balance(argv: string[], io: CliIO, stopped: () => Promise<unknown> = signalled): Promise<number> {
  let args: BalanceArgs;
  try {
    args = parseBalanceArgs(argv);
  } catch (error) {
    if (!(error instanceof BalanceUsageError)) throw error;
    io.stderr.write(`ai-dev balance: ${error.message}\n${BALANCE_USAGE}\n`);
    return 2;
  }
  let balancer: Awaited<ReturnType<typeof startTcpBalancer>>;
  try {
    balancer = await startTcpBalancer(args.targets, args.listen);
  } catch (error) {
    io.stderr.write(`ai-dev balance: cannot listen on ${formatTarget(args.listen)}: ${errorMessage(error)}\n`);
    return 1;
  }
  const listening = formatTarget({ host: balancer.host, port: balancer.port });
  // Listening for the stop before saying it runs: whoever reads the line may signal at once.
  const stop = stopped();
  io.stdout.write(
    `ai-dev balance: listening on ${listening}, forwarding each connection round-robin to ${args.targets.map(formatTarget).join(', ')} (Ctrl-C stops)\n`,
  );
  await stop;
  await balancer.close();
  return 0;
}

/** Resolves on the first SIGINT or SIGTERM; a stop asked for is the normal end of a balancer. */
function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { listen: { type: 'string', short: 'l' } },
  });
}

function parseEndpoint(spec: string, what: string, lowestPort: number): Required<TcpTarget> {
  // `port`, `host:port`, or `[v6 address]:port`.
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d+)$/.exec(spec.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < lowestPort || port > 65535) {
    throw new BalanceUsageError(
      `${what} ${JSON.stringify(spec)} is not [host:]port with a port from ${lowestPort} to 65535`,
    );
  }
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}
