/** What a sandbox may reach (SANDBOX_NETWORK). */
export type NetworkMode = 'registries' | 'open' | 'none';

export interface NetworkPolicy {
  mode: NetworkMode;
  /** Hosts outbound traffic may reach (`registries` and `none`); ignored when open. */
  allowHosts: string[];
}

/** The common package registries (and their download hosts): what builds and tests usually need. */
export const REGISTRY_HOSTS: readonly string[] = [
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'crates.io',
  'static.crates.io',
  'index.crates.io',
  'proxy.golang.org',
  'sum.golang.org',
  'storage.googleapis.com',
  'repo.maven.apache.org',
  'repo1.maven.org',
  'plugins.gradle.org',
  'services.gradle.org',
  'rubygems.org',
  'index.rubygems.org',
  'deb.debian.org',
  'security.debian.org',
  'archive.ubuntu.com',
  'security.ubuntu.com',
];

/** The policy for a mode: `registries` lets the registries and the GitHub host through; extra hosts join any mode. */
export function networkPolicy(
  mode: NetworkMode,
  githubServerUrl: string,
  extraHosts: readonly string[],
): NetworkPolicy {
  const github = new URL(githubServerUrl).hostname;
  const base = mode === 'registries' ? [...REGISTRY_HOSTS, github] : [];
  return { mode, allowHosts: [...new Set([...base, ...extraHosts.map((h) => h.toLowerCase())])] };
}
