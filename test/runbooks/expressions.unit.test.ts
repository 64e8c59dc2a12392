// CEL conditions and templates: what they can see, what they produce (plain JSON), and their errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ExpressionError,
  checkCondition,
  checkExpression,
  evaluateCondition,
  evaluateExpression,
  memberReferences,
  parseTemplate,
  renderTemplates,
  renderTemplatesPartially,
  renderVariables,
  templateExpressions,
} from '../../src/runbook-lang/expressions';
import { makeScope, type ExpressionScope } from '../../src/runbook-lang/scope';

function scope(): ExpressionScope {
  return makeScope({
    alert: {
      status: 'firing',
      labels: { alertname: 'ContainerUnhealthy', severity: 'critical', container: 'api', instance: 'edge-1' },
      annotations: { summary: 'api is unhealthy' },
      startsAt: '2024-05-01T10:00:00Z',
      fingerprint: 'abc123',
      generatorURL: 'http://prometheus/graph',
    },
    vars: { replicas: 3, ratio: 0.25, names: ['a', 'b'], nested: { port: 8080 } },
    steps: {
      inspect: { status: 'succeeded', output: { running: false, health: 'unhealthy', restartCount: 4 } },
      impact: { status: 'failed', output: null, error: { type: 'Error', message: 'no prometheus' } },
    },
    incident: { id: 'incident/x/y', target: 'edge-1/api', runbook: 'x', escalated: false, dryRun: true },
  });
}

void describe('conditions', () => {
  void it('evaluates over labels, annotations, alert, vars, steps and incident', () => {
    const s = scope();
    assert.equal(evaluateCondition('labels.severity == "critical"', s), true);
    assert.equal(evaluateCondition('labels.severity in ["warning", "info"]', s), false);
    assert.equal(evaluateCondition('annotations.summary.contains("unhealthy")', s), true);
    assert.equal(evaluateCondition('alert.status == "firing" && alert.fingerprint == "abc123"', s), true);
    assert.equal(
      evaluateCondition('!steps.inspect.output.running || steps.inspect.output.health == "unhealthy"', s),
      true,
    );
    assert.equal(
      evaluateCondition('steps.impact.status == "failed" && steps.impact.error.message != ""', s),
      true,
    );
    assert.equal(
      evaluateCondition('incident.dryRun && !incident.escalated && incident.alertFiring', s),
      true,
    );
    assert.equal(evaluateCondition('has(labels.team)', s), false);
  });

  void it('compares and computes with JSON numbers and CEL int literals alike', () => {
    const s = scope();
    assert.equal(evaluateCondition('steps.inspect.output.restartCount >= 3', s), true);
    assert.equal(evaluateCondition('vars.replicas / 2 > 1', s), true);
    assert.equal(evaluateExpression('vars.replicas / 2', s), 1.5);
    assert.equal(evaluateExpression('vars.replicas + 1', s), 4);
    assert.equal(evaluateExpression('2 * vars.ratio', s), 0.5);
    assert.equal(evaluateExpression('vars.replicas % 2', s), 1);
    assert.equal(evaluateExpression('size(vars.names) * vars.replicas', s), 6);
    // Two int literals stay CEL integer arithmetic.
    assert.equal(evaluateExpression('7 / 2', s), 3);
  });

  void it('converts BigInt results to plain numbers, also inside lists and maps', () => {
    const s = scope();
    const size = evaluateExpression('size(labels)', s);
    assert.equal(typeof size, 'number');
    assert.equal(size, 4);
    assert.deepEqual(evaluateExpression('[1, 2, size(vars.names)]', s), [1, 2, 2]);
    assert.deepEqual(evaluateExpression('{"n": 1, "m": {"k": 2}}', s), { n: 1, m: { k: 2 } });
    assert.deepEqual(JSON.parse(JSON.stringify(evaluateExpression('{"n": 10}', s))), { n: 10 });
  });

  void it('requires a boolean result', () => {
    assert.throws(
      () => evaluateCondition('labels.severity', scope()),
      (error: unknown) =>
        error instanceof ExpressionError && /produced string "critical", not a boolean/.test(error.message),
    );
    assert.throws(() => evaluateCondition('vars.replicas', scope()), /produced number 3, not a boolean/);
  });

  void it('reports a missing key, an unknown name, a type mismatch and a syntax error clearly', () => {
    assert.throws(
      () => evaluateCondition('labels.team == "x"', scope()),
      /cannot evaluate "labels.team == "x"": no such key "team" \(test for it first with has\(\)/,
    );
    assert.throws(
      () => evaluateCondition('process.env.HOME == ""', scope()),
      /unknown name "process"; expressions can use alert, labels, annotations, vars, steps, incident/,
    );
    assert.throws(() => evaluateExpression('"a" + 1', scope()), ExpressionError);
    assert.throws(() => evaluateExpression('labels.severity ==', scope()), /invalid expression/);
  });

  void it('reaches nothing outside the scope: no this, globals, prototypes or constructors', () => {
    const s = scope();
    for (const expression of [
      'this',
      'globalThis',
      'require("fs")',
      'labels.constructor',
      'labels["constructor"]',
      'labels.__proto__',
      'labels.toString',
      'vars.names.constructor',
      '"".constructor',
      'Function("return 1")',
    ]) {
      assert.throws(() => evaluateExpression(expression, s), ExpressionError, expression);
    }
  });

  void it('checks syntax, names and condition types without evaluating', () => {
    assert.equal(checkExpression('labels.a == "b"'), undefined);
    assert.match(checkExpression('labels.a ==') ?? '', /Unexpected token/);
    assert.match(checkExpression('lables.a') ?? '', /unknown name "lables"/);
    assert.match(checkExpression('') ?? '', /empty/);
    assert.equal(checkCondition('steps.x.output.running'), undefined, 'dyn may be boolean at run time');
    assert.match(checkCondition('"yes"') ?? '', /must be a boolean, but this expression is string/);
  });
});

void describe('templates', () => {
  void it('yields the raw value for a string that is exactly one template', () => {
    const s = scope();
    assert.deepEqual(
      renderTemplates(
        {
          count: '{{ vars.replicas }}',
          on: '{{ steps.inspect.output.running }}',
          obj: '{{ vars.nested }}',
          list: '{{ vars.names }}',
          n: '{{ size(labels) }}',
        },
        s,
      ),
      { count: 3, on: false, obj: { port: 8080 }, list: ['a', 'b'], n: 4 },
    );
  });

  void it('interpolates mixed text: null as empty, objects as JSON', () => {
    const s = scope();
    assert.equal(renderTemplates('{{ labels.container }} on {{ labels.instance }}', s), 'api on edge-1');
    assert.equal(renderTemplates('port={{ vars.nested.port }} n={{ size(vars.names) }}', s), 'port=8080 n=2');
    assert.equal(renderTemplates('out=[{{ steps.impact.output }}]', s), 'out=[]');
    assert.equal(renderTemplates('cfg={{ vars.nested }}', s), 'cfg={"port":8080}');
    assert.equal(renderTemplates('{{ labels.severity == "critical" }}!', s), 'true!');
  });

  void it('renders deeply through lists and maps and leaves non-strings alone', () => {
    const s = scope();
    assert.deepEqual(
      renderTemplates(
        { a: ['{{ labels.container }}', 5, true, null], b: { c: 'x-{{ alert.fingerprint }}' } },
        s,
      ),
      {
        a: ['api', 5, true, null],
        b: { c: 'x-abc123' },
      },
    );
  });

  void it('does not end a template at }} inside a quoted string', () => {
    assert.deepEqual(parseTemplate('a {{ "}}" + labels.x }} b'), [
      { text: 'a ' },
      { expression: '"}}" + labels.x', source: '{{ "}}" + labels.x }}' },
      { text: ' b' },
    ]);
    assert.equal(renderTemplates('{{ "}}" + labels.container }}', scope()), '}}api');
  });

  void it('rejects unterminated and empty templates', () => {
    assert.throws(() => renderTemplates('{{ labels.x', scope()), /unterminated template/);
    assert.throws(() => parseTemplate('a {{ }} b'), /empty template/);
  });

  void it('lists template expressions for validation', () => {
    assert.deepEqual(
      templateExpressions({ a: 'x {{ labels.a }} {{ vars.b }}', b: ['{{ steps.c.output }}'], n: 1 }),
      ['labels.a', 'vars.b', 'steps.c.output'],
    );
    assert.deepEqual(
      memberReferences('steps.inspect.output.running && steps["wait-healthy"].status == "x"', 'steps').sort(),
      ['inspect', 'wait-healthy'],
    );
  });

  void it('renders variables in order, each seeing the earlier ones', () => {
    const s = scope();
    const vars = renderVariables(
      { container: '{{ labels.container }}', url: 'http://{{ vars.container }}:8080/health' },
      s,
    );
    assert.deepEqual(vars, { container: 'api', url: 'http://api:8080/health' });
    assert.throws(
      () => renderVariables({ bad: '{{ labels.nope }}' }, s),
      /variable "bad": .*no such key "nope"/,
    );
  });

  void it('renders partially: templates reading steps stay as written', () => {
    const s = makeScope({ alert: scope().alert, vars: { c: 'api' } });
    const result = renderTemplatesPartially(
      {
        container: '{{ vars.c }}',
        text: 'was {{ steps.inspect.output.health }} for {{ vars.c }}',
        raw: '{{ steps.x.output }}',
      },
      s,
    );
    assert.deepEqual(result.value, {
      container: 'api',
      text: 'was {{ steps.inspect.output.health }} for api',
      raw: '{{ steps.x.output }}',
    });
    assert.deepEqual(result.unresolved, ['steps.inspect.output.health', 'steps.x.output']);
  });
});

void describe('hostile input', () => {
  const hostile = (): ExpressionScope =>
    makeScope({
      alert: {
        status: 'firing',
        labels: JSON.parse(
          `{"instance":"${'a'.repeat(30)}!","constructor":"c","__proto__":"p","toString":"t","hasOwnProperty":"h"}`,
        ) as Record<string, string>,
        annotations: JSON.parse('{"constructor":"ac","__proto__":"ap"}') as Record<string, string>,
        startsAt: '2024-05-01T10:00:00Z',
        fingerprint: 'abc',
        generatorURL: '',
      },
    });

  void it('matches() is RE2: linear on a catastrophic pattern, RE2 syntax, unanchored', () => {
    const s = hostile();
    assert.equal(evaluateCondition('labels.instance.matches("^(a+)+$")', s), false);
    assert.equal(evaluateCondition('labels.instance.matches("a+!")', s), true);
    // (?P<name>...) is RE2 syntax that JavaScript's RegExp refuses.
    assert.equal(evaluateCondition('"xa".matches("(?P<n>a)")', s), true);
    assert.throws(() => evaluateCondition('labels.instance.matches(labels.constructor + "(")', s), /RE2/);
  });

  void it('refuses at check time a literal pattern RE2 cannot compile', () => {
    assert.match(
      checkCondition('labels.instance.matches("(a)\\\\1")') ?? '',
      /not a valid RE2 regular expression/,
    );
    assert.match(
      checkCondition('labels.instance.matches("a(?=b)")') ?? '',
      /not a valid RE2 regular expression/,
    );
    assert.equal(checkCondition('labels.instance.matches("^(a+)+$")'), undefined);
    assert.match(checkCondition('labels.instance.matches(1)') ?? '', /strings/);
  });

  void it('reads labels and annotations named constructor, __proto__, toString, hasOwnProperty', () => {
    const s = hostile();
    assert.equal(evaluateExpression('labels.constructor', s), 'c');
    assert.equal(evaluateExpression('labels["__proto__"]', s), 'p');
    assert.equal(evaluateExpression('labels.toString + labels.hasOwnProperty', s), 'th');
    assert.equal(evaluateExpression('annotations.constructor', s), 'ac');
    assert.equal(evaluateCondition('has(labels.constructor) && "__proto__" in annotations', s), true);
    assert.equal(evaluateExpression('size(labels)', s), 5);
    const rendered = renderTemplates({ all: '{{ labels }}', text: '{{ labels.constructor }}' }, s) as {
      all: Record<string, string>;
      text: string;
    };
    assert.equal(rendered.text, 'c');
    assert.deepEqual(Object.keys(rendered.all), [
      'instance',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
    ]);
    assert.equal(Object.getOwnPropertyDescriptor(rendered.all, '__proto__')?.value, 'p');
    assert.equal(Object.getPrototypeOf(rendered.all), Object.prototype);
  });
});
