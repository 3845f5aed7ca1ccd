// Stryker ignore-plugin: skips mutants in text only a person reads (progress log lines, plan step titles and explanations),
// never in anything sent to AWS, written to the instance, or printed by `infra:logs`.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const PERSON_ONLY_PROPERTIES = new Set(['title', 'why', 'describeWait']);

function isLiteralText(node) {
  return node?.type === 'StringLiteral' || node?.type === 'TemplateLiteral';
}

function isLogCallee(callee) {
  if (callee.type === 'Identifier') return callee.name === 'log';
  return callee.type === 'MemberExpression' && callee.property.type === 'Identifier' && callee.property.name === 'log';
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'human-text', {
    shouldIgnore(path) {
      // log(`Created ${bucket}`) is progress text; log(formatLogEvent(event)) is the output of infra:logs and stays mutated.
      if (
        path.isCallExpression() &&
        isLogCallee(path.node.callee) &&
        path.node.arguments.length === 1 &&
        isLiteralText(path.node.arguments[0])
      ) {
        return 'A progress line only a person reads';
      }
      if (path.isObjectProperty() && path.node.key.type === 'Identifier' && PERSON_ONLY_PROPERTIES.has(path.node.key.name)) {
        return 'A plan title, its explanation or a retry notice: text only a person reads';
      }
      return undefined;
    },
  }),
];
