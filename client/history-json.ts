// Event histories as JSON in the Temporal CLI's and Web UI's format (proto3 JSON), both ways. The
// SDK's own historyToJSON/historyFromJSON fail in this install ("type must be a Type"): npm keeps
// two copies of protobufjs 8 (under @temporalio/common and @temporalio/proto), and common's
// protojson does not recognise the types that proto's copy built. Using protojson from the copy
// that @temporalio/proto loads avoids that.
import { createRequire } from 'node:module';

const fromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
type History = unknown;
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): History;
}
const proto = fromProto('@temporalio/proto') as {
  temporal: { api: { history: { v1: { History: { fromObject(o: unknown): History } } } } };
};
const protojson = fromProto('protobufjs/ext/protojson') as ProtoJson;
const { patchProtobufRoot } = fromProto('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot(root: unknown): { lookupType(name: string): unknown };
};
const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: unknown): string {
  return JSON.stringify(
    protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
    null,
    2,
  );
}

/** A History message (event ids as Long) that Worker.runReplayHistory replays as it is. */
export function historyFromJson(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
}
