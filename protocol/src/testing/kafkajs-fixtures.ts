/**
 * Golden RecordBatch v2 bytes captured from kafkajs 2.2.4 by protocol/scripts/capture-fixtures.ts.
 * Generated: do not edit by hand; re-run the script instead. Messages are the producer inputs
 * (strings are UTF-8; headers in the order kafkajs writes them).
 */

export interface KafkajsFixtureMessage {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly timestamp: number;
}

export interface KafkajsFixture {
  readonly description: string;
  readonly compression: number;
  readonly transactional: boolean;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly messages: readonly KafkajsFixtureMessage[];
  readonly hex: string;
}

export const kafkajsFixtures: Readonly<Record<string, KafkajsFixture>> = {
  "uncompressed": {
    description: "3 records: headers (one key repeated), a null key, a tombstone; transactional producer",
    compression: 0,
    transactional: true,
    producerId: 4242,
    producerEpoch: 3,
    baseSequence: 17,
    messages: [{"key":"user-17","value":"{\"event\":\"signup\",\"name\":\"Zoë ✓\"}","headers":[["trace-id","abc123"],["retry","0"],["retry","1"]],"timestamp":1700000000000},{"key":null,"value":"no key here","headers":[],"timestamp":1700000000123},{"key":"user-17","value":null,"headers":[["tombstone","yes"]],"timestamp":1700000000456}],
    hex: "0000000000000000000000b4000000000272b8f72f0010000000020000018bcfe568000000018bcfe569c8000000000000109200030000001100000003a2010000000e757365722d3137487b226576656e74223a227369676e7570222c226e616d65223a225a6fc3ab20e29c93227d061074726163652d69640c6162633132330a726574727902300a726574727902312400f6010201166e6f206b657920686572650038009007040e757365722d3137010212746f6d6273746f6e6506796573",
  },
  "gzip": {
    description: "5 records, kafkajs's built-in gzip codec, idempotent producer",
    compression: 1,
    transactional: false,
    producerId: 99,
    producerEpoch: 0,
    baseSequence: 0,
    messages: [{"key":"key-0","value":"value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 ","headers":[["n","0"]],"timestamp":1700000100000},{"key":"key-1","value":"value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 ","headers":[],"timestamp":1700000100007},{"key":"key-2","value":"value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 ","headers":[["n","2"]],"timestamp":1700000100014},{"key":"key-3","value":"value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 ","headers":[],"timestamp":1700000100021},{"key":"key-4","value":"value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 ","headers":[["n","4"]],"timestamp":1700000100028}],
    hex: "0000000000000000000000a40000000002068e10060001000000040000018bcfe6eea00000018bcfe6eebc0000000000000063000000000000000000051f8b08000000000000037bc0c4c0c0c0959d5aa96b7080a92c31a73455d74061b0d24c4c794c06379818f898c02e3684b9d85061b0d20c0f98186458c0ae3582b9d64861b0d2a0f035bac1c4a0c50676b131ccc5c60a83950685af0507d8b52630d79a280c561a14be260039a1ab9172030000",
  },
  "snappy-raw": {
    description: "5 records, raw snappy from the kafkajs plugin in src/testing/kafkajs.ts",
    compression: 2,
    transactional: false,
    producerId: -1,
    producerEpoch: 0,
    baseSequence: 0,
    messages: [{"key":"key-0","value":"value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 ","headers":[["n","0"]],"timestamp":1700000100000},{"key":"key-1","value":"value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 ","headers":[],"timestamp":1700000100007},{"key":"key-2","value":"value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 ","headers":[["n","2"]],"timestamp":1700000100014},{"key":"key-3","value":"value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 ","headers":[],"timestamp":1700000100021},{"key":"key-4","value":"value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 ","headers":[["n","4"]],"timestamp":1700000100028}],
    hex: "0000000000000000000000c5000000000269f3b0580002000000040000018bcfe6eea00000018bcfe6eebcffffffffffffffff00000000000000000005f20650e0020000000a6b65792d30c00276616c75652d3020fe0800fe08005e08002402026e0230d802000e0205b2003111b200310db2fe0800fe08004608001400e002001c0405ae003211ae00320daefe0800fe080046080021601832d802002a060a4112003311b200330db2fe0800fe0800460800216004380805ae003411ae00340daefe0800fe08004608001002026e0234",
  },
  "lz4-frame": {
    description: "5 records, LZ4 frame written by lz4-napi's frame encoder (lz4_flex) via the kafkajs plugin",
    compression: 3,
    transactional: false,
    producerId: -1,
    producerEpoch: 0,
    baseSequence: 0,
    messages: [{"key":"key-0","value":"value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 ","headers":[["n","0"]],"timestamp":1700000100000},{"key":"key-1","value":"value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 ","headers":[],"timestamp":1700000100007},{"key":"key-2","value":"value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 ","headers":[["n","2"]],"timestamp":1700000100014},{"key":"key-3","value":"value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 ","headers":[],"timestamp":1700000100021},{"key":"key-4","value":"value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 ","headers":[["n","4"]],"timestamp":1700000100028}],
    hex: "0000000000000000000000bd00000000029902311b0003000000040000018bcfe6eea00000018bcfe6eebcffffffffffffffff0000000000000000000504224d186040827d000000ff06e0020000000a6b65792d30c00276616c75652d3020080085a102026e0230d802000e02b2001431b2001331b2000f08007f6100e002001c04ae001432ae001332ae000f08007fa102026e0232d802002a06b2001433b2001333b2000f08007f6100e002003808ae001434ae001334ae000f08007e602002026e023400000000",
  },
  "zstd": {
    description: "5 records, zstd via the kafkajs plugin",
    compression: 4,
    transactional: false,
    producerId: -1,
    producerEpoch: 0,
    baseSequence: 0,
    messages: [{"key":"key-0","value":"value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 value-0 ","headers":[["n","0"]],"timestamp":1700000100000},{"key":"key-1","value":"value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 value-1 ","headers":[],"timestamp":1700000100007},{"key":"key-2","value":"value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 value-2 ","headers":[["n","2"]],"timestamp":1700000100014},{"key":"key-3","value":"value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 value-3 ","headers":[],"timestamp":1700000100021},{"key":"key-4","value":"value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 value-4 ","headers":[["n","4"]],"timestamp":1700000100028}],
    hex: "0000000000000000000000a30000000002d9af03310004000000040000018bcfe6eea00000018bcfe6eebcffffffffffffffff0000000000000000000528b52ffd607202450300a403e0020000000a6b65792d30c00276616c75652d302002026e0230d802000e02313100e002001c04323232d802002a0633333808343402026e023413000f4001e403c4c035b0ec0168807c80181c8c2d6b1f801ac80c48c4cc550f4001e403623573f595518509",
  },
};

/**
 * A COMMIT control batch (transactional|control) at offset 1234, leader epoch 7, producer
 * 4242/3, timestamp 1700000200000; key = version 0 type 1, value = EndTransactionMarker version
 * 0 coordinatorEpoch 5. Assembled from kafkajs's Encoder and Record primitives.
 */
export const kafkajsControlBatchHex = "00000000000004d20000004200000007024906ca540030000000000000018bcfe875400000018bcfe8754000000000000010920003ffffffff000000012000000008000000010c00000000000500";
