import { randomBytes } from 'node:crypto';
import { listRefs, readCommit, resolveCommit, resolveRef } from './git.js';
import { apiError, isoNow, notFound, paginate, type RouteResult, type Router } from './http.js';
import { appJson, type IntegrationJson } from './rest-app.js';
import {
  type AppRef,
  type CheckRunRecord,
  type CheckSuiteRecord,
  type FakeState,
  fullName,
  type InternalContext,
  type RepoRecord,
  type RestContext,
  type StatusRecord,
} from './state.js';
import type {
  CheckConclusion,
  CheckRunSpec,
  CheckRunUpdate,
  CommitState,
  FakeCheckRun,
  FakeStatus,
  StatusSpec,
} from './types.js';

const REPO = '/repos/:owner/:repo';

/** GitHub Actions' own App (id 15368 on github.com; unverified that it is the same everywhere). */
export const ACTIONS_APP: AppRef = { id: 15368, slug: 'github-actions', name: 'GitHub Actions' };
const DEFAULT_CI_APP: AppRef = { id: 9001, slug: 'fake-ci', name: 'Fake CI' };
/** Job log links expire after a minute (GitHub's REST docs, "Download job logs for a workflow run"). */
const LOG_LINK_TTL_MS = 60_000;

const api = (state: FakeState, repo: RepoRecord) => `${state.serverUrl}/api/v3/repos/${fullName(repo)}`;

/** A sha, branch or tag → commit sha; `undefined` when nothing matches. */
async function commitOf(repo: RepoRecord, ref: string): Promise<string | undefined> {
  return resolveCommit(repo.gitDir, ref.replace(/^refs\//, ''));
}

async function requireCommit(repo: RepoRecord, ref: string): Promise<string> {
  const sha = await commitOf(repo, ref);
  if (!sha) throw new Error(`no commit ${ref} in ${fullName(repo)}`);
  return sha;
}

/** A branch whose head is `sha` (the default branch first), like a check suite's `head_branch`. */
async function branchAt(repo: RepoRecord, sha: string): Promise<string | null> {
  const heads = await listRefs(repo.gitDir, 'refs/heads/');
  const names = [...heads].filter(([, head]) => head === sha).map(([ref]) => ref.slice('refs/heads/'.length));
  return names.includes(repo.defaultBranch) ? repo.defaultBranch : (names[0] ?? null);
}

function appRefJson(state: FakeState, app: AppRef) {
  if (state.app && String(state.app.id) === String(app.id)) return appJson(state);
  const owner = app.slug === ACTIONS_APP.slug ? 'github' : `${app.slug}-owner`;
  return {
    id: app.id,
    slug: app.slug,
    node_id: Buffer.from(`Integration${app.id}`).toString('base64'),
    owner: state.userJson(owner, 'Organization'),
    name: app.name,
    description: null,
    external_url: `${state.serverUrl}/apps/${app.slug}`,
    html_url: `${state.serverUrl}/apps/${app.slug}`,
    created_at: '2018-07-30T09:30:17Z',
    updated_at: '2024-01-01T00:00:00Z',
    permissions: { checks: 'write', contents: 'read', metadata: 'read', statuses: 'write' } as Record<string, string>,
    events: ['check_run', 'check_suite', 'push', 'pull_request'],
    installations_count: 1,
  } satisfies IntegrationJson;
}

/** Open PRs whose head is `sha` (GitHub's `pull_requests` of checks: `pull-request-minimal`). */
async function pullsAt(state: FakeState, repo: RepoRecord, sha: string) {
  const minimal = [];
  for (const pull of repo.pulls) {
    if (pull.state !== 'open') continue;
    const head = (await resolveRef(repo.gitDir, `refs/heads/${pull.headRef}`)) ?? pull.headSha;
    if (head !== sha) continue;
    const base = (await resolveRef(repo.gitDir, `refs/heads/${pull.baseRef}`)) ?? '';
    const repoRef = { id: repo.id, url: api(state, repo), name: repo.name };
    minimal.push({
      url: `${api(state, repo)}/pulls/${pull.number}`,
      id: pull.id,
      number: pull.number,
      head: { ref: pull.headRef, sha: head, repo: repoRef },
      base: { ref: pull.baseRef, sha: base, repo: repoRef },
    });
  }
  return minimal;
}

function htmlUrl(state: FakeState, repo: RepoRecord, run: CheckRunRecord): string {
  const html = `${state.serverUrl}/${fullName(repo)}`;
  return run.job ? `${html}/actions/runs/${run.job.runId}/job/${run.id}` : `${html}/runs/${run.id}`;
}

export async function checkRunJson(state: FakeState, repo: RepoRecord, run: CheckRunRecord) {
  const base = api(state, repo);
  return {
    id: run.id,
    name: run.name,
    node_id: Buffer.from(`CheckRun${run.id}`).toString('base64'),
    head_sha: run.headSha,
    external_id: run.externalId,
    url: `${base}/check-runs/${run.id}`,
    html_url: htmlUrl(state, repo, run),
    details_url: run.detailsUrl,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: { ...run.output, annotations_count: 0, annotations_url: `${base}/check-runs/${run.id}/annotations` },
    check_suite: { id: run.suiteId },
    app: appRefJson(state, run.app),
    pull_requests: await pullsAt(state, repo, run.headSha),
  };
}

/**
 * A suite's status and conclusion from its runs (unverified: GitHub's exact precedence is not
 * documented; here any unfinished run keeps it open and the worst conclusion wins).
 */
function suiteState(runs: CheckRunRecord[]): {
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: CheckConclusion | null;
} {
  if (runs.length === 0) return { status: 'queued', conclusion: null };
  if (runs.some((run) => run.status !== 'completed')) {
    return { status: runs.every((run) => run.status === 'queued') ? 'queued' : 'in_progress', conclusion: null };
  }
  const order: CheckConclusion[] = ['action_required', 'timed_out', 'cancelled', 'failure', 'success', 'neutral'];
  const found = order.find((c) => runs.some((run) => run.conclusion === c));
  return { status: 'completed', conclusion: found ?? 'skipped' };
}

export async function checkSuiteJson(state: FakeState, repo: RepoRecord, suite: CheckSuiteRecord) {
  const runs = repo.checkRuns.filter((run) => run.suiteId === suite.id);
  const { status, conclusion } = suiteState(runs);
  const commit = await readCommit(repo.gitDir, suite.headSha);
  const updated =
    runs
      .map((run) => run.completedAt ?? run.startedAt)
      .sort()
      .at(-1) ?? suite.createdAt;
  return {
    id: suite.id,
    node_id: Buffer.from(`CheckSuite${suite.id}`).toString('base64'),
    head_branch: suite.headBranch,
    head_sha: suite.headSha,
    status,
    conclusion,
    url: `${api(state, repo)}/check-suites/${suite.id}`,
    before: commit?.parents[0] ?? null,
    after: suite.headSha,
    pull_requests: await pullsAt(state, repo, suite.headSha),
    app: appRefJson(state, suite.app),
    repository: state.repoJson(repo),
    created_at: suite.createdAt,
    updated_at: updated,
    head_commit: {
      id: suite.headSha,
      tree_id: commit?.tree ?? '',
      message: commit?.message.replace(/\n$/, '') ?? '',
      timestamp: commit?.committer.date ?? suite.createdAt,
      author: commit ? { name: commit.author.name, email: commit.author.email } : null,
      committer: commit ? { name: commit.committer.name, email: commit.committer.email } : null,
    },
    latest_check_runs_count: latestRuns(runs).length,
    check_runs_url: `${api(state, repo)}/check-suites/${suite.id}/check-runs`,
    rerequestable: true,
    runs_rerequestable: true,
  };
}

/** `filter=latest`: the newest run per (App, name). */
function latestRuns(runs: CheckRunRecord[]): CheckRunRecord[] {
  const newest = new Map<string, CheckRunRecord>();
  for (const run of runs) {
    const key = `${run.app.id}\0${run.name}`;
    const seen = newest.get(key);
    if (!seen || seen.id < run.id) newest.set(key, run);
  }
  return runs.filter((run) => newest.get(`${run.app.id}\0${run.name}`) === run);
}

function snapshot(state: FakeState, repo: RepoRecord, run: CheckRunRecord): FakeCheckRun {
  return {
    id: run.id,
    name: run.name,
    headSha: run.headSha,
    status: run.status,
    conclusion: run.conclusion,
    suiteId: run.suiteId,
    appSlug: run.app.slug,
    jobId: run.job ? run.id : undefined,
    runId: run.job?.runId,
    htmlUrl: htmlUrl(state, repo, run),
    detailsUrl: run.detailsUrl,
  };
}

function applyStatus(run: CheckRunRecord, update: Pick<CheckRunUpdate, 'status' | 'conclusion' | 'completedAt'>) {
  if (update.conclusion !== undefined && update.conclusion !== null) {
    run.conclusion = update.conclusion;
    run.status = 'completed';
  }
  if (update.status !== undefined) run.status = update.status;
  if (run.status === 'completed') {
    if (!run.conclusion) throw new Error(`check run ${run.id}: a completed run needs a conclusion`);
    run.completedAt = update.completedAt ?? run.completedAt ?? isoNow();
  } else {
    run.conclusion = null;
    run.completedAt = null;
  }
  if (run.job) {
    const done = run.status === 'completed';
    for (const step of run.job.steps) {
      step.status = done ? 'completed' : step.status;
      if (done && step.conclusion === null) step.conclusion = run.conclusion;
    }
  }
}

/** Test API: adds a check run (and its suite) on a commit. */
export async function addCheckRunRecord(state: FakeState, repo: RepoRecord, spec: CheckRunSpec): Promise<FakeCheckRun> {
  const headSha = await requireCommit(repo, spec.sha);
  const actions = spec.actions === true ? {} : spec.actions || undefined;
  const app = actions
    ? ACTIONS_APP
    : spec.app
      ? { ...DEFAULT_CI_APP, name: spec.app.slug, ...spec.app }
      : DEFAULT_CI_APP;
  const id = actions?.jobId ?? state.newId();
  if (repo.checkRuns.some((run) => run.id === id)) throw new Error(`check run / job id ${id} is taken`);
  const runId = actions ? (actions.runId ?? state.newId()) : undefined;
  let suite = repo.checkSuites.find(
    (candidate) => candidate.headSha === headSha && candidate.app.id === app.id && candidate.runId === runId,
  );
  const now = isoNow();
  if (!suite) {
    suite = { id: state.newId(), headSha, headBranch: await branchAt(repo, headSha), app, runId, createdAt: now };
    repo.checkSuites.push(suite);
  }
  const run: CheckRunRecord = {
    id,
    name: spec.name,
    headSha,
    status: 'queued',
    conclusion: null,
    output: { title: null, summary: null, text: null, ...spec.output },
    app,
    suiteId: suite.id,
    externalId: spec.externalId ?? '',
    detailsUrl: null,
    startedAt: spec.startedAt ?? now,
    completedAt: null,
    job:
      actions && runId !== undefined
        ? {
            runId,
            workflowName: actions.workflowName ?? 'CI',
            createdAt: spec.startedAt ?? now,
            steps: (actions.steps ?? [{ name: 'Set up job' }, { name: spec.name }]).map((step) => ({
              name: step.name,
              status: step.status ?? 'queued',
              conclusion: step.conclusion ?? null,
            })),
          }
        : undefined,
  };
  run.detailsUrl = spec.detailsUrl ?? (actions ? htmlUrl(state, repo, run) : null);
  applyStatus(run, {
    status: spec.status ?? (spec.conclusion ? 'completed' : 'queued'),
    conclusion: spec.conclusion,
    completedAt: spec.completedAt,
  });
  repo.checkRuns.push(run);
  if (actions?.log !== undefined) repo.jobLogs.set(id, actions.log);
  return snapshot(state, repo, run);
}

/** Test API: moves a check run along (`in_progress`, then `completed` with a conclusion, …). */
export function updateCheckRunRecord(
  state: FakeState,
  repo: RepoRecord,
  id: number,
  update: CheckRunUpdate,
): FakeCheckRun {
  const run = repo.checkRuns.find((candidate) => candidate.id === id);
  if (!run) throw new Error(`no check run ${id} in ${fullName(repo)}`);
  if (update.output) run.output = { ...run.output, ...update.output };
  if (update.detailsUrl !== undefined) run.detailsUrl = update.detailsUrl;
  if (update.status !== undefined || update.conclusion !== undefined) applyStatus(run, update);
  if (update.log !== undefined) {
    if (!run.job) throw new Error(`check run ${id} is not a GitHub Actions job`);
    repo.jobLogs.set(id, update.log);
  }
  return snapshot(state, repo, run);
}

export function checkRunSnapshots(state: FakeState, repo: RepoRecord): FakeCheckRun[] {
  return repo.checkRuns.map((run) => snapshot(state, repo, run));
}

/** Test API: a commit status (the Statuses API), newest last. */
export async function addStatusRecord(state: FakeState, repo: RepoRecord, spec: StatusSpec): Promise<FakeStatus> {
  const sha = await requireCommit(repo, spec.sha);
  const status: StatusRecord = {
    id: state.newId(),
    sha,
    state: spec.state,
    context: spec.context ?? 'default',
    description: spec.description ?? null,
    targetUrl: spec.targetUrl ?? null,
    creator: spec.creator ?? 'ci-bot',
    createdAt: isoNow(),
  };
  repo.statuses.push(status);
  return { id: status.id, sha, state: status.state, context: status.context };
}

export function statusJson(state: FakeState, repo: RepoRecord, status: StatusRecord, withCreator = true) {
  const json: Record<string, unknown> = {
    url: `${api(state, repo)}/statuses/${status.sha}`,
    avatar_url: `${state.serverUrl}/avatars/u/${state.userId(status.creator)}?v=4`,
    id: status.id,
    node_id: Buffer.from(`StatusContext${status.id}`).toString('base64'),
    state: status.state,
    description: status.description,
    target_url: status.targetUrl,
    context: status.context,
    created_at: status.createdAt,
    updated_at: status.createdAt,
  };
  if (withCreator) json.creator = state.userJson(status.creator);
  return json;
}

/** The combined state: failure if any context is error/failure, pending if none or any pending, else success. */
function combinedState(latest: StatusRecord[]): CommitState {
  if (latest.some((status) => status.state === 'error' || status.state === 'failure')) return 'failure';
  if (latest.length === 0 || latest.some((status) => status.state === 'pending')) return 'pending';
  return 'success';
}

function jobJson(state: FakeState, repo: RepoRecord, run: CheckRunRecord) {
  const job = run.job;
  if (!job) throw notFound();
  const base = api(state, repo);
  const assigned = run.status !== 'queued';
  return {
    id: run.id,
    run_id: job.runId,
    run_url: `${base}/actions/runs/${job.runId}`,
    run_attempt: 1,
    node_id: Buffer.from(`Job${run.id}`).toString('base64'),
    head_sha: run.headSha,
    url: `${base}/actions/jobs/${run.id}`,
    html_url: htmlUrl(state, repo, run),
    status: run.status,
    conclusion: run.conclusion,
    created_at: job.createdAt,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    name: run.name,
    steps: job.steps.map((step, i) => ({
      name: step.name,
      status: step.status,
      conclusion: step.conclusion,
      number: i + 1,
      started_at: step.status === 'queued' ? null : run.startedAt,
      completed_at: step.status === 'completed' ? (run.completedAt ?? run.startedAt) : null,
    })),
    check_run_url: `${base}/check-runs/${run.id}`,
    labels: ['ubuntu-latest'],
    runner_id: assigned ? 1 : null,
    runner_name: assigned ? 'GitHub Actions 1' : null,
    runner_group_id: assigned ? 1 : null,
    runner_group_name: assigned ? 'GitHub Actions' : null,
    workflow_name: job.workflowName,
    head_branch: repo.checkSuites.find((suite) => suite.id === run.suiteId)?.headBranch ?? null,
  };
}

/** Log links the fake handed out: nonce → where and until when. */
const logLinks = new WeakMap<FakeState, Map<string, { repo: RepoRecord; jobId: number; expires: number }>>();

function linksOf(state: FakeState) {
  let links = logLinks.get(state);
  if (!links) {
    links = new Map();
    logLinks.set(state, links);
  }
  return links;
}

async function commitForChecks(repo: RepoRecord, ref: string): Promise<string> {
  const sha = await commitOf(repo, ref);
  // (unverified wording) GitHub answers a ref it cannot resolve with 422 "No commit found for SHA: <ref>".
  if (!sha) throw apiError(422, `No commit found for SHA: ${ref}`);
  return sha;
}

async function commitForStatuses(repo: RepoRecord, ref: string): Promise<string> {
  const sha = await commitOf(repo, ref);
  // (unverified wording) the Statuses API documents a 404 here.
  if (!sha) throw apiError(404, `No commit found for SHA: ${ref}`);
  return sha;
}

export function registerCheckRoutes(router: Router<RestContext>, internal: Router<InternalContext>): void {
  const repoFor = (ctx: RestContext, p: Record<string, string>, permission: string) => {
    const repo = ctx.state.visibleRepo(ctx.caller, p.owner ?? '', p.repo ?? '');
    ctx.state.assertCanRead(ctx.caller, repo, permission);
    return repo;
  };

  router.add('GET', `${REPO}/commits/*ref/check-runs`, async (ctx, p) => {
    const repo = repoFor(ctx, p, 'checks');
    const sha = await commitForChecks(repo, p.ref ?? '');
    const { query } = ctx;
    let runs = repo.checkRuns.filter((run) => run.headSha === sha);
    if (query.get('filter') !== 'all') runs = latestRuns(runs);
    const name = query.get('check_name');
    const status = query.get('status');
    const appId = query.get('app_id');
    runs = runs
      .filter((run) => (!name || run.name === name) && (!status || run.status === status))
      .filter((run) => !appId || String(run.app.id) === appId)
      .sort((a, b) => b.id - a.id); // (unverified) newest first
    const page = paginate(query, runs, `${api(ctx.state, repo)}/commits/${sha}/check-runs`);
    const check_runs = await Promise.all(page.items.map((run) => checkRunJson(ctx.state, repo, run)));
    return { status: 200, body: { total_count: runs.length, check_runs }, headers: page.headers };
  });

  router.add('GET', `${REPO}/commits/*ref/check-suites`, async (ctx, p) => {
    const repo = repoFor(ctx, p, 'checks');
    const sha = await commitForChecks(repo, p.ref ?? '');
    const appId = ctx.query.get('app_id');
    const name = ctx.query.get('check_name');
    const suites = repo.checkSuites
      .filter((suite) => suite.headSha === sha && (!appId || String(suite.app.id) === appId))
      .filter((suite) => !name || repo.checkRuns.some((run) => run.suiteId === suite.id && run.name === name));
    const page = paginate(ctx.query, suites, `${api(ctx.state, repo)}/commits/${sha}/check-suites`);
    const check_suites = await Promise.all(page.items.map((suite) => checkSuiteJson(ctx.state, repo, suite)));
    return { status: 200, body: { total_count: suites.length, check_suites }, headers: page.headers };
  });

  router.add('GET', `${REPO}/check-runs/:id`, async (ctx, p) => {
    const repo = repoFor(ctx, p, 'checks');
    const run = repo.checkRuns.find((candidate) => String(candidate.id) === p.id);
    if (!run) throw notFound();
    return { status: 200, body: await checkRunJson(ctx.state, repo, run) };
  });

  router.add('GET', `${REPO}/commits/*ref/status`, async (ctx, p) => {
    const repo = repoFor(ctx, p, 'statuses');
    const sha = await commitForStatuses(repo, p.ref ?? '');
    const latest = new Map<string, StatusRecord>();
    for (const status of repo.statuses) if (status.sha === sha) latest.set(status.context, status);
    const contexts = [...latest.values()].sort((a, b) => b.id - a.id);
    const page = paginate(ctx.query, contexts, `${api(ctx.state, repo)}/commits/${sha}/status`);
    return {
      status: 200,
      body: {
        state: combinedState(contexts),
        statuses: page.items.map((status) => statusJson(ctx.state, repo, status, false)),
        sha,
        total_count: contexts.length,
        repository: ctx.state.repoJson(repo),
        commit_url: `${api(ctx.state, repo)}/commits/${sha}`,
        url: `${api(ctx.state, repo)}/commits/${sha}/status`,
      },
      headers: page.headers,
    };
  });

  const listStatuses = async (ctx: RestContext, p: Record<string, string>): Promise<RouteResult> => {
    const repo = repoFor(ctx, p, 'statuses');
    const sha = await commitForStatuses(repo, p.ref ?? '');
    const statuses = repo.statuses.filter((status) => status.sha === sha).sort((a, b) => b.id - a.id);
    const page = paginate(ctx.query, statuses, `${api(ctx.state, repo)}/commits/${sha}/statuses`);
    return {
      status: 200,
      body: page.items.map((status) => statusJson(ctx.state, repo, status)),
      headers: page.headers,
    };
  };
  router.add('GET', `${REPO}/commits/*ref/statuses`, listStatuses);
  router.add('GET', `${REPO}/statuses/*ref`, listStatuses);

  router.add('GET', `${REPO}/actions/jobs/:id`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'actions');
    const run = repo.checkRuns.find((candidate) => String(candidate.id) === p.id && candidate.job);
    if (!run) throw notFound();
    return { status: 200, body: jobJson(ctx.state, repo, run) };
  });

  router.add('GET', `${REPO}/actions/jobs/:id/logs`, (ctx, p) => {
    const repo = repoFor(ctx, p, 'actions');
    const run = repo.checkRuns.find((candidate) => String(candidate.id) === p.id && candidate.job);
    // (unverified) a job without logs yet answers 404 like an unknown one.
    if (!run || !repo.jobLogs.has(run.id)) throw notFound();
    const nonce = randomBytes(18).toString('base64url');
    linksOf(ctx.state).set(nonce, { repo, jobId: run.id, expires: Date.now() + LOG_LINK_TTL_MS });
    const location = `${ctx.state.serverUrl}/_fake/job-logs/${run.id}/${nonce}?urlExpires=${encodeURIComponent(
      new Date(Date.now() + LOG_LINK_TTL_MS).toISOString(),
    )}`;
    return { status: 302, headers: { location } };
  });

  // The signed log URL: no Authorization needed, expires after a minute.
  internal.add(
    'GET',
    '/job-logs/:id/:nonce',
    (ctx, p) => {
      const link = linksOf(ctx.state).get(p.nonce ?? '');
      if (!link || String(link.jobId) !== p.id || link.expires < Date.now()) {
        return { status: 403, raw: 'AuthenticationFailed: the log link expired', contentType: 'text/plain' };
      }
      const text = link.repo.jobLogs.get(link.jobId) ?? '';
      return { status: 200, raw: text, contentType: 'text/plain; charset=utf-8' };
    },
    'none',
  );
}
