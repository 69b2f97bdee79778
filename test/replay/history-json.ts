/**
 * History ⇄ proto JSON (the format of `temporal workflow show --output json` and the Web UI's download).
 *
 * The SDK has these as historyToJSON/historyFromJSON in @temporalio/common/lib/proto-utils, but in this install they
 * throw "type must be a Type": @temporalio/common, @temporalio/proto and @temporalio/worker each got their own copy
 * of protobufjs 8 (npm cannot hoist it, the top level holds protobufjs 7 for @grpc/proto-loader), and common's
 * protojson refuses the reflection types built by proto's copy (an `instanceof` across copies). So the SDK functions
 * are tried first (they work once protobufjs is deduplicated) and, on that error only, the same conversion runs with
 * the protobufjs copy that @temporalio/proto was built with.
 */
import path from 'node:path';
import * as sdk from '@temporalio/common/lib/proto-utils';
import type { History } from '@temporalio/common/lib/proto-utils';

/** The bits of protobufjs' reflection used here (its types come from whichever copy loaded them). */
interface Type {
  fromObject(object: Record<string, unknown>): unknown;
}

interface ProtoJson {
  toJson(type: Type, message: unknown): unknown;
  fromJson(type: Type, value: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

let fallback: { protojson: ProtoJson; historyType: Type } | undefined;

function protoOwnProtobuf() {
  if (!fallback) {
    const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
    const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
    const root = require('@temporalio/proto') as { lookupType(name: string): Type };
    fallback = { protojson, historyType: root.lookupType('temporal.api.history.v1.History') };
  }
  return fallback;
}

const isDuplicateProtobuf = (error: unknown) => error instanceof TypeError && error.message === 'type must be a Type';

export function historyToJSON(history: History): string {
  try {
    return sdk.historyToJSON(history);
  } catch (error) {
    if (!isDuplicateProtobuf(error)) throw error;
  }
  const { protojson, historyType } = protoOwnProtobuf();
  return JSON.stringify(protojson.toJson(historyType, historyType.fromObject(history as Record<string, unknown>)), null, 2);
}

export function historyFromJSON(json: unknown): History {
  try {
    return sdk.historyFromJSON(json);
  } catch (error) {
    if (!isDuplicateProtobuf(error)) throw error;
  }
  const { protojson, historyType } = protoOwnProtobuf();
  // Canonical proto JSON only (what historyToJSON writes and the current CLI exports); the SDK's version also
  // accepts the PascalCase enum names of older tools.
  const message = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (message === null) throw new TypeError('invalid history JSON');
  return message as History;
}
