/** A thread's one key: `<channel>:<thread ts>`, as buttons carry it and the store and locks use it. */
export const threadKeyOf = (channel: string, threadTs: string) => `${channel}:${threadTs}`;

export function parseThreadKey(value: string): { channel: string; threadTs: string } | undefined {
  const match = /^([A-Z0-9]+):(\d+\.\d+)$/.exec(value);
  return match?.[1] && match[2] ? { channel: match[1], threadTs: match[2] } : undefined;
}
