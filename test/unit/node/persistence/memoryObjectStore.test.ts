import { MemoryObjectStore } from '../../../../src/node/persistence/memoryObjectStore.js';
import { describeObjectStoreContract } from './objectStoreContract.js';

describeObjectStoreContract('MemoryObjectStore', () => new MemoryObjectStore());
