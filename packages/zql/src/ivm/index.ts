export {Batcher} from './batcher.ts';
export {buildPipeline, buildRowSet, effectiveLimit, materialize} from './build-pipeline.ts';
export type {PipelineContext} from './build-pipeline.ts';
export {compileRowPredicate, evalSimple} from './condition.ts';
export {
  foldCodePoint,
  LIKE_ANY,
  LIKE_ONE,
  likeMatcher,
  likeMatches,
  parseLikePattern,
} from './like.ts';
export type {LikeMatcher} from './like.ts';
export {filteredChange, pushToConnections, splitKeyChanged} from './connection-change.ts';
export type {PushOverlay, PushTarget} from './connection-change.ts';
export type {RowPredicate} from './condition.ts';
export {compareStrings, compareValues, completeOrdering, makeComparator, typeRank} from './data.ts';
export type {Comparator, PrimaryKey, Row, Value} from './data.ts';
export {evaluate} from './evaluate.ts';
export type {ResultRow, Tables} from './evaluate.ts';
export {Filter} from './filter.ts';
export {Join} from './join.ts';
export type {JoinArgs} from './join.ts';
export {MemorySource} from './memory-source.ts';
export type {MemorySourceOptions} from './memory-source.ts';
export {EMPTY_REQUEST, matchesConstraint, NO_RELATIONSHIPS} from './operator.ts';
export type {
  AddChange,
  Change,
  ChildChange,
  EditChange,
  FetchRequest,
  Input,
  Node,
  Output,
  RelationshipSchema,
  RemoveChange,
  SourceSchema,
  Start,
} from './operator.ts';
export {RowSetOutput} from './row-set.ts';
export type {RowSetChange, RowSetListener, RowSetOptions} from './row-set.ts';
export {Metered, type RowMeter} from './metered.ts';
export {Skip} from './skip.ts';
export type {ConnectOptions, Source, SourceChange, SourceInput} from './source.ts';
export {
  constraintHasNull,
  NO_PUSH,
  reachesStart,
  SourceBase,
  SourceConnectionBase,
} from './source-base.ts';
export type {ConnectionOwner, ConnectionSpec} from './source-base.ts';
export {Take} from './take.ts';
export {ArrayView} from './view.ts';
export type {ViewData, ViewListener, ViewOptions, ViewRow} from './view.ts';
