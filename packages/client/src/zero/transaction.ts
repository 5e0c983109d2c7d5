// The transaction type app mutators are written against; it lives in @zync/zql so that
// defined mutators (and the server) share it.
export type {SchemaMutators, TableMutators, Transaction} from '@zync/zql';
