import type {PushResponseBody} from '@zync/protocol';

/** The outcome of one mutation, as the pushResponse frame carries it. */
export type MutationOutcome = PushResponseBody['mutations'][number];
