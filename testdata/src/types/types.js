// types.wasm: a component built by componentize-js (StarlingMonkey) from
// this file and types.wit (world types-guest). It is our "real third-party
// toolchain" fixture: every WIT value type crosses the boundary in both
// directions.
//
// The echo functions return their argument unchanged, whatever JS value
// componentize-js made of it. A function returning result<T, E> returns the
// ok value or throws an object whose `payload` is the err value; an imported
// function returning a result behaves the same way, so relay functions just
// return (or let propagate) what the import produced.
//
// componentize-js 0.23.0 mis-lowers u32 >= 2^31 and negative s64 values that
// leave JS as flat core values; tools/build.mjs patches the generated glue
// (see the comment there). An s64 argument reaches JS as the unsigned
// BigInt of the same 64 bits, which the pass-through functions here do not
// mind.
import {
  echoBool, echoS8, echoU8, echoS16, echoU16, echoS32, echoU32, echoS64, echoU64,
  echoF32, echoF64, echoChar, echoString, echoListU8, echoListString, echoListPoint,
  echoPoint, echoPerson, echoTuple, echoShape, echoColor, echoOption,
  echoNestedOption, echoResult, echoResultUnit, echoPerms,
} from 'airssys:test/host-echo@0.1.0';

const identity = (v) => v;

// Turns a result parameter into the return-or-throw convention.
function unwrapResult(v) {
  if (v.tag === 'ok') return v.val;
  throw { payload: v.val };
}

export const echo = {
  echoBool: identity,
  echoS8: identity,
  echoU8: identity,
  echoS16: identity,
  echoU16: identity,
  echoS32: identity,
  echoU32: identity,
  echoS64: identity,
  echoU64: identity,
  echoF32: identity,
  echoF64: identity,
  echoChar: identity,
  echoString: identity,
  echoListU8: identity,
  echoListString: identity,
  echoListPoint: identity,
  echoPoint: identity,
  echoPerson: identity,
  echoTuple: identity,
  echoShape: identity,
  echoColor: identity,
  echoOption: identity,
  echoNestedOption: identity,
  echoResult: unwrapResult,
  echoResultUnit: unwrapResult,
  echoPerms: identity,

  // multi(a, b, c, d) = (a + b + c as f64, d + "!")
  multi(a, b, c, d) {
    return [a + b + c, d + '!'];
  },
};

// Each relay function hands its argument to the host and returns (or, for
// an err result, rethrows) whatever the host gave back.
export const relay = {
  relayBool: (v) => echoBool(v),
  relayS8: (v) => echoS8(v),
  relayU8: (v) => echoU8(v),
  relayS16: (v) => echoS16(v),
  relayU16: (v) => echoU16(v),
  relayS32: (v) => echoS32(v),
  relayU32: (v) => echoU32(v),
  relayS64: (v) => echoS64(v),
  relayU64: (v) => echoU64(v),
  relayF32: (v) => echoF32(v),
  relayF64: (v) => echoF64(v),
  relayChar: (v) => echoChar(v),
  relayString: (v) => echoString(v),
  relayListU8: (v) => echoListU8(v),
  relayListString: (v) => echoListString(v),
  relayListPoint: (v) => echoListPoint(v),
  relayPoint: (v) => echoPoint(v),
  relayPerson: (v) => echoPerson(v),
  relayTuple: (v) => echoTuple(v),
  relayShape: (v) => echoShape(v),
  relayColor: (v) => echoColor(v),
  relayOption: (v) => echoOption(v),
  relayNestedOption: (v) => echoNestedOption(v),
  relayResult: (v) => echoResult(v),
  relayResultUnit: (v) => echoResultUnit(v),
  relayPerms: (v) => echoPerms(v),
};

class Counter {
  #value;

  constructor(start) {
    this.#value = start >>> 0;
  }

  get() {
    return this.#value;
  }

  inc() {
    this.#value = (this.#value + 1) >>> 0;
  }
}

export const counters = {
  Counter,
  makeCounter(start) {
    return new Counter(start);
  },
  counterValue(c) {
    return c.get();
  },
};
