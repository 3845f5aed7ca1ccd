// The files GitHub runs for a fork (.github/workflows/*.yml, .github/dependabot.yml), checked offline against
// their schemas, since Actions cannot run here: a misspelled key fails `npm test`, not the fork's first push.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';

const githubDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.github');
const workflowsDir = path.join(githubDir, 'workflows');
const workflowFiles = readdirSync(workflowsDir).filter((name) => /\.ya?ml$/.test(name));
const readGithubFile = (relativePath: string) => readFileSync(path.join(githubDir, relativePath), 'utf8');

/**
 * Every problem GitHub's own workflow parser (the one behind its VS Code extension, with GitHub's workflow
 * schema) finds in a workflow, as "name (Line: l, Col: c): message". Converting the parsed template also
 * checks what the schema alone cannot, such as `needs` naming a job that exists.
 */
async function workflowProblems(name: string, content: string): Promise<string[]> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  if (result.value) await convertWorkflowTemplate(result.context, result.value);
  return result.context.errors.getErrors().map((error) => error.message);
}

const dependabotSchema = JSON.parse(
  readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'schemas', 'dependabot.schema.json'), 'utf8'),
);
const validateDependabot = new Ajv({ allErrors: true }).compile(dependabotSchema);

/** Every way a dependabot.yml breaks test/schemas/dependabot.schema.json, as "path: message". */
function dependabotProblems(content: string): string[] {
  if (validateDependabot(parseYaml(content))) return [];
  return (validateDependabot.errors ?? []).map((error) => {
    const extra = 'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : '';
    return `${error.instancePath || '/'}: ${error.message}${extra}`;
  });
}

describe("when the workflows in .github/workflows are read by GitHub's workflow parser", () => {
  it('then ci.yml and deploy.yml are among them', () => {
    assert.ok(workflowFiles.includes('ci.yml') && workflowFiles.includes('deploy.yml'), workflowFiles.join(', '));
  });

  for (const file of workflowFiles) {
    it(`then ${file} has no errors`, async () => {
      assert.deepEqual(await workflowProblems(file, readGithubFile(path.join('workflows', file))), []);
    });
  }

  it('then a misspelled key or value is an error that names it and its line', async () => {
    const misspelled = [
      'on: push',
      'permissions:',
      '  contents: reed',
      'jobs:',
      '  test:',
      '    runs_on: ubuntu-latest',
      '    steps:',
      '      - run: npm test',
      '',
    ].join('\n');
    assert.deepEqual(await workflowProblems('broken.yml', misspelled), [
      "broken.yml (Line: 3, Col: 13): Unexpected value 'reed'",
      "broken.yml (Line: 6, Col: 5): Unexpected value 'runs_on'",
      'broken.yml (Line: 6, Col: 5): Required property is missing: runs-on',
    ]);
  });
});

describe('when .github/dependabot.yml is checked against the Dependabot schema', () => {
  it('then it conforms', () => {
    assert.deepEqual(dependabotProblems(readGithubFile('dependabot.yml')), []);
  });

  it('then a misspelled key or an unknown ecosystem is an error that names it', () => {
    const misspelled = [
      'version: 2',
      'updates:',
      '  - package-ecosystem: npm',
      '    directory: /',
      '    schedule:',
      '      intervall: weekly',
      '  - package-ecosystem: github-action',
      '    directory: /',
      '    schedule:',
      '      interval: weekly',
      '',
    ].join('\n');
    assert.deepEqual(dependabotProblems(misspelled), [
      "/updates/0/schedule: must have required property 'interval'",
      '/updates/0/schedule: must NOT have additional properties (intervall)',
      '/updates/1/package-ecosystem: must be equal to one of the allowed values',
    ]);
  });
});

describe('when the workflows are read for what this template promises', () => {
  it('then every action is pinned by its full commit SHA, with its release in a comment (a moved tag cannot change what runs)', () => {
    for (const file of workflowFiles) {
      const text = readGithubFile(path.join('workflows', file));
      const jobs = (parseYaml(text) as { jobs: Record<string, { steps: { uses?: string }[] }> }).jobs;
      const uses = Object.values(jobs).flatMap((job) => job.steps.flatMap((step) => (step.uses ? [step.uses] : [])));
      assert.ok(uses.length > 0, `${file} uses actions`);
      for (const action of uses) assert.match(action, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file}: ${action}`);
      const usesLines = text.split('\n').filter((line) => /^\s*(-\s+)?uses:/.test(line));
      assert.equal(usesLines.length, uses.length, `${file}: every uses: is a step's`);
      for (const line of usesLines) assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${file}: ${line.trim()}`);
    }
  });

  it("then CI tests on every supported Node.js: 20, 22 (the SDK's minimum from January 2027) and 24 (the hosts')", () => {
    const ci = parseYaml(readGithubFile(path.join('workflows', 'ci.yml'))) as {
      jobs: { test: { strategy: { matrix: { 'node-version': number[] } } } };
    };
    assert.deepEqual(ci.jobs.test.strategy.matrix['node-version'], [20, 22, 24]);
  });

  it('then CI may only read the repository, and the deploy adds only an OIDC token', () => {
    const permissions = (file: string) => (parseYaml(readGithubFile(path.join('workflows', file))) as { permissions: unknown }).permissions;
    assert.deepEqual(permissions('ci.yml'), { contents: 'read' });
    assert.deepEqual(permissions('deploy.yml'), { 'id-token': 'write', contents: 'read' });
  });

  it('then no workflow holds or asks for AWS access keys, or reads any secret', () => {
    for (const file of workflowFiles) {
      const text = readGithubFile(path.join('workflows', file));
      assert.doesNotMatch(text, /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secrets\./i, file);
    }
  });
});
