// The receiver's payloads for Temporal, encoded as the client's data converter would: the incident
// input and the alert notification. With the default converter (JSON, no codecs, no external
// storage) the bytes are built here with Node's own UTF-8 encoder, and the runbook snapshot inside
// the input, the same object for every alert of a runbook, is turned into JSON once; any other
// converter gets the SDK's encodeToPayloads, unchanged.
import type { LoadedDataConverter, Payload } from '@temporalio/common';
import { METADATA_ENCODING_KEY, encodingKeys } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common/lib/converter/payload-converter';
import { encodeToPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { randomUUID } from 'node:crypto';
import type { RunbookSnapshot } from '../runbook-lang/types';
import type { AlertNotification, IncidentInput } from '../workflows/contract';

// The snapshot's JSON bytes, per snapshot object: the catalog hands out the same loaded snapshot
// for every alert of a runbook and nothing changes it after loading; a catalog built anew brings
// new objects, which get entries of their own (the old ones go with their objects).
const snapshotJson = new WeakMap<RunbookSnapshot, Buffer>();
// Stands in for the snapshot while the rest of the input is stringified; random, so no alert's
// text can contain it (and it is checked to occur exactly once before it is replaced).
const MARKER_TEXT = `\u0000snapshot-${randomUUID()}`;
const MARKER = JSON.stringify(MARKER_TEXT);

function isDefault(converter: LoadedDataConverter): boolean {
  return (
    converter.payloadConverter === defaultPayloadConverter &&
    converter.payloadCodecs.length === 0 &&
    converter.externalStorage === undefined
  );
}

/** What the SDK's JsonPayloadConverter makes of JSON text. */
function jsonPayload(data: Uint8Array): Payload {
  return { metadata: { [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_JSON }, data };
}

function snapshotBytes(snapshot: RunbookSnapshot): Buffer {
  let bytes = snapshotJson.get(snapshot);
  if (!bytes) {
    bytes = Buffer.from(JSON.stringify(snapshot), 'utf8');
    snapshotJson.set(snapshot, bytes);
  }
  return bytes;
}

/** The workflow's argument list: [input]. */
export async function encodeIncidentInput(
  converter: LoadedDataConverter,
  input: IncidentInput,
): Promise<Payload[] | undefined> {
  if (!isDefault(converter)) return encodeToPayloads(converter, input);
  // The spread keeps every key where JSON.stringify(input) has it; only the snapshot's text is spliced.
  const rest = JSON.stringify({ ...input, snapshot: MARKER_TEXT });
  const at = rest.indexOf(MARKER);
  if (at < 0 || rest.lastIndexOf(MARKER) !== at) return encodeToPayloads(converter, input);
  const data = Buffer.concat([
    Buffer.from(rest.slice(0, at), 'utf8'),
    snapshotBytes(input.snapshot),
    Buffer.from(rest.slice(at + MARKER.length), 'utf8'),
  ]);
  return [jsonPayload(data)];
}

/** The alert signal's argument list: [notification]. */
export async function encodeNotification(
  converter: LoadedDataConverter,
  notification: AlertNotification,
): Promise<Payload[] | undefined> {
  if (!isDefault(converter)) return encodeToPayloads(converter, notification);
  return [jsonPayload(Buffer.from(JSON.stringify(notification), 'utf8'))];
}
