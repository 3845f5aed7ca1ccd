// The shape every provisioning step shares, so `plan` prints the same steps that up, attach and down run.

/** Time and output, injected so tests run with a fake clock and instant sleeps. */
export interface Runtime {
  log: (line: string) => void;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/** What the plan prints about a step. */
export interface StepDescription {
  title: string;
  why: string;
  /** The equivalent AWS CLI commands; values only known at run time appear as shell variables set by an earlier command or as <placeholders>. */
  cli: string[];
  /** Documents the CLI commands read with file://, printed under them in the plan. */
  documents?: Record<string, unknown>;
}

export interface Step<Deps, State> extends StepDescription {
  run: (deps: Deps, state: State) => Promise<void>;
}

export async function runSteps<Deps extends Runtime, State>(steps: Step<Deps, State>[], deps: Deps, state: State): Promise<void> {
  for (const [index, step] of steps.entries()) {
    deps.log(`\n[${index + 1}/${steps.length}] ${step.title}`);
    await step.run(deps, state);
  }
}

export function formatPlan(heading: string[], steps: StepDescription[], footer: string[]): string {
  const lines = [...heading];
  for (const [index, step] of steps.entries()) {
    lines.push('', `${index + 1}. ${step.title}`, `   Why: ${step.why}`);
    for (const command of step.cli) lines.push(command.startsWith('#') ? `     ${command}` : `   $ ${command}`);
    for (const [fileName, document] of Object.entries(step.documents ?? {})) {
      const text = typeof document === 'string' ? document : JSON.stringify(document, null, 2);
      lines.push(`     ${fileName}:`, ...text.split('\n').map((line) => `       ${line}`));
    }
  }
  lines.push('', ...footer);
  return lines.join('\n');
}

export interface WaitOptions {
  intervalMs: number;
  timeoutMs: number;
}

/** Polls until probe returns a value; undefined means the timeout passed, and the caller words the failure. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions, runtime: Runtime): Promise<T | undefined> {
  const deadline = runtime.now() + options.timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (runtime.now() + options.intervalMs > deadline) return undefined;
    await runtime.sleep(options.intervalMs);
  }
}

export interface RetryOptions {
  isRetryable: (error: unknown) => boolean;
  describeWait: (delayMs: number, waitedMs: number) => string;
  firstDelayMs: number;
  maxDelayMs: number;
  budgetMs: number;
}

/** Retries with doubling delays while the error is one that time fixes (eventual consistency), up to a time budget. */
export async function retryWithBackoff<T>(action: () => Promise<T>, options: RetryOptions, runtime: Runtime): Promise<T> {
  const started = runtime.now();
  let delayMs = options.firstDelayMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      const waitedMs = runtime.now() - started;
      if (!options.isRetryable(error) || waitedMs + delayMs > options.budgetMs) throw error;
      runtime.log(options.describeWait(delayMs, waitedMs));
      await runtime.sleep(delayMs);
      delayMs = Math.min(delayMs * 2, options.maxDelayMs);
    }
  }
}

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`Internal error: ${what} is not known yet; an earlier step should have set it`);
  return value;
}

export function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
