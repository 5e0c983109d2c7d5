// zync/server/adapters/pg: the node-postgres (`pg`) adapter for the API server helpers.
export {NodePgConnection, NodePgTransactionInternal, zeroNodePg} from '@zync/server';
export type {NodePgTransaction, ZQLDatabase} from '@zync/server';
