/**
 * The engine's speed and memory targets, and how the figures of a run measure
 * up to them. Time ratios are judged at the median latency per op, which other
 * processes on a busy machine barely move; the same ratios on the mean time per
 * op (1 / ops/s), which also count the garbage collection an op causes but
 * swing with machine load, are given beside them.
 */

export const TARGETS = {
  /** memory validate time / floor time, at most */
  validateVsFloor: 1.5,
  /** express-session load time / memory validate time, at least */
  expressVsValidate: 3.5,
  /** SQLite validate median latency in µs, below */
  sqliteValidateP50Us: 20,
  /** memory store bytes per session / express-session MemoryStore's with the same data, at most (both with and without a client) */
  bytesVsExpressSession: 1,
};

/**
 * @param {Record<string, import('../lib/measure.js').CaseResult>} speed by case name
 * @param {Record<string, { bytesPerItem: number }>} memory by subject
 */
export function judge(speed, memory) {
  const validate = speed['memory validate'];
  const floor = speed['floor hmac check'];
  const express = speed['express-session load'];
  const ratios = {
    validateVsFloor: validate.p50Ns / floor.p50Ns,
    validateVsFloorByThroughput: validate.nsPerOp / floor.nsPerOp,
    expressVsValidate: express.p50Ns / validate.p50Ns,
    expressVsValidateByThroughput: express.nsPerOp / validate.nsPerOp,
    sqliteValidateP50Us: speed['sqlite validate'].p50Ns / 1000,
    bytesPerSession: memory.latchkey.bytesPerItem,
    bytesVsExpressSession: memory.latchkey.bytesPerItem / memory['express-session with client'].bytesPerItem,
    bytesVsExpressSessionNoClient: memory['latchkey no client'].bytesPerItem / memory['express-session'].bytesPerItem,
  };
  const met = {
    validateVsFloor: ratios.validateVsFloor <= TARGETS.validateVsFloor,
    expressVsValidate: ratios.expressVsValidate >= TARGETS.expressVsValidate,
    sqliteValidateP50Us: ratios.sqliteValidateP50Us < TARGETS.sqliteValidateP50Us,
    bytesVsExpressSession: ratios.bytesVsExpressSession <= TARGETS.bytesVsExpressSession,
    bytesVsExpressSessionNoClient: ratios.bytesVsExpressSessionNoClient <= TARGETS.bytesVsExpressSession,
  };
  return { ratios, met };
}
