// The validator rejects broken runbooks with a message saying what is wrong and what is allowed, at
// the line (and column) of the offending key or value; the sample runbooks are clean.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { checkRunbookDir, validateRunbookText, type RunbookProblem } from '../../src/runbooks/catalog';
import { runbookSchema } from '../../src/runbooks/schema';

const runbooksDir = path.resolve(__dirname, '../../runbooks');

// A valid runbook; each case below breaks one thing in it.
const GOOD = `name: sample
description: test
matchers:
  - alertname = "X"
variables:
  container: "{{ labels.container }}"
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: "{{ vars.container }}" }
  - id: restart
    phase: remediate
    type: container.restart
    when: '!steps.inspect.output.running'
    with: { container: "{{ vars.container }}" }
    onFailure: { goto: tell }
  - id: tell
    phase: escalate
    type: notify
    with: { channel: slack, text: "help" }
`;

function problemsOf(text: string): RunbookProblem[] {
  return validateRunbookText('case.yaml', text).problems;
}

function expectProblem(text: string, line: number, pattern: RegExp, column?: number): void {
  const problems = problemsOf(text);
  const found = problems.find((p) => pattern.test(p.message));
  assert.ok(
    found,
    `expected a problem matching ${String(pattern)}, got:\n${problems.map((p) => `${p.line}:${p.column}: ${p.message}`).join('\n')}`,
  );
  assert.equal(found.line, line, `line of "${found.message}"`);
  if (column !== undefined) assert.equal(found.column, column, `column of "${found.message}"`);
}

void describe('runbook validation', () => {
  void it('accepts the valid base case and normalises defaults', () => {
    const { problems, snapshot } = validateRunbookText('case.yaml', GOOD);
    assert.deepEqual(problems, []);
    assert.ok(snapshot);
    const runbook = snapshot.runbook;
    assert.deepEqual(runbook.defaults, {
      timeout: '30s',
      retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
    });
    assert.equal(runbook.onResolvedBeforeAction, 'stop');
    assert.equal(runbook.holdOpen, '10m');
    assert.deepEqual(runbook.matchers, [{ name: 'alertname', op: '=', value: 'X' }]);
    assert.deepEqual(runbook.steps[2]?.with, { channel: 'slack', text: 'help' });
    assert.equal(runbook.target, undefined);
    assert.match(snapshot.hash, /^[0-9a-f]{64}$/);
    assert.equal(snapshot.source, 'case.yaml');
  });

  void it('merges defaults.retry over the built-in retry policy', () => {
    const text = GOOD.replace('steps:', 'defaults: { timeout: 5s, retry: { maximumAttempts: 7 } }\nsteps:');
    const runbook = validateRunbookText('case.yaml', text).snapshot?.runbook;
    assert.equal(runbook?.defaults.timeout, '5s');
    assert.deepEqual(runbook?.defaults.retry, {
      maximumAttempts: 7,
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '1m',
    });
  });

  void it('rejects a misspelt key, suggesting the right one and listing the allowed keys', () => {
    expectProblem(
      GOOD.replace('    onFailure: { goto: tell }', '    onFailur: abort'),
      17,
      /unknown key "onFailur" in step "restart" \(did you mean "onFailure"\?\); allowed keys: id, phase, type/,
      5,
    );
  });

  void it('rejects an unknown step type, listing the allowed ones', () => {
    expectProblem(
      GOOD.replace('type: container.restart', 'type: container.restrat'),
      14,
      /unknown step type "container.restrat" \(did you mean "container.restart"\?\); allowed: container.inspect, .*approval, sleep, escalate/,
      11,
    );
  });

  void it('rejects duplicate step ids, naming the first use', () => {
    expectProblem(
      GOOD.replace('id: tell', 'id: inspect').replace('goto: tell', 'goto: inspect'),
      18,
      /duplicate step id "inspect" \(already used on line 8\)/,
      9,
    );
  });

  void it('rejects a goto to a step that does not exist, listing the step ids', () => {
    expectProblem(
      GOOD.replace('goto: tell', 'goto: tel'),
      17,
      /onFailure goto "tel" names no step \(did you mean "tell"\?\); step ids: inspect, restart, tell/,
      24,
    );
  });

  void it('rejects phases that go backwards', () => {
    expectProblem(
      GOOD.replace('phase: escalate', 'phase: assess'),
      19,
      /phase "assess" after step "restart" in "remediate"; phases must not go backwards: detect → assess → remediate → validate → escalate/,
      12,
    );
  });

  void it('rejects a bad CEL condition at the when value', () => {
    expectProblem(
      GOOD.replace("'!steps.inspect.output.running'", "'steps.inspect.output.running =='"),
      15,
      /step "restart" when: Unexpected token: EOF/,
      11,
    );
  });

  void it('rejects a condition whose type is not boolean', () => {
    expectProblem(
      GOOD.replace("'!steps.inspect.output.running'", "'1 + 2'"),
      15,
      /a condition must be a boolean, but this expression is int/,
    );
  });

  void it('rejects a bad template at the string holding it', () => {
    expectProblem(
      GOOD.replace('text: "help"', 'text: "help {{ labels.x + }}"'),
      21,
      /bad template \{\{ labels.x \+ \}\}: Unexpected token: EOF/,
      35,
    );
    expectProblem(GOOD.replace('text: "help"', 'text: "help {{ labels.x"'), 21, /unterminated template/);
  });

  void it('rejects templates reading steps that do not exist, run later, or undeclared variables', () => {
    expectProblem(
      GOOD.replace('text: "help"', 'text: "{{ steps.nope.output }}"'),
      21,
      /reads steps.nope, but there is no step "nope"/,
    );
    expectProblem(
      GOOD.replace(
        'with: { container: "{{ vars.container }}" }\n  - id: restart',
        'with: { container: "{{ steps.restart.output }}" }\n  - id: restart',
      ),
      11,
      /reads steps.restart, which runs later/,
    );
    expectProblem(
      GOOD.replace('text: "help"', 'text: "{{ vars.containr }}"'),
      21,
      /reads vars.containr, but no such variable is declared before it \(did you mean "container"\?\)/,
    );
    expectProblem(
      GOOD.replace('container: "{{ labels.container }}"', 'container: "{{ steps.inspect.output }}"'),
      6,
      /reads steps, but no step has run when this is rendered/,
    );
  });

  void it('rejects a bad duration, saying what a duration looks like', () => {
    expectProblem(
      GOOD.replace('steps:', 'holdOpen: 5 minutes\nsteps:'),
      7,
      /holdOpen "5 minutes" is not a duration; write e.g. 500ms, 30s, 5m, 1h/,
      11,
    );
    expectProblem(
      GOOD.replace('    onFailure: { goto: tell }', '    timeout: soon'),
      17,
      /step "restart" timeout "soon" is not a duration/,
    );
  });

  void it('rejects a bad matcher and an invalid regex', () => {
    expectProblem(
      GOOD.replace('alertname = "X"', 'alertname == "X"'),
      4,
      /invalid regular expression|has no operator|quote a value/,
    );
    expectProblem(
      GOOD.replace('alertname = "X"', 'severity =~ "(crit"'),
      4,
      /matcher "severity =~ "\(crit"": invalid regular expression/,
      5,
    );
    expectProblem(
      GOOD.replace('alertname = "X"', `'="X"'`),
      4,
      /has no label name; expected name="value", name!="value", name=~"regex" or name!~"regex"/,
    );
  });

  void it('rejects regexes RE2 cannot compile, in matchers and in matches(), at their position', () => {
    expectProblem(
      GOOD.replace('alertname = "X"', 'job =~ "(a)\\\\1"'),
      4,
      /matcher "job =~ "\(a\)\\\\1"": invalid regular expression \(RE2, as in Alertmanager\): invalid escape sequence/,
      5,
    );
    expectProblem(
      GOOD.replace("'!steps.inspect.output.running'", `'labels.instance.matches("a(?=b)")'`),
      15,
      /step "restart" when: .*not a valid RE2 regular expression: invalid or unsupported Perl syntax/,
      11,
    );
  });

  void it('rejects missing required parameters per step type', () => {
    expectProblem(
      GOOD.replace(
        '    with: { container: "{{ vars.container }}" }\n    onFailure',
        '    with: { stopTimeout: 5 }\n    onFailure',
      ),
      16,
      /step "restart" \(container.restart\) is missing the required parameter "container" in with/,
      11,
    );
    const failover = GOOD.replace('type: container.restart', 'type: container.failover').replace(
      'with: { container: "{{ vars.container }}" }\n    onFailure',
      'with: { primary: a }\n    onFailure',
    );
    expectProblem(failover, 16, /missing the required parameter "standby"/);
    expectProblem(
      GOOD.replace(
        'type: notify\n    with: { channel: slack, text: "help" }',
        'type: probe.http\n    with: { method: GET }',
      ),
      21,
      /\(probe.http\) is missing the required parameter "url"/,
    );
    // A step without any `with` reports at the step itself.
    expectProblem(
      GOOD.replace('    with: { channel: slack, text: "help" }\n', ''),
      18,
      /step "tell" \(notify\) is missing the required parameter "channel"/,
    );
  });

  void it('rejects unknown parameters and badly typed ones', () => {
    expectProblem(
      GOOD.replace('with: { channel: slack, text: "help" }', 'with: { channel: slack, txt: "help" }'),
      21,
      /unknown parameter "txt" for notify \(did you mean "text"\?\); notify takes: channel, to, subject, text/,
      29,
    );
    expectProblem(
      GOOD.replace('with: { channel: slack, text: "help" }', 'with: { channel: pager, text: "help" }'),
      21,
      /notify parameter "channel" is "pager"; allowed: slack, email/,
    );
    expectProblem(
      GOOD.replace(
        'with: { container: "{{ vars.container }}" }\n    onFailure',
        'with: { container: x, stopTimeout: soon }\n    onFailure',
      ),
      16,
      /container.restart parameter "stopTimeout" must be a whole number, not string "soon"/,
    );
  });

  void it('checks container.logs parameters: tail from 1 to 1000, since a duration', () => {
    const logsStep = (params: string): string =>
      GOOD.replace(
        '  - id: restart\n',
        `  - id: logs\n    phase: detect\n    type: container.logs\n    with: ${params}\n  - id: restart\n`,
      );
    assert.deepEqual(problemsOf(logsStep('{ container: api, tail: 50, since: 10m }')), []);
    assert.deepEqual(problemsOf(logsStep('{ container: "{{ vars.container }}", tail: "{{ 20 }}" }')), []);
    expectProblem(
      logsStep('{ container: api, tail: 5000 }'),
      15,
      /^container.logs parameter "tail" is 5000 but must be at most 1000$/,
      35,
    );
    expectProblem(
      logsStep('{ container: api, tail: 0 }'),
      15,
      /^container.logs parameter "tail" is 0 but must be at least 1$/,
      35,
    );
    expectProblem(
      logsStep('{ container: api, tail: lots }'),
      15,
      /^container.logs parameter "tail" must be a whole number, not string "lots"$/,
      35,
    );
    expectProblem(
      logsStep('{ container: api, since: yesterday }'),
      15,
      /^container.logs parameter "since" "yesterday" is not a duration/,
      36,
    );
    expectProblem(
      logsStep('{ tail: 5 }'),
      15,
      /step "logs" \(container.logs\) is missing the required parameter "container"/,
    );
  });

  void it('allows a template in place of any parameter value', () => {
    const text = GOOD.replace(
      'with: { container: "{{ vars.container }}" }\n    onFailure',
      'with: { container: x, stopTimeout: "{{ 5 }}" }\n    onFailure',
    );
    assert.deepEqual(problemsOf(text), []);
  });

  void it('rejects retry values out of range', () => {
    expectProblem(
      GOOD.replace(
        '    onFailure: { goto: tell }',
        '    retry: { maximumAttempts: 0, backoffCoefficient: 0.5 }',
      ),
      17,
      /step "restart" retry.maximumAttempts is 0 but must be at least 1/,
      31,
    );
    expectProblem(
      GOOD.replace(
        '    onFailure: { goto: tell }',
        '    retry: { maximumAttempts: 0, backoffCoefficient: 0.5 }',
      ),
      17,
      /retry.backoffCoefficient is 0.5 but must be at least 1/,
      54,
    );
  });

  void it('rejects an empty steps list and a missing one', () => {
    expectProblem(
      GOOD.slice(0, GOOD.indexOf('steps:')) + 'steps: []\n',
      7,
      /steps is empty; a runbook needs at least one step/,
      8,
    );
    expectProblem(
      GOOD.slice(0, GOOD.indexOf('steps:')),
      1,
      /the runbook is missing the required key "steps"/,
    );
  });

  void it('rejects a bad runbook name, saying what names look like', () => {
    expectProblem(
      GOOD.replace('name: sample', 'name: Sample_Runbook'),
      1,
      /name "Sample_Runbook" must be lowercase letters, digits and single dashes/,
      7,
    );
  });

  void it('rejects host on a non-container step', () => {
    expectProblem(
      GOOD.replace(
        '    with: { channel: slack, text: "help" }',
        '    host: edge-1\n    with: { channel: slack, text: "help" }',
      ),
      21,
      /step "tell" is notify; host applies to container.\* steps only/,
      5,
    );
    const ok = GOOD.replace('    onFailure: { goto: tell }', '    host: edge-1');
    assert.deepEqual(problemsOf(ok), []);
  });

  void it('rejects an approval without approvers or groups, and more approvals than approvers', () => {
    const approval = GOOD.replace(
      'type: notify\n    with: { channel: slack, text: "help" }',
      'type: approval\n    with: { prompt: "go?" }',
    );
    expectProblem(
      approval,
      21,
      /step "tell" \(approval\) names nobody who may approve; set with.approvers \(identities\) and\/or with.groups/,
    );
    const tooFew = GOOD.replace(
      'type: notify\n    with: { channel: slack, text: "help" }',
      'type: approval\n    with: { approvers: [alice], minApprovers: 2 }',
    );
    expectProblem(tooFew, 21, /needs 2 approvers but names only 1/);
  });

  void it('rejects a bad onFailure with the allowed forms', () => {
    expectProblem(
      GOOD.replace('onFailure: { goto: tell }', 'onFailure: retry'),
      17,
      /step "restart" onFailure must be abort, continue, escalate or \{ goto: step-id \}, not string "retry"/,
      16,
    );
  });

  void it('rejects an enum value with the allowed ones', () => {
    expectProblem(
      GOOD.replace('steps:', 'onResolvedBeforeAction: halt\nsteps:'),
      7,
      /onResolvedBeforeAction has the value "halt"; allowed: stop, continue/,
      25,
    );
  });

  void it('reports YAML syntax errors and duplicate keys with their position', () => {
    expectProblem(
      GOOD.replace('description: test', 'description: test\nname: again'),
      3,
      /YAML: Map keys must be unique/,
      1,
    );
    expectProblem('name: x\nsteps: [\n', 3, /YAML: /);
  });

  void it('reports every problem of a file at once', () => {
    const broken = GOOD.replace('name: sample', 'name: Bad')
      .replace('type: container.restart', 'type: nope')
      .replace('goto: tell', 'goto: nowhere');
    const lines = problemsOf(broken).map((p) => p.line);
    assert.deepEqual(lines, [1, 14, 17]);
  });

  void it('lints the sample runbooks clean, in routing order', () => {
    const { problems, runbooks, files } = checkRunbookDir(runbooksDir);
    assert.deepEqual(problems, []);
    assert.deepEqual(files, [
      '10-restart-container.yaml',
      '20-failover.yaml',
      '30-failover-to-first-healthy-standby.ts',
      '90-escalate-only.yaml',
    ]);
    assert.deepEqual(
      runbooks.map((r) => r.runbook.name),
      ['restart-container', 'failover', 'failover-to-first-healthy-standby', 'escalate-only'],
    );
  });

  void it('keeps runbooks/runbook.schema.json identical to the generated schema, and the samples valid against it', () => {
    const onDisk: unknown = JSON.parse(readFileSync(path.join(runbooksDir, 'runbook.schema.json'), 'utf8'));
    assert.deepEqual(onDisk, runbookSchema(true), 'run `npm run schema:runbooks` to regenerate');
    const validate = new Ajv({ allErrors: true, strict: false }).compile(onDisk as object);
    for (const file of ['10-restart-container.yaml', '20-failover.yaml', '90-escalate-only.yaml']) {
      const text = readFileSync(path.join(runbooksDir, file), 'utf8');
      assert.match(text, /^# yaml-language-server: \$schema=\.\/runbook\.schema\.json/);
      assert.equal(validate(parseYaml(text)), true, `${file}: ${JSON.stringify(validate.errors)}`);
    }
    // The editor schema knows each type's parameters: a failover without standby fails it.
    assert.equal(
      validate(parseYaml(GOOD.replace('type: container.inspect', 'type: container.failover'))),
      false,
    );
  });
});
