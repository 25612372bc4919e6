import assert from "node:assert/strict";
import { loadCicCsv } from "./cic_csv.ts";
import { loadNslKdd, parseAttackTypes, parseFieldNames } from "./nsl_kdd.ts";
import { classCounts, stratifiedFolds } from "./dataset.ts";
import { Random } from "./random.ts";

const CIC = [
  "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Flow Bytes/s, Fwd Header Length, Fwd Header Length, Label",
  "a,10.0.0.1,1234,10.0.0.2,80,6,2017-07-07 10:00,100,2000.5,20,99,BENIGN",
  "b,10.0.0.3,1235,10.0.0.2,80,6,2017-07-07 10:00,0,Infinity,40,99,DDoS",
  "c,10.0.0.3,1236,10.0.0.2,80,6,2017-07-07 10:00,5,NaN,,99,DDoS",
  "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Flow Bytes/s, Fwd Header Length, Fwd Header Length, Label",
  "d,10.0.0.4,1,10.0.0.2,80,6,x,7,8",
].join("\r\n");

Deno.test("CIC CSV: names trimmed, identity columns dropped, non-finite counted", () => {
  const d = loadCicCsv(CIC);
  assert.deepEqual(d.columnNames, ["Flow Duration", "Flow Bytes/s", "Fwd Header Length"]);
  assert.equal(d.rows, 3);
  assert.deepEqual(d.classNames, ["BENIGN", "DDoS"]);
  assert.equal(d.benignClass, 0);
  assert.deepEqual(Array.from(d.x), [100, 2000.5, 20, 0, 0, 40, 5, 0, 0]);
  assert.deepEqual(d.issues, {
    "infinite value": 1,
    "NaN or non-numeric value": 2,
    "repeated header": 1,
    "wrong field count": 1,
  });
});

Deno.test("CIC CSV: chosen columns in order, configurable label, missing column named", () => {
  const renamed = CIC.replace(/Label/g, "Attack");
  const d = loadCicCsv(renamed, {
    labelColumn: "Attack",
    columns: ["Fwd Header Length", "Flow Duration"],
  });
  assert.deepEqual(Array.from(d.x.subarray(0, 2)), [20, 100]);
  assert.throws(() => loadCicCsv(renamed), /no label column 'Label'/);
  assert.throws(
    () => loadCicCsv(CIC, { columns: ["Flow Duration", "Idle Max"] }),
    /1 feature column\(s\) missing from the header, first: 'Idle Max'/,
  );
});

const FIELDS =
  "duration,continuous\nprotocol_type,symbolic\nservice,symbolic\nsrc_bytes,continuous\n";
const ATTACKS = "neptune,dos\nsatan,probe\n";
const RECORDS = [
  "0,tcp,http,100,normal,20",
  "2,udp,private,0,neptune,21",
  "1,tcp,private,5,satan,18",
  "3,icmp,ecr_i,7,mystery,10",
].join("\n");

Deno.test("NSL-KDD: one-hot with unknown bucket, categories, unseen values counted", () => {
  const opts = { fields: parseFieldNames(FIELDS), attackCategories: parseAttackTypes(ATTACKS) };
  const train = loadNslKdd(RECORDS, opts);
  assert.deepEqual(train.columnNames, [
    "duration",
    "protocol_type=tcp",
    "protocol_type=udp",
    "protocol_type=icmp",
    "protocol_type=<unknown>",
    "service=http",
    "service=private",
    "service=ecr_i",
    "service=<unknown>",
    "src_bytes",
  ]);
  assert.deepEqual(Array.from(train.x.subarray(10, 20)), [2, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(classCounts(train), {
    normal: 1,
    dos: 1,
    probe: 1,
    r2l: 0,
    u2r: 0,
    "unknown-attack": 1,
  });
  assert.equal(train.issues!["attack without category: mystery"], 1);
  // Scoring new records with the training vocabularies: unseen values go to <unknown>, counted.
  const test = loadNslKdd("4,sctp,gopher,1,normal,1\n", {
    ...opts,
    vocabularies: train.vocabularies,
  });
  assert.deepEqual(test.columnNames, train.columnNames);
  assert.deepEqual(Array.from(test.x), [4, 0, 0, 0, 1, 0, 0, 0, 1, 1]);
  assert.deepEqual(test.issues, { "unknown protocol_type": 1, "unknown service": 1 });
  const binary = loadNslKdd(RECORDS, { ...opts, view: "binary" });
  assert.deepEqual(Array.from(binary.y), [0, 1, 1, 1]);
});

Deno.test("stratified folds keep every class in every fold", () => {
  const y = Int32Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : i < 95 ? 1 : 2));
  const folds = stratifiedFolds(y, 5, new Random(3));
  for (let f = 0; f < 5; f++) {
    const counts = [0, 0, 0];
    for (let i = 0; i < 100; i++) if (folds[i] === f) counts[y[i]]++;
    assert.deepEqual(counts, [16, 3, 1], `fold ${f}`);
  }
});
