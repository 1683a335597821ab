// Plain vendor clients for the engine tests and benchmarks that live in apps/ (apps/ may not import the
// vendor SDKs, see apps/import-rules.unit.spec.ts): read MongoDB documents as stored, bypassing the read
// store; drop a test database; and the benchmarks' baselines, a bare kafkajs producer with the relay's
// producer settings and bare MongoDB bulkWrite.
import { Kafka, Partitioners, logLevel, type Message } from "kafkajs";
import { MongoClient, type Document } from "mongodb";

/** every document of `collection` in `_id` order, read with the official driver */
export async function mongoDocuments(url: string, dbName: string, collection: string): Promise<Document[]> {
  const client = await MongoClient.connect(url);
  try {
    return await client.db(dbName).collection(collection).find({}).sort({ _id: 1 }).toArray();
  } finally {
    await client.close();
  }
}

export async function dropMongoDatabase(url: string, dbName: string): Promise<void> {
  const client = await MongoClient.connect(url);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

export interface RawMongo {
  /** one unordered bulkWrite of `replaceOne` upserts by `_id` */
  replaceMany(collection: string, docs: Document[]): Promise<void>;
  /** one unordered bulkWrite: `insertOne` of new documents, `replaceOne` (no upsert) of existing ones */
  insertOrReplace(collection: string, inserts: Document[], replaces: Document[]): Promise<void>;
  count(collection: string): Promise<number>;
  close(): Promise<void>;
}

/** bare driver access to one database, the same write concern as infra/mongo/read-store.ts */
export async function openRawMongo(url: string, dbName: string): Promise<RawMongo> {
  const client = await MongoClient.connect(url, { ignoreUndefined: true, writeConcern: { w: "majority" } });
  const db = client.db(dbName);
  return {
    async replaceMany(collection, docs) {
      if (docs.length === 0) return;
      await db.collection(collection).bulkWrite(
        docs.map((d) => ({ replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true } })),
        { ordered: false },
      );
    },
    async insertOrReplace(collection, inserts, replaces) {
      if (inserts.length + replaces.length === 0) return;
      await db
        .collection(collection)
        .bulkWrite(
          [
            ...inserts.map((d) => ({ insertOne: { document: d } })),
            ...replaces.map((d) => ({ replaceOne: { filter: { _id: d._id }, replacement: d } })),
          ],
          { ordered: false },
        );
    },
    count: (collection) => db.collection(collection).countDocuments(),
    close: () => client.close(),
  };
}

export interface RawProducer {
  /** resolves when the broker acknowledged every message (acks = all) */
  send(topic: string, messages: Message[]): Promise<void>;
  close(): Promise<void>;
}

/** a bare kafkajs producer with the settings of infra/kafka/publisher.ts: idempotent, 1 in flight, murmur2 */
export async function openRawProducer(brokers: string[], clientId = "raw-producer"): Promise<RawProducer> {
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.WARN });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return {
    async send(topic, messages) {
      await producer.send({ topic, acks: -1, messages });
    },
    close: () => producer.disconnect(),
  };
}
