/**
 * The "DNs" table: search (number or type), paging, and a row opens the {@link DnEditor}
 * (click, Enter or Space). The page is read again when the configuration version moves.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AdminApi } from '../shared/api-client';
import { DnEditor, type DnRead } from './dn-editor';

const PAGE = 25;

/** Props of {@link DnsPanel}. */
export interface DnsPanelProps {
  api: AdminApi;
  /** The configuration version (live): a new one re-reads the page. */
  version: number;
}

/** DNs with search, paging and the option editor. */
export function DnsPanel({ api, version }: DnsPanelProps) {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ items: DnRead[]; total: number }>();
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<string>();

  // Search as one types, once typing pauses (a timer per keystroke, no periodic reads).
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(q.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [q]);

  useEffect(() => {
    let stale = false;
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (query) params.set('q', query);
    api.get<{ items: DnRead[]; total: number }>(`api/dns?${params}`).then(
      (p) => {
        if (stale) return;
        setPage(p);
        setError(undefined);
      },
      (e: Error) => !stale && setError(`Could not read the DNs: ${e.message}`),
    );
    return () => {
      stale = true;
    };
  }, [api, query, offset, version]);

  const activate = (e: KeyboardEvent, number: string): void => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      setOpen(number);
    }
  };
  const total = page?.total ?? 0;

  return (
    <div class="dns">
      <section class="panel" aria-labelledby="dns-title">
        <h2 id="dns-title">DNs</h2>
        <form class="search" role="search" onSubmit={(e) => (e.preventDefault(), setQuery(q.trim()), setOffset(0))}>
          <label for="dn-search">Search DNs</label>
          <input
            id="dn-search"
            type="search"
            placeholder="number or type"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
        </form>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <table aria-label="DNs" class="clickable">
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col">Type</th>
              <th scope="col">Options</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.length === 0 && (
              <tr>
                <td colSpan={3} class="empty">
                  {query ? `No DN matches "${query}".` : 'No DN configured.'}
                </td>
              </tr>
            )}
            {page?.items.map((d) => (
              <tr
                key={d.number}
                tabIndex={0}
                class={open === d.number ? 'selected' : undefined}
                onClick={() => setOpen(d.number)}
                onKeyDown={(e) => activate(e, d.number)}
              >
                <th scope="row">{d.number}</th>
                <td>{d.type}</td>
                <td class="wrap">
                  {Object.entries(d.options)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <nav class="pager" aria-label="DN pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <span>{total === 0 ? 'none' : `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}`}</span>
          <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </nav>
      </section>
      {open && <DnEditor key={open} api={api} number={open} version={version} onClose={() => setOpen(undefined)} />}
    </div>
  );
}
