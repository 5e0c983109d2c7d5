// The issue list, written with defined queries (`useQuery(queries.issues(filter))`) and
// defined mutators (`zero.mutate(mutators.issue.edit(args))`). The rows and controls are
// the 0.24 page's.
import {useState} from 'react';
import {useQuery, useZero} from 'zync/react';
import type {Mutators} from '../shared-1x/mutators.ts';
import {mutators} from '../shared-1x/mutators.ts';
import type {IssueFilter} from '../shared-1x/queries.ts';
import {queries} from '../shared-1x/queries.ts';
import type {Schema} from '../shared-1x/schema.ts';
import type {User} from '../shared/schema.ts';
import type {MutatorResult, MutatorResultDetails} from 'zync';
import {IssueRow, NewIssue, useConnectionState} from '../src/issues-page.tsx';

export function IssuesPage(props: {user: User; onLogout: () => Promise<void>}) {
  const zero = useZero<Schema, Mutators>();
  const state = useConnectionState();
  const [filter, setFilter] = useState<IssueFilter>({open: null, ownerID: null, text: ''});
  const [rows, details] = useQuery(queries.issues(filter));
  const [people] = useQuery(queries.users());
  const [error, setError] = useState<string>();

  // Both promises resolve with the outcome; a refused write is already rolled back.
  const track = (what: string, r: MutatorResult) => {
    setError(undefined);
    const show = (res: MutatorResultDetails, how: string) => {
      if (res.type === 'error') setError(`${what} ${how}: ${res.error.message}`);
    };
    void r.client.then(res => show(res, 'failed'));
    void r.server.then(res => show(res, 'was refused'));
  };

  return (
    <main>
      <header>
        <h1>hello zync</h1>
        <span data-testid="whoami">
          {props.user.name} <small>({props.user.role})</small>
        </span>
        <span className={`badge ${state}`} data-testid="connection">
          {state}
        </span>
        <span className="badge">api: 1.x</span>
        <button onClick={() => void props.onLogout()}>Log out</button>
      </header>

      {error && (
        <div className="error" role="alert" data-testid="error">
          {error}
        </div>
      )}

      <div className="panel">
        <NewIssue
          onCreate={title =>
            track(
              'Creating the issue',
              zero.mutate(
                mutators.issue.create({id: crypto.randomUUID(), title, created: Date.now()}),
              ),
            )
          }
        />
        <div className="filters">
          <select
            aria-label="status"
            value={filter.open === null ? 'all' : filter.open ? 'open' : 'closed'}
            onChange={e =>
              setFilter({
                ...filter,
                open: e.target.value === 'all' ? null : e.target.value === 'open',
              })
            }
          >
            <option value="all">All</option>
            <option value="open">Open</option>
            <option value="closed">Closed</option>
          </select>
          <select
            aria-label="owner"
            value={filter.ownerID ?? ''}
            onChange={e => setFilter({...filter, ownerID: e.target.value || null})}
          >
            <option value="">Anyone</option>
            {people.map(p => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          <input
            aria-label="search"
            placeholder="Search titles"
            value={filter.text}
            onChange={e => setFilter({...filter, text: e.target.value})}
          />
          <small>
            {rows.length} issue{rows.length === 1 ? '' : 's'}
            {details.type === 'complete' ? '' : ' (syncing…)'}
          </small>
        </div>
        <div data-testid="issues">
          {rows.map(issue => (
            <IssueRow
              key={issue.id}
              issue={issue}
              ownerName={issue.owner?.name ?? issue.ownerID}
              onEdit={change =>
                track('Editing', zero.mutate(mutators.issue.edit({id: issue.id, ...change})))
              }
              onDelete={() => track('Deleting', zero.mutate(mutators.issue.remove({id: issue.id})))}
            />
          ))}
        </div>
      </div>

      {props.user.role === 'admin' && <AuditLog />}
    </main>
  );
}

/** Only rendered for admins; the API server only resolves its query for admins. */
function AuditLog() {
  const [entries, details] = useQuery(queries.auditLog());
  return (
    <div className="panel" data-testid="admin-view">
      <h2>Audit log (admins only)</h2>
      {details.type === 'error' && <div className="error">The audit log is not available.</div>}
      {entries.map(e => (
        <div className="row" key={e.id}>
          <small>{new Date(e.at).toLocaleString()}</small>
          <span className="owner">{e.actorID}</span>
          <span>{e.action}</span>
          <span className="title">{e.title}</span>
        </div>
      ))}
    </div>
  );
}
