// The GitHub repository a deploy role trusts, with the immutable ids GitHub now puts in its OIDC tokens' subject.
import type { CiRoleDeps, GitHubRepository, StackState } from '../state.js';
import type { Step } from '../step.js';

export interface RepositorySettings {
  /** OWNER/NAME of the GitHub repository whose main branch may deploy. */
  repo: string;
  /** OWNER_ID/REPO_ID, for a repository the public API cannot show (a private one); looked up when absent. */
  repoIds?: string;
}

/** The command that prints a repository's ids, for the plan and for the error when the lookup fails. */
export function repoIdsCommand(repo: string): string {
  return `gh api repos/${repo} --jq '"\\(.owner.id)/\\(.id)"'`;
}

export function githubRepositoryStep(settings: RepositorySettings): Step<CiRoleDeps, StackState> {
  return {
    title: `Find the immutable owner and repository ids of ${settings.repo} on GitHub`,
    why: `GitHub's tokens name a repository created or renamed since 15 July 2026 by its ids as well as its name, so the role must trust that subject too; the ids also prove the repository is the one meant, should its name ever be deleted and claimed again. ${settings.repoIds ? 'Given with --repo-ids.' : 'Read from the public API; for a private repository pass them with --repo-ids OWNER_ID/REPO_ID.'}`,
    cli: settings.repoIds ? [`# given: --repo-ids ${settings.repoIds}`] : [`${repoIdsCommand(settings.repo)}   # OWNER_ID/REPO_ID`],
    run: async (deps, state) => {
      if (settings.repoIds) {
        // The CLI has checked the form OWNER_ID/REPO_ID.
        const [ownerId, repoId] = settings.repoIds.split('/') as [string, string];
        state.githubRepository = { fullName: settings.repo, ownerId, repoId };
      } else {
        state.githubRepository = await deps.lookUpGitHubRepository(settings.repo);
      }
      const { fullName, ownerId, repoId } = state.githubRepository;
      deps.log(`${fullName}: owner id ${ownerId}, repository id ${repoId}`);
    },
  };
}

/** What GitHub's API says of OWNER/NAME, or an Error saying why it could not and how to pass the ids instead. */
export async function lookUpGitHubRepository(repo: string, fetchJson = fetchGitHubApi): Promise<GitHubRepository> {
  const instead = `Pass the ids yourself: --repo-ids OWNER_ID/REPO_ID, printed by \`${repoIdsCommand(repo)}\`.`;
  let answer: { status: number; body: unknown };
  try {
    answer = await fetchJson(`https://api.github.com/repos/${repo}`);
  } catch (error) {
    throw new Error(`Could not reach api.github.com to read the ids of ${repo} (${(error as Error).message}). ${instead}`);
  }
  if (answer.status === 404)
    throw new Error(
      `GitHub's public API does not show ${repo}: it is private, or does not exist. Check --repo; for a private repository: ${instead}`,
    );
  const body = answer.body as { full_name?: unknown; id?: unknown; owner?: { id?: unknown } } | null;
  const fullName = body?.full_name;
  const repoId = body?.id;
  const ownerId = body?.owner?.id;
  if (answer.status !== 200 || typeof fullName !== 'string' || !Number.isSafeInteger(repoId) || !Number.isSafeInteger(ownerId))
    throw new Error(`api.github.com answered HTTP ${answer.status} for ${repo}, not the repository's ids. ${instead}`);
  // The API follows renames and transfers; the tokens carry the current name, so trusting the old one would admit nothing.
  if (fullName.toLowerCase() !== repo.toLowerCase())
    throw new Error(`${repo} is now ${fullName} on GitHub (renamed or transferred): run the command again with --repo ${fullName}.`);
  return { fullName, ownerId: String(ownerId), repoId: String(repoId) };
}

async function fetchGitHubApi(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: response.ok ? await response.json() : undefined };
}
