// Masking of container log lines: known secret values and credential-shaped values (no server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskLogLine } from '../../src/activities/log-masking';

void describe('maskLogLine', () => {
  void it('masks every occurrence of a known secret, the longest first', () => {
    assert.equal(maskLogLine('a s3cret-long b s3cret c', ['s3cret', 's3cret-long']), 'a *** b *** c');
  });

  void it('leaves values too short to scrub by value, and ordinary words, alone', () => {
    assert.equal(
      maskLogLine('status on, 42 tokens processed', ['on', '42']),
      'status on, 42 tokens processed',
    );
  });

  void it('masks the beginning of a known secret that ends a cut line, only when the line was cut', () => {
    assert.equal(maskLogLine('value abcdefg', ['abcdefghij'], true), 'value ***');
    assert.equal(maskLogLine('value abcdefg', ['abcdefghij'], false), 'value abcdefg');
  });

  void it('masks credential-shaped values in the usual spellings', () => {
    const cases: Array<[string, string]> = [
      ['MYSQL_ROOT_PASSWORD=x1', 'MYSQL_ROOT_PASSWORD=***'],
      ['password: "hunter2"', 'password: "***"'],
      ["{'api_key': 'k-1'}", "{'api_key': '***'}"],
      ['X-Api-Key: abc', 'X-Api-Key: ***'],
      ['aws_secret_access_key = AKIA/xyz+1', 'aws_secret_access_key = ***'],
      ['Proxy-Authorization: Basic dXNlcjpwYXNz', 'Proxy-Authorization: Basic ***'],
      ['authorization=tok123', 'authorization=***'],
      ['sent bearer eyJhbGciOiJIUzI1NiJ9.x.y', 'sent bearer ***'],
      ['redis://:pw@cache:6379', 'redis://:***@cache:6379'],
      ['https://user:p%40ss@host/path', 'https://user:***@host/path'],
    ];
    for (const [line, expected] of cases) assert.equal(maskLogLine(line, []), expected, line);
  });

  void it('keeps lines without credentials as they are', () => {
    for (const line of ['GET /healthz 200 3ms', 'https://example.com/a:b@c', 'user=app host=db'])
      assert.equal(maskLogLine(line, []), line);
  });

  void it('handles a hostile line of repeated key-like text without blowing up', () => {
    const line = 'password'.repeat(5_000) + '=' + 'a'.repeat(50_000);
    assert.ok(maskLogLine(line, []).endsWith('=***'));
  });
});
