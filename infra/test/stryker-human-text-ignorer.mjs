// Stryker ignore-plugin: skips mutants in text only a person reads (progress log lines, plan step titles and explanations,
// the labels of internal errors),
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

function isRequiredCallee(callee) {
  return callee.type === 'Identifier' && callee.name === 'required';
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
      // required(state.amiId, 'the AMI id'): the label only names the value in an internal error that no command reaches.
      if (isLiteralText(path.node) && path.key === 1 && path.parentPath?.isCallExpression() && isRequiredCallee(path.parent.callee)) {
        return 'The label of an internal "not known yet" error';
      }
      if (path.isObjectProperty() && path.node.key.type === 'Identifier' && PERSON_ONLY_PROPERTIES.has(path.node.key.name)) {
        return 'A plan title, its explanation or a retry notice: text only a person reads';
      }
      return undefined;
    },
  }),
];
