// `logs`: prints the stack's recent setup and app log lines from CloudWatch Logs, with no SSH and no open port.
import type { AwsDeps } from './aws-clients.js';
import { logsStep, type LogsSettings } from './resources/logs.js';
import type { StackState } from './state.js';
import type { Step } from './step.js';

export type { LogsSettings };

export function logsSteps(settings: LogsSettings): Step<AwsDeps, StackState>[] {
  return [logsStep(settings)];
}
