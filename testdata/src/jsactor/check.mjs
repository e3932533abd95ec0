// Runs actor2_js.wasm under Node, without the Go host: tools/jsactor.mjs
// transpiles the component with jco (which validates it) and passes the
// directory of the generated files here. The host side of the world
// (airssys:actor/types, messaging, wasi:logging) is a small JS model that
// counts live handles: messages it handed over and payloads it created,
// less those the component dropped or sent.
//
// It checks the behaviour documented in actor.js, and that no handle outlives
// its call: the router forwards 3000 messages (three times the host's
// default cap of 1000 live handles per instance) with 0 handles left after
// each one.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const dispose = Symbol.dispose || Symbol.for('dispose');

export async function check(dir, jsFile) {
  const { instantiate } = await import(pathToFileURL(path.join(dir, jsFile)).href);
  const live = { messages: 0, payloads: 0 };
  const reads = { text: 0, bytes: 0, range: 0 };
  const sent = [];
  const logs = [];
  let sendError = null;

  class Payload {
    constructor(bytes) {
      this.bytes = bytes;
      this.dropped = false;
      live.payloads++;
    }
    static fromText(text) {
      return new Payload(Buffer.from(text));
    }
    static fromBytes(bytes) {
      return new Payload(Buffer.from(bytes));
    }
    len() {
      return BigInt(this.bytes.length);
    }
    share() {
      return new Payload(this.bytes);
    }
    [dispose]() {
      assert(!this.dropped, 'payload dropped twice');
      this.dropped = true;
      live.payloads--;
    }
  }

  class Message {
    constructor({ sender = 'host/check', bytes = '', contentType = 'text/plain', headers = [] }) {
      this.from = sender;
      this.body = Buffer.from(bytes);
      this.contentType = contentType;
      this.list = headers;
      this.dropped = false;
      live.messages++;
    }
    sender() {
      return this.from;
    }
    metadata() {
      return {
        correlationId: 0n,
        replyTo: undefined,
        timestampMs: 1n,
        contentType: this.contentType,
        topic: undefined,
        status: 0,
      };
    }
    header(name) {
      const h = this.list.find(([k]) => k.toLowerCase() === name.toLowerCase());
      return h === undefined ? undefined : h[1];
    }
    headers() {
      return this.list;
    }
    len() {
      return BigInt(this.body.length);
    }
    text() {
      reads.text++;
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(this.body);
      } catch {
        return { tag: 'err', val: 'not-utf8' };
      }
    }
    bytes() {
      reads.bytes++;
      return new Uint8Array(this.body);
    }
    range() {
      reads.range++;
      return { tag: 'err', val: 'out-of-range' };
    }
    payload() {
      return new Payload(this.body);
    }
    [dispose]() {
      assert(!this.dropped, 'message dropped twice');
      this.dropped = true;
      live.messages--;
    }
  }

  const imports = {
    'airssys:actor/types': { Message, Payload },
    'airssys:actor/messaging': {
      send(target, payload, options) {
        assert(payload instanceof Payload);
        live.payloads--; // consumed by the call, whatever its outcome
        sent.push({ target, payload: payload.bytes.toString('latin1'), options });
        return sendError === null ? { tag: 'ok', val: undefined } : { tag: 'err', val: sendError };
      },
      request() {
        throw new Error('request: not used by this actor');
      },
      publish() {
        throw new Error('publish: not used by this actor');
      },
      cancelRequest() {
        return false;
      },
      selfId() {
        return 'check/js/1';
      },
    },
    'wasi:logging/logging': {
      log(level, context, message) {
        logs.push([level, context, message]);
      },
    },
  };
  const fresh = async () =>
    (await instantiate((p) => WebAssembly.compile(fs.readFileSync(path.join(dir, p))), imports)).actor;
  // The err value of an export's result (jco throws it).
  const errOf = (f) => {
    try {
      f();
    } catch (e) {
      return typeof e === 'string' ? e : e.payload;
    }
    assert.fail('expected an err result');
  };
  const noHandles = (what) => assert.deepEqual(live, { messages: 0, payloads: 0 }, `live handles ${what}`);

  // router
  let actor = await fresh();
  actor.init([['role', 'router'], ['next', 'ns/next/1']]);
  assert.deepEqual(logs.splice(0), [['debug', 'check/js/1', 'init']]);
  assert.equal(actor.health(), 'healthy');
  const n = 3000;
  for (let i = 0; i < n; i++) {
    const headers = i % 10 === 0 ? [['a', 'b'], ['X-Route', 'ns/routed/1']] : [['k', String(i)]];
    const bytes = i % 7 === 0 ? Buffer.from([0xff, 0xfe, i & 255]) : Buffer.from(`msg ${i}`);
    assert.equal(actor.handleMessage(new Message({ bytes, contentType: `ct/${i}`, headers })), undefined);
    assert.deepEqual(sent.splice(0), [
      {
        target: i % 10 === 0 ? 'ns/routed/1' : 'ns/next/1',
        payload: bytes.toString('latin1'),
        options: { contentType: `ct/${i}`, headers },
      },
    ]);
    noHandles(`after routed message ${i}`);
  }
  assert.deepEqual(reads, { text: 0, bytes: 0, range: 0 }, 'the router read a payload');
  sendError = 'mailbox-full';
  assert.equal(errOf(() => actor.handleMessage(new Message({ bytes: 'x' }))), 'mailbox-full');
  assert.equal(sent.splice(0).length, 1);
  sendError = null;
  noHandles('after a refused send');
  actor.handleReply(7n, { tag: 'ok', val: new Message({ bytes: 'reply' }) });
  actor.handleReply(8n, { tag: 'err', val: 'timeout' });
  noHandles('after handle-reply');
  actor.shutdown();
  assert.deepEqual(logs, []);

  // json
  actor = await fresh();
  actor.init([['role', 'json']]);
  logs.length = 0;
  assert.deepEqual(actor.handleMessage(new Message({ sender: 'ns/client/3', bytes: '{"a":[1,{"b":null}],"s":"é"}' })), {
    tag: 'full',
    val: {
      body: { tag: 'text', val: '{"got":{"a":[1,{"b":null}],"s":"é"},"from":"ns/client/3","n":1}' },
      contentType: 'application/json',
      status: 200,
      headers: [['x-actor', 'json']],
    },
  });
  assert.equal(errOf(() => actor.handleMessage(new Message({ bytes: Buffer.from([0xc3, 0x28]) }))), 'not-utf8');
  assert.match(errOf(() => actor.handleMessage(new Message({ bytes: '{nope' }))), /^bad json: ./);
  assert.equal(actor.handleMessage(new Message({ sender: 'host/go', bytes: '42' })).val.body.val, '{"got":42,"from":"host/go","n":4}');
  for (let i = 0; i < 1000; i++) actor.handleMessage(new Message({ bytes: `[${i}]` }));
  assert.equal(JSON.parse(actor.handleMessage(new Message({ bytes: '"x"' })).val.body.val).n, 1005);
  noHandles('after the json messages');
  assert.deepEqual(logs, []);

  // init
  actor = await fresh();
  assert.equal(errOf(() => actor.init([['role', 'nope']])), 'unknown role: nope');
  actor = await fresh();
  assert.equal(errOf(() => actor.init([])), 'unknown role: ');
  return `router: ${n} messages, no handle left after any; json, init: as documented`;
}
