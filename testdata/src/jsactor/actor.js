// actor2_js.wasm: an actor for world airssys:actor/component@0.2.0
// (wit/airssys-actor-0.2.0/actor.wit), written in JavaScript and made into a
// component by componentize-js from bindings it generates from the WIT
// (tools/jsactor.mjs). The init config key "role" picks the behaviour:
//
//   role "router": handle-message forwards the message without reading its
//     payload: msg.payload() (a handle, no bytes copied) goes to the id in
//     the message's "x-route" header if it has one, else to config "next",
//     with the message's content type and headers. ok(none); a refused send
//     is err("<send-error>"), e.g. err("unknown-target"). Without "next" (and
//     no x-route) the target is "", which the host refuses.
//   role "json": parses the payload as JSON and replies
//     ok(some({ body: text(JSON.stringify({got, from, n})),
//               content-type "application/json", status 200,
//               headers [["x-actor", "json"]] }))
//     where got is the parsed value, from the sender's id and n the number
//     of messages this instance handled, this one included (failed ones
//     count too). A payload that is not UTF-8 -> err("not-utf8"); one that
//     is not JSON -> err("bad json: <SyntaxError message>").
//   any other role (or none) -> init returns err("unknown role: <role>").
// init logs "init" (debug, context: the component's own id); health is
// healthy; shutdown does nothing; handle-reply drops what it gets.
//
// Handles. The host caps the live handles of an instance, so every message
// is dropped explicitly before handle-message / handle-reply returns:
// componentize-js 0.23.0 frees a received resource only through a
// FinalizationRegistry (whenever the GC gets to it), and its glue for every
// method of message (a borrow of self) also unregisters the object from that
// registry, so a message whose method was called would never be dropped at
// all. The generated classes have a dispose method under
// Symbol.dispose || Symbol.for('dispose') (the engine has Symbol.dispose);
// calling it drops the handle now.
// A payload given to send is owned by the host from then on (send consumes
// it whatever the outcome) and must not be disposed; the glue leaves the
// old handle number on the JS object, so it is simply forgotten.
//
// Memory (measured under Node with jco, src/jsactor/check.mjs's host model):
// an instance starts with 145 pages (9 MiB) of linear memory and, under a
// steady load, the engine's garbage collector lets it grow to a plateau of
// about 67 MiB for calls that do nothing (health), 103 MiB for the json role
// and 129 MiB for the router (reached after about 130,000 messages). With
// its memory capped at 128 MiB the router failed at message 127,698 (one
// err("handle-message: out of memory"), then a trap), at 64 MiB near
// 28,000. It is the engine's collector, not a leak here (the plateaus hold
// for 300,000+ messages, and doing nothing already costs 67 MiB); no GC knob
// is reachable from JS or componentize-js. Give a JS actor that handles many
// messages a memory limit well above 128 MiB.
import { send, selfId } from 'airssys:actor/messaging@0.2.0';
import { log } from 'wasi:logging/logging@0.1.0-draft';

// The same expression the generated glue uses for its dispose methods.
const dispose = Symbol.dispose || Symbol.for('dispose');

let role = '';
let next = '';
let handled = 0;

// The err value of a failed import call (the glue throws a ComponentError
// whose payload is the err value), or undefined for any other exception.
function importError(e) {
  return e !== null && typeof e === 'object' && Object.prototype.hasOwnProperty.call(e, 'payload')
    ? e.payload
    : undefined;
}

function describe(e) {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// A JS exception that is not a refusal from the host: a bug here. Logged
// (error level, context: own id) and returned as err: an Error escaping an
// export would trap the instance, with nothing printed (no stdio).
function failure(where, e) {
  const text = `${where}: ${describe(e)}`;
  try {
    log('error', selfId(), text);
  } catch {
    // nothing more to do
  }
  return { tag: 'err', val: text };
}

function route(msg) {
  const target = msg.header('x-route') ?? next;
  const options = { contentType: msg.metadata().contentType, headers: msg.headers() };
  const payload = msg.payload();
  try {
    send(target, payload, options);
  } catch (e) {
    const reason = importError(e);
    if (reason !== undefined) return { tag: 'err', val: String(reason) };
    // Thrown by the glue before it reached the host: the payload is still ours.
    payload[dispose]();
    throw e;
  }
  return { tag: 'ok', val: undefined };
}

function answer(msg) {
  let text;
  try {
    text = msg.text();
  } catch (e) {
    const reason = importError(e);
    if (reason !== undefined) return { tag: 'err', val: String(reason) };
    throw e;
  }
  let got;
  try {
    got = JSON.parse(text);
  } catch (e) {
    return { tag: 'err', val: `bad json: ${e instanceof Error ? e.message : String(e)}` };
  }
  const body = JSON.stringify({ got, from: msg.sender(), n: handled });
  // full: a reply with its own content type, status and headers.
  return {
    tag: 'ok',
    val: {
      tag: 'full',
      val: {
        body: { tag: 'text', val: body },
        contentType: 'application/json',
        status: 200,
        headers: [['x-actor', 'json']],
      },
    },
  };
}

export const actor = {
  init(config) {
    try {
      const get = (key) => {
        const kv = config.find(([k]) => k === key);
        return kv === undefined ? undefined : kv[1];
      };
      role = get('role') ?? '';
      next = get('next') ?? '';
      handled = 0;
      log('debug', selfId(), 'init');
      if (role !== 'router' && role !== 'json') {
        return { tag: 'err', val: `unknown role: ${role}` };
      }
      return { tag: 'ok', val: undefined };
    } catch (e) {
      return failure('init', e);
    }
  },

  handleMessage(msg) {
    handled++;
    try {
      return role === 'router' ? route(msg) : answer(msg);
    } catch (e) {
      return failure('handle-message', e);
    } finally {
      msg[dispose]();
    }
  },

  handleReply(correlationId, reply) {
    if (reply.tag === 'ok') reply.val[dispose]();
  },

  health() {
    return 'healthy';
  },

  shutdown() {},
};
