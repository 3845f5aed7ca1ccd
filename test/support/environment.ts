// The environment the SDK's default credential chain reads, set for a test as the app's own process would
// have it: every AWS_ variable of the developer's shell removed, the test's variables set. Changes only
// those variables (process.env itself is never swapped), and gives back exactly what was there before.

/** Applies `variables` on top of the environment without its AWS_ settings; returns the undo. */
export function useAppEnvironment(variables: Record<string, string>): () => void {
  const touched = new Set([...Object.keys(process.env).filter((name) => name.startsWith('AWS_')), ...Object.keys(variables)]);
  const before = new Map([...touched].map((name) => [name, process.env[name]]));
  for (const name of touched) delete process.env[name];
  Object.assign(process.env, variables);
  return () => {
    for (const [name, value] of before) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
