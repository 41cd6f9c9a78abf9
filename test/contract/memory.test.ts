import { describe, it } from 'vitest';
import { storeContract } from '../../src/testing/store-contract.js';
import { memoryStore } from '../../src/stores/memory.js';

storeContract('memory', { describe, it }, { makeStore: () => memoryStore() });
