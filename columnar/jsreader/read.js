#!/usr/bin/env node
// Reads Arrow IPC streams with apache-arrow, the JavaScript implementation
// of Arrow, and prints one JSON document: an array with, for each input
// (a file name, or "-" for stdin), its schema, its record batch count and
// every value. The columnar package's tests compare these values with what
// pgx decodes, so that an Arrow stream streamcat wrote with arrow-go is
// checked by a reader that shares no code with the writer.
//
// Values are printed so that nothing is lost on the way through JSON:
// integers, times, timestamps and decimals as strings (a JS number holds
// only 53 bits), floats as strings ("-0", "NaN", "Infinity" survive),
// bytes as hex, lists as arrays, structs as objects, null as null.
'use strict';

const fs = require('fs');
const arrow = require('apache-arrow');
// A stream without record batches is read as one empty placeholder batch;
// it is not counted, so that the batch count is the one in the stream.
const { _InternalEmptyPlaceholderRecordBatch: Placeholder } = require('apache-arrow/recordbatch');

const { Type, Precision } = arrow;

// describe is a type as a tree the Go side walks to read the values.
function describe(t) {
  const d = { id: Type[t.typeId], str: String(t) };
  switch (t.typeId) {
    case Type.Int: d.bits = t.bitWidth; d.signed = t.isSigned; break;
    case Type.Float: d.bits = { [Precision.HALF]: 16, [Precision.SINGLE]: 32, [Precision.DOUBLE]: 64 }[t.precision]; break;
    case Type.Decimal: d.precision = t.precision; d.scale = t.scale; d.bits = t.bitWidth; break;
    case Type.Timestamp: d.unit = arrow.TimeUnit[t.unit]; d.tz = t.timezone ?? null; break;
    case Type.Time: d.unit = arrow.TimeUnit[t.unit]; d.bits = t.bitWidth; break;
    case Type.Date: d.unit = arrow.DateUnit[t.unit]; break;
    case Type.FixedSizeBinary: d.width = t.byteWidth; break;
    case Type.Dictionary: d.indices = describe(t.indices); d.value = describe(t.dictionary); break;
  }
  if (t.children && t.children.length) d.children = t.children.map(field);
  return d;
}

function field(f) {
  return { name: f.name, nullable: f.nullable, metadata: Object.fromEntries(f.metadata), type: describe(f.type) };
}

// vectors caches a Vector over each Data, to use apache-arrow's own
// accessors (get) where they are exact.
const vectors = new WeakMap();
function get(data, i) {
  let v = vectors.get(data);
  if (!v) { v = arrow.makeVector(data); vectors.set(data, v); }
  return v.get(i);
}

function hex(bytes) { return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'); }

function float(x) { return Object.is(x, -0) ? '-0' : String(x); }

// decimal is the unscaled integer get returns, with the type's scale.
function decimal(unscaled, scale) {
  let s = String(unscaled);
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale);
  } else if (scale < 0) {
    s += '0'.repeat(-scale);
  }
  return (neg ? '-' : '') + s;
}

// value is value i of data (one column of a record batch, or a child).
function value(data, i) {
  if (!data.getValid(i)) return null;
  const t = data.type;
  switch (t.typeId) {
    case Type.Int: return String(get(data, i));
    case Type.Float: return float(get(data, i));
    case Type.Bool: return get(data, i);
    case Type.Utf8: case Type.LargeUtf8: return get(data, i);
    case Type.Binary: case Type.LargeBinary: case Type.FixedSizeBinary: return hex(get(data, i));
    case Type.Decimal: return decimal(get(data, i), t.scale);
    // get gives a date as milliseconds since 1970, exact for every date32.
    case Type.Date: return String(get(data, i) / 86400000);
    case Type.Time: return String(get(data, i));
    // get divides a timestamp into fractional milliseconds, which a JS
    // number cannot hold exactly; the stored integer is the value.
    case Type.Timestamp: return String(data.values[i]);
    case Type.List: case Type.LargeList: {
      const child = data.children[0];
      const out = [];
      for (let j = Number(data.valueOffsets[i]); j < Number(data.valueOffsets[i + 1]); j++) out.push(value(child, j));
      return out;
    }
    case Type.Struct: {
      const out = {};
      t.children.forEach((f, k) => { out[f.name] = value(data.children[k], i); });
      return out;
    }
    case Type.Dictionary: {
      const dict = data.dictionary;
      const idx = Number(data.values[i]);
      if (dict.type.typeId !== Type.Utf8) throw new Error(`dictionary of ${dict.type} not supported`);
      return dict.get(idx);
    }
  }
  throw new Error(`type ${t} not supported by read.js`);
}

function read(buf) {
  const reader = arrow.RecordBatchReader.from(buf);
  reader.open();
  // The schema is known once the stream is open, even with no batches
  // (and gone once the reader has been read to its end).
  const { schema } = reader;
  if (!schema) throw new Error('no Arrow IPC stream schema');
  const out = {
    schema: { fields: schema.fields.map(field), metadata: Object.fromEntries(schema.metadata) },
    batches: 0,
    rows: [],
  };
  for (const batch of reader) {
    if (batch instanceof Placeholder) continue;
    out.batches++;
    const cols = batch.data.children;
    for (let i = 0; i < batch.numRows; i++) out.rows.push(cols.map((c) => value(c, i)));
  }
  return out;
}

function main(args) {
  if (args.length === 0) args = ['-'];
  const results = args.map((name) => read(fs.readFileSync(name === '-' ? 0 : name)));
  process.stdout.write(JSON.stringify(results));
  process.stdout.write('\n');
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`read.js: ${err && err.stack || err}\n`);
  process.exit(1);
}
