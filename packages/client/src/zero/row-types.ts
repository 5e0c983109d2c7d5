// Row shapes of CRUD writes; they live in @zync/zql beside the transaction type.
export type {DeleteID, InsertValue, UpdateValue} from '@zync/zql';
