import type {AST, PokeBody} from '@zync/protocol';

/** A poke reduced to what tests compare: put ids, deleted ids, gotQueries ops. */
export type PokeSummary = {
  clear: boolean;
  puts: string[];
  dels: string[];
  got: string[];
};

export function summarize(poke: PokeBody): PokeSummary {
  const puts: string[] = [];
  const dels: string[] = [];
  let clear = false;
  for (const r of poke.rows) {
    if (r.op === 'clear') clear = true;
    else if (r.op === 'put') puts.push(`${r.table}:${JSON.stringify(r.value['id'])}`);
    else if (r.op === 'puts') {
      const at = r.columns.indexOf('id');
      for (const values of r.values) puts.push(`${r.table}:${JSON.stringify(values[at])}`);
    } else dels.push(`${r.table}:${JSON.stringify(r.id['id'])}`);
  }
  const got = poke.gotQueries.map(g => (g.op === 'clear' ? 'clear' : `${g.op}:${g.hash}`));
  return {clear, puts: puts.sort(), dels: dels.sort(), got: got.sort()};
}

export const openTop2: AST = {
  kind: 'query',
  table: 'issue',
  where: {
    kind: 'simple',
    op: '=',
    left: {kind: 'column', name: 'status'},
    right: {kind: 'literal', value: 'open'},
  },
  orderBy: [['priority', 'desc']],
  limit: 2,
};

export const highPriority: AST = {
  kind: 'query',
  table: 'issue',
  where: {
    kind: 'simple',
    op: '>',
    left: {kind: 'column', name: 'priority'},
    right: {kind: 'literal', value: 5},
  },
};

export function issues() {
  return [
    {id: 1, status: 'open', priority: 1},
    {id: 2, status: 'open', priority: 5},
    {id: 3, status: 'closed', priority: 9},
    {id: 4, status: 'open', priority: 7},
    {id: 5, status: 'closed', priority: 2},
  ];
}
