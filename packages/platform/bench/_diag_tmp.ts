import kafkajs from 'kafkajs';
const { Kafka, Partitioners, logLevel } = kafkajs;
const kafka = new Kafka({ clientId: 'diag', brokers: ['127.0.0.1:59092'], logLevel: logLevel.ERROR });
const admin = kafka.admin(); await admin.connect();
const topic = 'diag-' + Date.now();
await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
for (const idem of [true, false]) {
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: idem, maxInFlightRequests: idem ? 1 : undefined });
await producer.connect();
for (const [batch, window] of [[500, 4], [500, 1], [2000, 1], [5000, 1]]) {
  const N = 50000; let next = 0; const t0 = performance.now();
  const v = Buffer.alloc(300, 0x61);
  const worker = async () => { while (next < N) { const from = next; next = Math.min(N, next + batch); const ms = []; for (let i = from; i < next; i++) ms.push({ key: `device-${i % 1000}`, value: v }); await producer.send({ topic, messages: ms, acks: -1 }); } };
  await Promise.all(Array.from({ length: window }, worker));
  console.log(`idempotent=${idem} batch ${batch} window ${window}: ${(N / ((performance.now() - t0) / 1000)).toFixed(0)} msg/s produce`);
}
await producer.disconnect();
}
// consume all
const consumer = kafka.consumer({ groupId: 'diag-' + Date.now(), maxWaitTimeInMs: 500 });
await consumer.connect(); await consumer.subscribe({ topics: [topic], fromBeginning: true });
let n = 0; const total = 400000; let t0 = 0; let done: () => void; const p = new Promise<void>(r => done = r);
await consumer.run({ eachBatch: async ({ batch }) => { if (!t0) t0 = performance.now(); n += batch.messages.length; if (n >= total) done(); } });
await p; console.log(`consume: ${(total / ((performance.now() - t0) / 1000)).toFixed(0)} msg/s`);
await consumer.disconnect(); await admin.deleteTopics({ topics: [topic] }); await admin.disconnect();
