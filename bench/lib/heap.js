/**
 * Memory cost of one item among many, for scripts started with
 * `node --expose-gc` (see runNodeJson in child.js). A small batch is built and
 * dropped first, so that compiled code and caches that every item shares are
 * not counted; then full collections run before and after building `count`
 * items, and the cost of one is (heapUsed delta + arrayBuffers delta) / count.
 */
import { memoryUsage } from 'node:process';
import { setImmediate } from 'node:timers/promises';

// What is being measured is held here, so that it cannot be collected before the second reading.
const alive = [];

/**
 * @param {number} count
 * @param {(count: number) => Promise<unknown>} build makes `count` items and resolves what holds them
 * @returns {Promise<{ count: number, heapUsed: number, arrayBuffers: number, bytesPerItem: number }>}
 */
export async function bytesPerItem(count, build) {
  if (typeof globalThis.gc !== 'function') throw new Error('measuring memory needs node --expose-gc');
  await build(Math.min(count, 1000));
  await settle();
  const before = memoryUsage();
  alive.push(await build(count));
  await settle();
  const after = memoryUsage();
  alive.pop();
  const heapUsed = after.heapUsed - before.heapUsed;
  const arrayBuffers = after.arrayBuffers - before.arrayBuffers;
  return { count, heapUsed, arrayBuffers, bytesPerItem: (heapUsed + arrayBuffers) / count };
}

/** Full collections until pending callbacks (which may hold garbage) have run. */
async function settle() {
  for (let k = 0; k < 3; k++) {
    globalThis.gc();
    await setImmediate();
  }
}
