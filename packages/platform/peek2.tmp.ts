import { Kafka, logLevel } from 'kafkajs';
import { infraEnv } from '@anfang/testing';
const kafka = new Kafka({ brokers: infraEnv().kafkaBrokers, logLevel: logLevel.NOTHING });
const [topic, sinceS, untilS, needle] = process.argv.slice(2) as [string, string, string, string];
const admin = kafka.admin(); await admin.connect();
const offs = await admin.fetchTopicOffsetsByTimestamp(topic, Date.parse(sinceS));
const ends = await admin.fetchTopicOffsetsByTimestamp(topic, Date.parse(untilS));
await admin.disconnect();
const consumer = kafka.consumer({ groupId: `peek-${Date.now()}` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let hits = 0, seen = 0; const remaining = new Map(offs.map((o) => [o.partition, Number(ends.find((e) => e.partition === o.partition)!.offset)]));
const done = new Promise<void>((resolve) => {
  void consumer.run({ eachMessage: async ({ partition, message }) => {
    seen++;
    if (message.value?.includes(needle)) hits++;
    if (Number(message.offset) + 1 >= remaining.get(partition)!) { remaining.delete(partition); }
    if ([...remaining.values()].length === 0) resolve();
  } });
});
consumer.on(consumer.events.GROUP_JOIN, () => { for (const o of offs) { if (Number(o.offset) >= remaining.get(o.partition)!) remaining.delete(o.partition); else consumer.seek({ topic, partition: o.partition, offset: o.offset }); } });
await Promise.race([done, new Promise((r) => setTimeout(r, 60000))]);
console.log(topic, 'seen', seen, 'hits', hits, 'left', [...remaining.keys()]);
await consumer.disconnect();
