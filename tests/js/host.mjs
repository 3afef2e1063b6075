// A second host for cachet's engine component: Node.js instead of wasmtime.
//
//   node host.mjs <dir> <script.json>
//
// <dir> holds the component transpiled for JavaScript with custom instantiation
// (`jco transpile cachet.wasm --name cachet --instantiation async -o <dir>`), so that this host
// supplies every import itself: cachet's clock, random and log capabilities, stream imports that
// refuse (this host lends no streams), and the wasi:* interfaces Rust's standard library links,
// from @bytecodealliance/preview2-shim with no environment, no files and no network.
//
// The script is a JSON array of steps, run in order on one instance. Each step prints one JSON
// line on stdout (everything else goes to stderr), in the form tests/jco.rs produces when it runs
// the same steps under wasmtime, so the two can be compared value for value (reply bytes exactly):
//
//   {"seed": n}                              makes `random` the SplitMix64 sequence from n (before any call)
//   {"configure": [[name, value], ...]}      server.configure    -> {"ok":null} | {"err":{"name":..,"message":..}}
//   {"open": {"id", "kind", "address", "local"}}  server.open     -> {"ok":<outcome>} | {"err":"<refusal bytes>"}
//   {"feed": "<bytes>", "id": 1}             server.feed         -> <outcome>
//   {"tick": true}                           server.tick         -> <outcome>
//     (feed and tick steps may carry "backlogs": [[id, unsent], ...], the host's unwritten output)
//   {"close": id}                            server.close        -> <outcome>
//
// where <outcome> is {"outputs":[{"id","progress":{"consumed","wanted","more"}|null,"data","close","discard_unsent","session"}],
// "next_deadline": n|null}. Server steps may carry "now": [monotonic ns, wall ms], the time of a
// recorded call; without it the host reads its clocks. Sessions are printed in hex with a recorded
// time, and as true/false without (they hold the time the connection opened).
//   {"kv": "open", "bucket": "0"}            store.open          -> {"ok":null} | {"err":<error>}
//   {"kv": "get"|"exists"|"delete", "bucket", "key"}
//   {"kv": "set", "bucket", "key", "value"}
//   {"kv": "list-keys", "bucket"}            every page, keys sorted -> {"ok":{"keys":[..],"complete":true}}
//   {"kv": "increment", "bucket", "key", "delta"}
//   {"kv": "get-many"|"delete-many", "bucket", "keys": [..]}
//   {"kv": "set-many", "bucket", "pairs": [[key, value], ...]}
//   {"kv": "set-with-ttl", "bucket", "key", "value", "ttl_ms"}
//   {"kv": "expire", "bucket", "key", "ttl_ms": n | null}
//   {"kv": "ttl", "bucket", "key"}          -> "missing" | "forever" | {"milliseconds": n, rounded to whole seconds}
//   {"kv": "cas", "bucket", "key", "name"}   atomics.cas.new + current, kept under `name`
//   {"kv": "swap", "name", "value"}          atomics.swap        -> {"ok":null} | {"err":{"store-error":<error>}}
//                                            | {"err":{"cas-failed":{"ok":<current>}}} (the fresh CAS replaces `name`)
//   {"kv": "configure", "settings": [[name, value], ...]}  maintenance.configure
//
// Byte strings (values, replies) are written as JSON strings when they are UTF-8, and as
// {"hex": "..."} otherwise. Store errors are "no-such-store", "access-denied" or {"other": message}.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { webcrypto } from "node:crypto";
import { cli } from "@bytecodealliance/preview2-shim";
import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";

const [dir, scriptPath] = process.argv.slice(2);
if (!dir || !scriptPath) {
  process.stderr.write("usage: node host.mjs <transpiled-component-dir> <script.json>\n");
  process.exit(2);
}

// ---- cachet's capabilities -------------------------------------------------------------------

const clock = {
  monotonicNow: () => process.hrtime.bigint(),
  wallNow: () => BigInt(Date.now()),
};

// With a seed, the SplitMix64 sequence (as cachet's own host gives it for replays); else the
// system's randomness.
let seed = null;
const MASK = (1n << 64n) - 1n;
function splitmix64() {
  seed = (seed + 0x9e3779b97f4a7c15n) & MASK;
  let z = seed;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

const random = {
  randomU64: () => (seed === null ? webcrypto.getRandomValues(new BigUint64Array(1))[0] : splitmix64()),
};

const log = {
  log: (level, message) => process.stderr.write(`cachet ${level}: ${message}\n`),
};

// CONFIG SET tls-* reaches the host here; this host has no TLS listener, so it accepts them, as
// Redis does with no TLS port.
const hostSettings = {
  apply: (_changes) => {},
};

// This host was started with no ACL file: an engine asked to read or write one hears why not (a
// thrown string is the import's error result).
const noAclFile = "this host gives the engine no ACL file";
const aclFile = {
  read: () => { throw noAclFile; },
  write: (_contents) => { throw noAclFile; },
};

function noStreams() {
  throw new Error("this host lends no streams: cachet:engine/streams is not available here");
}

class Pool {
  constructor() { noStreams(); }
  acquire() { noStreams(); }
  acquireNew() { noStreams(); }
  release() { noStreams(); }
  discard() { noStreams(); }
  endpoint() { noStreams(); }
}

class Stream {
  constructor() { noStreams(); }
  read() { noStreams(); }
  readExact() { noStreams(); }
  readUntil() { noStreams(); }
  write() { noStreams(); }
  drain() { noStreams(); }
  exchange() { noStreams(); }
  fresh() { noStreams(); }
  close() { noStreams(); }
}

// ---- WASI, sandboxed; whatever the guest writes to stdout goes to stderr ----------------------

const wasi = new WASIShim({
  cli: { ...cli, stdout: { getStdout: () => cli.stderr.getStderr() } },
  sandbox: { preopens: {}, env: {}, args: ["cachet"], enableNetwork: false },
});

const imports = {
  ...wasi.getImportObject(),
  "cachet:engine/clock": clock,
  "cachet:engine/random": random,
  "cachet:engine/log": log,
  "cachet:engine/host-settings": hostSettings,
  "cachet:engine/acl-file": aclFile,
  "cachet:engine/streams": { Pool, Stream },
};

const { instantiate } = await import(pathToFileURL(join(dir, "cachet.js")).href);
const component = await instantiate(
  (name) => WebAssembly.compile(readFileSync(join(dir, name))),
  imports,
);

function exported(name) {
  const found = component[name];
  if (!found) throw new Error(`the component does not export ${name}`);
  return found;
}

// ---- canonical output ------------------------------------------------------------------------

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as a JSON value: the text when they are UTF-8, else {"hex": "..."}. */
function bytesText(bytes) {
  try {
    return decoder.decode(bytes);
  } catch {
    return { hex: Buffer.from(bytes).toString("hex") };
  }
}

const encoder = new TextEncoder();
const bytesOf = (text) => encoder.encode(text);

/** JSON with bigints as numbers and keys in insertion order, no spaces. */
function json(value) {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isInteger(value)) throw new Error(`not an integer: ${value}`);
      return String(value);
    case "bigint":
      return value.toString();
    case "string":
      return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(json).join(",") + "]";
  return "{" + Object.entries(value).map(([k, v]) => JSON.stringify(k) + ":" + json(v)).join(",") + "}";
}

function storeError(error) {
  switch (error?.tag) {
    case "no-such-store":
    case "access-denied":
      return error.tag;
    case "other":
      return { other: error.val };
  }
  throw new Error(`not a wasi:keyvalue error: ${String(error)}`);
}

/** Runs `call`; its value through `ok`, or the component's error (a thrown payload) through `err`. */
function result(call, ok, err = storeError) {
  let value;
  try {
    value = call();
  } catch (e) {
    if (e && Object.prototype.hasOwnProperty.call(e, "payload")) return { err: err(e.payload) };
    throw e;
  }
  return { ok: ok(value) };
}

const unit = () => null;
const optionalBytes = (value) => (value === undefined ? null : bytesText(value));

// ---- the steps -------------------------------------------------------------------------------

const buckets = new Map();
const cases = new Map();

/** The bucket named by a step, opened on first use; an error result when it cannot be opened. */
function bucket(id) {
  if (!buckets.has(id)) {
    const opened = result(() => exported("wasi:keyvalue/store@0.2.0-draft2").open(id), (b) => b);
    if (opened.err !== undefined) return opened;
    buckets.set(id, opened.ok);
  }
  return { ok: buckets.get(id) };
}

function withBucket(step, call) {
  const opened = bucket(step.bucket);
  return opened.err !== undefined ? opened : call(opened.ok);
}

function server() {
  return exported("cachet:engine/server@0.1.0");
}

/** A step's recorded time, or this host's clocks. */
function stepTime(step) {
  if (step.now !== undefined) return { monotonicNs: BigInt(step.now[0]), wallMs: BigInt(step.now[1]) };
  return { monotonicNs: clock.monotonicNow(), wallMs: clock.wallNow() };
}

const hex = (bytes) => Buffer.from(bytes).toString("hex");

// Each output's bytes are the next `len` bytes of the outcome's `data`.
function outcomeJson(outcome, recorded) {
  let start = 0;
  return {
    outputs: outcome.outputs.map((o) => ({
      id: o.id,
      progress: o.progress === undefined ? null : { consumed: o.progress.consumed, wanted: o.progress.wanted, more: o.progress.more },
      data: bytesText(outcome.data.subarray(start, (start += o.len))),
      close: o.close,
      discard_unsent: o.discardUnsent,
      session: recorded ? (o.session === undefined ? null : hex(o.session)) : o.session !== undefined,
    })),
    next_deadline: outcome.nextDeadline === undefined ? null : outcome.nextDeadline,
  };
}

function runServer(step) {
  if (step.seed !== undefined) {
    seed = BigInt(step.seed);
    return { ok: null };
  }
  if (step.configure !== undefined) {
    return result(() => server().configure(step.configure), unit, (e) => ({ name: e.name, message: e.message }));
  }
  const now = stepTime(step);
  const recorded = step.now !== undefined;
  if (step.open !== undefined) {
    const { id, kind, address, local } = step.open;
    return result(
      () => server().open(now, BigInt(id), { kind, address, localAddress: local }, undefined),
      (welcome) => outcomeJson(welcome, recorded),
      (refusal) => bytesText(refusal),
    );
  }
  const backlogs = (step.backlogs ?? []).map(([id, unsent]) => ({ id: BigInt(id), unsent: BigInt(unsent) }));
  if (step.feed !== undefined) {
    const data = bytesOf(step.feed);
    return outcomeJson(server().feed(now, backlogs, [{ id: BigInt(step.id ?? 1), len: data.length }], data), recorded);
  }
  if (step.tick !== undefined) return outcomeJson(server().tick(now, backlogs), recorded);
  if (step.close !== undefined) return outcomeJson(server().close(now, BigInt(step.close)), recorded);
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}

function runKeyvalue(step) {
  const store = exported("wasi:keyvalue/store@0.2.0-draft2");
  const atomics = exported("wasi:keyvalue/atomics@0.2.0-draft2");
  const batch = exported("wasi:keyvalue/batch@0.2.0-draft2");
  const expiry = exported("cachet:engine/expiry@0.1.0");
  const maintenance = exported("cachet:engine/maintenance@0.1.0");
  switch (step.kv) {
    case "configure":
      return result(() => maintenance.configure(step.settings), unit, (message) => message);
    case "open":
      return result(() => store.open(step.bucket), unit);
    case "get":
      return withBucket(step, (b) => result(() => b.get(step.key), optionalBytes));
    case "set":
      return withBucket(step, (b) => result(() => b.set(step.key, bytesOf(step.value)), unit));
    case "delete":
      return withBucket(step, (b) => result(() => b.delete(step.key), unit));
    case "exists":
      return withBucket(step, (b) => result(() => b.exists(step.key), (found) => found));
    case "list-keys":
      return withBucket(step, (b) => {
        const keys = [];
        let cursor;
        let pages = 0;
        do {
          const page = result(() => b.listKeys(cursor), (response) => response);
          if (page.err !== undefined) return page;
          pages += 1;
          keys.push(...page.ok.keys);
          cursor = page.ok.cursor;
        } while (cursor !== undefined && pages < 10000);
        keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        return { ok: { keys, complete: cursor === undefined } };
      });
    case "increment":
      return withBucket(step, (b) => result(() => atomics.increment(b, step.key, BigInt(step.delta)), (n) => n));
    case "get-many":
      return withBucket(step, (b) =>
        result(
          () => batch.getMany(b, step.keys),
          (entries) => entries.map((e) => (e === undefined ? null : [e[0], bytesText(e[1])])),
        ),
      );
    case "set-many":
      return withBucket(step, (b) =>
        result(() => batch.setMany(b, step.pairs.map(([k, v]) => [k, bytesOf(v)])), unit),
      );
    case "delete-many":
      return withBucket(step, (b) => result(() => batch.deleteMany(b, step.keys), unit));
    case "set-with-ttl":
      return withBucket(step, (b) =>
        result(() => expiry.setWithTtl(b, step.key, bytesOf(step.value), BigInt(step.ttl_ms)), unit),
      );
    case "expire":
      return withBucket(step, (b) =>
        result(() => expiry.expire(b, step.key, step.ttl_ms === null ? undefined : BigInt(step.ttl_ms)), (set) => set),
      );
    case "ttl":
      return withBucket(step, (b) =>
        result(
          () => expiry.ttl(b, step.key),
          (ttl) => {
            switch (ttl.tag) {
              case "missing":
              case "forever":
                return ttl.tag;
              case "milliseconds":
                // The two hosts read their clocks at different moments: whole seconds compare.
                return { milliseconds: ((ttl.val + 500n) / 1000n) * 1000n };
            }
            throw new Error(`not a time-to-live: ${String(ttl)}`);
          },
        ),
      );
    case "cas":
      return withBucket(step, (b) => {
        const created = result(() => atomics.Cas.new(b, step.key), (cas) => cas);
        if (created.err !== undefined) return created;
        cases.set(step.name, created.ok);
        return result(() => created.ok.current(), (current) => ({ current: optionalBytes(current) }));
      });
    case "swap": {
      const cas = cases.get(step.name);
      if (!cas) throw new Error(`no cas named ${step.name}`);
      cases.delete(step.name);
      return result(
        () => atomics.swap(cas, bytesOf(step.value)),
        unit,
        (e) => {
          if (e.tag !== "cas-failed") return { "store-error": storeError(e.val) };
          // A failed swap hands back a fresh CAS: it replaces the stale one, for a retry.
          cases.set(step.name, e.val);
          return { "cas-failed": result(() => e.val.current(), optionalBytes) };
        },
      );
    }
  }
  throw new Error(`unknown key-value step ${JSON.stringify(step)}`);
}

const script = JSON.parse(readFileSync(scriptPath, "utf8"));
for (const step of script) {
  const outcome = step.kv !== undefined ? runKeyvalue(step) : runServer(step);
  process.stdout.write(json(outcome) + "\n");
}
