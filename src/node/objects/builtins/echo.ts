import { InvalidArgumentError } from '../../../core/errors.js';
import type { ObjectTypeDefinition } from '../objectType.js';

/** A stateless, non-persistent object: replies with its arguments. For routing and latency tests. */
export const echoType: ObjectTypeDefinition<null> = {
  persistence: { kind: 'transient' },
  initialState: () => null,
  parseState(value) {
    if (value !== null) throw new InvalidArgumentError('Echo has no state: its state must be null');
    return null;
  },
  methods: {
    echo: async (_state, args) => ({ result: args }),
  },
};
