// The receiver's own payload encoding (src/receiver/incident-payloads.ts) against the SDK's: the
// same bytes under the default data converter, whatever the alert's text, and the SDK's own path
// for any other converter; and the bounded set of recently seen incidents (recent-incidents.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { encodeToPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { encodeIncidentInput, encodeNotification } from '../../src/receiver/incident-payloads';
import { RecentIncidents } from '../../src/receiver/recent-incidents';
import { loadRunbooks } from '../../src/runbooks/catalog';
import { incidentWorkflowId, type AlertNotification, type IncidentInput } from '../../src/workflows/contract';
import { runbookDir } from './helpers';

const snapshot = loadRunbooks(runbookDir()).runbooks[0];
if (!snapshot) throw new Error('the intake test runbook did not load');

const weird = `$(rm -rf /); <script>"x"</script> \\ 日本語 🚨 \u0000 \ud800 lone "snapshot":0 end`;

function inputFor(target: string, receiver = 'rebound'): IncidentInput {
  const incidentId = incidentWorkflowId(snapshot?.runbook.name ?? '', target);
  return {
    incidentId,
    targetKey: target,
    snapshot: snapshot as IncidentInput['snapshot'],
    dryRun: false,
    triggeredBy: `alertmanager:${receiver}`,
    safetyScope: 'queue',
  };
}

function notificationFor(target: string): AlertNotification {
  return {
    alert: {
      status: 'firing',
      labels: { alertname: 'IntakeTest', instance: target },
      annotations: { summary: weird },
      startsAt: '2024-05-01T12:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.test/graph',
      fingerprint: 'f1',
    },
    source: 'alertmanager',
    receiver: weird,
    receivedAt: '2024-05-01T12:00:01Z',
  };
}

function same(actual: Payload[] | undefined, expected: Payload[] | undefined): void {
  assert.equal(actual?.length, 1);
  assert.deepEqual(
    { ...actual?.[0], data: Buffer.from(actual?.[0]?.data ?? []) },
    { ...expected?.[0], data: Buffer.from(expected?.[0]?.data ?? []) },
  );
}

describe('receiver payload encoding', () => {
  const converter = loadDataConverter();

  it('makes the bytes the SDK makes under the default converter, for any text', async () => {
    for (const target of ['host-1', weird, '', `\u0000snapshot-`]) {
      for (const receiver of ['rebound', weird]) {
        const input = inputFor(target, receiver);
        same(await encodeIncidentInput(converter, input), await encodeToPayloads(converter, input));
        // Twice: the second time from the snapshot's cached JSON.
        same(await encodeIncidentInput(converter, input), await encodeToPayloads(converter, input));
      }
      const notification = notificationFor(target);
      same(
        await encodeNotification(converter, notification),
        await encodeToPayloads(converter, notification),
      );
    }
  });

  it('decodes to the input it was given', async () => {
    const input = inputFor(weird);
    const [payload] = (await encodeIncidentInput(converter, input)) ?? [];
    assert.deepEqual(JSON.parse(Buffer.from(payload?.data ?? []).toString('utf8')), input);
  });

  it('leaves any other converter to the SDK', async () => {
    // A codec that marks what it encoded: only the SDK's path runs codecs.
    const codec: PayloadCodec = {
      encode: (payloads) =>
        Promise.resolve(
          payloads.map((p) => ({ ...p, metadata: { ...p.metadata, marked: new Uint8Array([1]) } })),
        ),
      decode: (payloads) => Promise.resolve(payloads),
    };
    const withCodec = loadDataConverter({ payloadCodecs: [codec] });
    const input = inputFor('host-2');
    const [encoded] = (await encodeIncidentInput(withCodec, input)) ?? [];
    assert.deepEqual(encoded?.metadata?.marked, new Uint8Array([1]));
    const [signal] = (await encodeNotification(withCodec, notificationFor('host-2'))) ?? [];
    assert.deepEqual(signal?.metadata?.marked, new Uint8Array([1]));
  });
});

describe('recently seen incidents', () => {
  it('keeps the most recently used ids up to its capacity', () => {
    const recent = new RecentIncidents(3);
    for (const id of ['a', 'b', 'c']) recent.add(id);
    recent.add('a'); // used again: now the newest
    recent.add('d'); // evicts b, the least recently used
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((id) => recent.has(id)),
      [true, false, true, true],
    );
    assert.equal(recent.size, 3);
    recent.delete('c');
    assert.equal(recent.has('c'), false);
    assert.equal(recent.size, 2);
  });
});
