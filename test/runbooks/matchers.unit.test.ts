// Alertmanager matcher syntax and semantics: all four operators, quoting and escapes, anchored
// regexes, and a missing label matching as the empty string.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MatcherError,
  formatMatcher,
  matches,
  matchesAll,
  parseMatcher,
} from '../../src/runbook-lang/matchers';

void describe('parseMatcher', () => {
  void it('parses all four operators with and without spaces', () => {
    assert.deepEqual(parseMatcher('alertname="Down"'), { name: 'alertname', op: '=', value: 'Down' });
    assert.deepEqual(parseMatcher('  job != "api" '), { name: 'job', op: '!=', value: 'api' });
    assert.deepEqual(parseMatcher('severity =~ "critical|warning"'), {
      name: 'severity',
      op: '=~',
      value: 'critical|warning',
    });
    assert.deepEqual(parseMatcher('env!~"dev.*"'), { name: 'env', op: '!~', value: 'dev.*' });
  });

  void it('accepts unquoted values as Alertmanager does', () => {
    assert.deepEqual(parseMatcher('severity = page'), { name: 'severity', op: '=', value: 'page' });
    assert.deepEqual(parseMatcher('instance=~edge-.*'), { name: 'instance', op: '=~', value: 'edge-.*' });
    assert.deepEqual(parseMatcher('x='), { name: 'x', op: '=', value: '' });
  });

  void it('unescapes quoted values', () => {
    assert.equal(parseMatcher('msg="say \\"hi\\""').value, 'say "hi"');
    assert.equal(parseMatcher('path="C:\\\\tmp"').value, 'C:\\tmp');
    assert.equal(parseMatcher('text="a\\nb"').value, 'a\nb');
    // Regex escapes survive unquoting.
    assert.equal(parseMatcher('code=~"5\\d\\d"').value, '5\\d\\d');
    assert.equal(parseMatcher('label="a,b c"').value, 'a,b c');
  });

  void it('rejects malformed matchers with a message naming the allowed forms', () => {
    const cases: [string, RegExp][] = [
      ['="x"', /has no label name/],
      ['1abc="x"', /is not a label name/],
      ['alertname', /has no operator/],
      ['alertname == "x"', /quote a value|has text after/],
      ['a="unterminated', /unterminated quoted value/],
      ['a="x" extra', /text after the closing quote/],
      ['a=two words', /quote a value holding spaces/],
      ['a=~"(open"', /invalid regular expression/],
    ];
    for (const [text, pattern] of cases) {
      assert.throws(
        () => parseMatcher(text),
        (error: unknown) => {
          assert.ok(error instanceof MatcherError, text);
          assert.match(error.message, pattern, text);
          assert.match(error.message, /name="value"|label name|regular expression/, text);
          return true;
        },
      );
    }
  });

  void it('formats matchers back in Alertmanager syntax', () => {
    assert.equal(formatMatcher(parseMatcher('a =~ "x|y"')), 'a=~"x|y"');
    assert.equal(formatMatcher(parseMatcher('msg="say \\"hi\\""')), 'msg="say \\"hi\\""');
  });
});

void describe('matching', () => {
  const labels = { alertname: 'ContainerUnhealthy', severity: 'critical', instance: 'edge-1' };

  void it('applies each operator', () => {
    assert.equal(matches(parseMatcher('severity="critical"'), labels), true);
    assert.equal(matches(parseMatcher('severity="warning"'), labels), false);
    assert.equal(matches(parseMatcher('severity!="warning"'), labels), true);
    assert.equal(matches(parseMatcher('severity!="critical"'), labels), false);
    assert.equal(matches(parseMatcher('severity=~"crit.*"'), labels), true);
    assert.equal(matches(parseMatcher('severity!~"crit.*"'), labels), false);
  });

  void it('anchors regexes at both ends', () => {
    assert.equal(matches(parseMatcher('severity=~"crit"'), labels), false);
    assert.equal(matches(parseMatcher('severity=~"ritical"'), labels), false);
    assert.equal(matches(parseMatcher('instance=~"edge-1|edge-2"'), labels), true);
    // Without the group, ^a|b$ would match "xb"; anchoring wraps the alternation.
    assert.equal(matches(parseMatcher('instance=~"edge|1"'), labels), false);
    assert.equal(matches(parseMatcher('instance!~"edge"'), labels), true);
  });

  void it('treats a missing label as the empty string', () => {
    assert.equal(matches(parseMatcher('team=""'), labels), true);
    assert.equal(matches(parseMatcher('team!=""'), labels), false);
    assert.equal(matches(parseMatcher('team=~".*"'), labels), true);
    assert.equal(matches(parseMatcher('team=~".+"'), labels), false);
    assert.equal(matches(parseMatcher('team!~".+"'), labels), true);
    // Not fooled by inherited properties.
    assert.equal(matches(parseMatcher('constructor=""'), labels), true);
  });

  void it('requires every matcher to fit', () => {
    const all = ['alertname="ContainerUnhealthy"', 'severity=~"critical|warning"'].map(parseMatcher);
    assert.equal(matchesAll(all, labels), true);
    assert.equal(matchesAll(all, { ...labels, severity: 'info' }), false);
    assert.equal(matchesAll([], labels), true);
  });
});

void describe('RE2 matchers, as Alertmanager', () => {
  void it('a catastrophic pattern against a long label is linear', () => {
    const matcher = parseMatcher('instance =~ "(a+)+b"');
    assert.equal(matches(matcher, { instance: 'a'.repeat(30) }), false);
    assert.equal(matches(matcher, { instance: `${'a'.repeat(30)}b` }), true);
  });

  void it('takes RE2 syntax and refuses what RE2 cannot compile', () => {
    assert.equal(matches(parseMatcher('job =~ "(?P<name>api)-.*"'), { job: 'api-1' }), true);
    assert.throws(() => parseMatcher('job =~ "(a)\\\\1"'), /invalid regular expression \(RE2/);
    assert.throws(() => parseMatcher('job =~ "a(?=b)"'), /invalid regular expression \(RE2/);
  });

  void it('label names that are JavaScript property names are plain labels', () => {
    const labels = JSON.parse('{"constructor":"c","__proto__":"p"}') as Record<string, string>;
    assert.equal(matchesAll([parseMatcher('constructor="c"'), parseMatcher('__proto__="p"')], labels), true);
    assert.equal(matches(parseMatcher('toString=""'), labels), true, 'a missing label is the empty string');
  });
});
