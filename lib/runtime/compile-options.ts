/**
 * Serializes `xla.CompileOptionsProto`, the options blob `PJRT_Client_Compile` takes. Only the
 * fields pjrt-bert sets are encoded (protobuf wire format, written by hand: a dependency for
 * a dozen varints is not worth it):
 *
 *   CompileOptionsProto            2: parameter_is_tupled_arguments (bool)
 *                                  3: executable_build_options (ExecutableBuildOptionsProto)
 *   ExecutableBuildOptionsProto    1: device_ordinal  4: num_replicas  5: num_partitions
 *                                  6: use_spmd_partitioning  9: device_assignment
 *   DeviceAssignmentProto          1: replica_count  2: computation_count
 *                                  3: repeated ComputationDevice { 1: repeated int64 replica_device_ids }
 *
 * Unset numeric fields default to 0 in proto3, so replicas and partitions are always written.
 */

/** What the runtime asks of the compiler. */
export interface CompileOptions {
  /** Number of replicas (data parallel copies), default 1. */
  replicas?: number;
  /** Number of partitions (model parallel shards), default 1. */
  partitions?: number;
  /**
   * Device ids per partition and replica: `deviceAssignment[partition][replica]` is a device
   * `id`. Default: the first `replicas * partitions` devices in order.
   */
  deviceAssignment?: number[][];
  /** Device ordinal for single-device programs; -1 (default) lets the plugin choose. */
  deviceOrdinal?: number;
}

class ProtoWriter {
  private readonly bytes: number[] = [];

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  /** A varint field (wire type 0). */
  int(field: number, value: number | bigint | boolean): this {
    return this.varint(field << 3).varint(typeof value === 'boolean' ? Number(value) : value);
  }

  /** A length-delimited field (wire type 2). */
  message(field: number, body: Uint8Array): this {
    this.varint((field << 3) | 2).varint(body.length);
    for (const b of body) this.bytes.push(b);
    return this;
  }

  /** A packed repeated varint field. */
  packed(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.message(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/**
 * Encodes `options` as a serialized CompileOptionsProto. Sync.
 * @throws TypeError when counts are not positive integers or the assignment's shape is wrong.
 */
export function encodeCompileOptions(options: CompileOptions = {}): Uint8Array {
  const replicas = options.replicas ?? 1;
  const partitions = options.partitions ?? 1;
  for (const [name, value] of [['replicas', replicas], ['partitions', partitions]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`compile option ${name} must be a positive integer, got ${value}`);
  }
  const build = new ProtoWriter();
  if (options.deviceOrdinal !== undefined && options.deviceOrdinal >= 0) build.int(1, options.deviceOrdinal);
  build.int(4, replicas).int(5, partitions);
  if (partitions > 1) build.int(6, true);
  if (options.deviceAssignment) {
    const assignment = options.deviceAssignment;
    if (assignment.length !== partitions || assignment.some((row) => row.length !== replicas)) {
      throw new TypeError(
        `deviceAssignment must be ${partitions} partition(s) x ${replicas} replica(s) of device ids, got ` +
          JSON.stringify(assignment),
      );
    }
    const proto = new ProtoWriter().int(1, replicas).int(2, partitions);
    for (const row of assignment) proto.message(3, new ProtoWriter().packed(1, row).finish());
    build.message(9, proto.finish());
  }
  return new ProtoWriter().message(3, build.finish()).finish();
}
