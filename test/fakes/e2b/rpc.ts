/** Glue between hand-written handlers and connect-node routes built from runtime descriptors. */
import type {
  DescMessage,
  DescMethod,
  DescMethodServerStreaming,
  DescMethodUnary,
  MessageInitShape,
} from '@bufbuild/protobuf';
import { createContextKey, type HandlerContext, type MethodImpl } from '@connectrpc/connect';
import type { Recorder } from './observe.js';
import type { FakeSandbox } from './sandbox.js';

export interface EnvdContext {
  /** The sandbox this RPC was routed to (by the `E2b-Sandbox-Id` header). */
  sandboxOf(ctx: HandlerContext): FakeSandbox;
  /** PATH given to child processes. */
  childPath: string;
  /** Where Start / SendInput are recorded. */
  recorder: Recorder;
}

export const sandboxKey = createContextKey<FakeSandbox | undefined>(undefined, { description: 'e2b fake sandbox' });

type Out = MessageInitShape<DescMessage>;

/**
 * Messages are protobuf-es shapes (oneof `{case, value}`, bytes `Uint8Array`, int64 `bigint`). Handlers are
 * typed with local interfaces because the descriptors are only known at runtime.
 */
export function unary<Req>(
  method: DescMethod,
  fn: (req: Req, ctx: HandlerContext) => unknown,
): [DescMethodUnary, MethodImpl<DescMethodUnary>] {
  if (method.methodKind !== 'unary') throw new Error(`${method.name} is not unary`);
  return [method as DescMethodUnary, async (req, ctx) => (await fn(req as unknown as Req, ctx)) as Out];
}

export function serverStreaming<Req>(
  method: DescMethod,
  fn: (req: Req, ctx: HandlerContext) => AsyncIterable<unknown>,
): [DescMethodServerStreaming, MethodImpl<DescMethodServerStreaming>] {
  if (method.methodKind !== 'server_streaming') throw new Error(`${method.name} is not server-streaming`);
  return [method as DescMethodServerStreaming, (req, ctx) => fn(req as unknown as Req, ctx) as AsyncIterable<Out>];
}
