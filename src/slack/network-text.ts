import { type NetworkPolicy, REGISTRY_HOSTS } from '../config/network.js';

/** One line for the first reply of a run. */
export function describeNetwork(policy: NetworkPolicy): string {
  const extra = (n: number) => (n > 0 ? ` and ${n} more host${n === 1 ? '' : 's'}` : '');
  switch (policy.mode) {
    case 'open':
      return 'Network: open (any host), no inbound traffic.';
    case 'none':
      return policy.allowHosts.length === 0
        ? 'Network: none (no outbound traffic).'
        : `Network: only ${policy.allowHosts.join(', ')}.`;
    case 'registries':
      return `Network: package registries and ${policy.allowHosts.find((h) => !REGISTRY_HOSTS.includes(h)) ?? 'GitHub'} only${extra(policy.allowHosts.length - REGISTRY_HOSTS.length - 1)}.`;
  }
}
