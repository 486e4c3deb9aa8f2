/**
 * The editor of one DN's options: add, change and remove keys, saved as ONE change-set
 * (`POST /api/config/change-sets`, op `patch`, `ifVersion` = the version it was read at); the
 * server's 422 problems are shown next to their option, a 409 (changed meanwhile) is explained.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type AdminApi } from '../shared/api-client';
import type { DnConfig } from '../../../src/config/config-model';

/** A DN as the admin API answers it. */
export type DnRead = DnConfig & { hasPassword?: boolean };

interface Row {
  key: string;
  value: string;
  /** The stored value; undefined for an option added here. */
  original?: string;
  removed: boolean;
}

/** Props of {@link DnEditor}. */
export interface DnEditorProps {
  api: AdminApi;
  number: string;
  /** The configuration version now (from the live stream). */
  version: number;
  onClose: () => void;
}

type Outcome =
  | { kind: 'saved'; version: number }
  | { kind: 'conflict'; current?: number; base: number }
  | { kind: 'error'; messages: string[] };

/** The option a server problem is about (`option oos-check: "x" is not …`), if any of `keys`. */
function optionOf(message: string, keys: string[]): string | undefined {
  const m = /option ([^\s:]+)/.exec(message);
  return m && keys.includes(m[1]) ? m[1] : undefined;
}

/** Edits the options of DN `number`. */
export function DnEditor({ api, number, version, onClose }: DnEditorProps) {
  const [dn, setDn] = useState<DnRead>();
  const [base, setBase] = useState(version);
  const [rows, setRows] = useState<Row[]>([]);
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<Outcome>();
  const [busy, setBusy] = useState(false);

  /** Reads the DN; `at` is the configuration version the read stands for. */
  const load = async (at: number = version): Promise<void> => {
    setFieldErrors({});
    try {
      const d = await api.get<DnRead>(`api/dns/${encodeURIComponent(number)}`);
      setBase(at);
      setDn(d);
      setRows(Object.entries(d.options).map(([key, value]) => ({ key, value, original: value, removed: false })));
    } catch (e) {
      setOutcome({ kind: 'error', messages: [`Could not read DN ${number}: ${(e as Error).message}`] });
    }
  };
  useEffect(() => {
    setOutcome(undefined);
    void load();
    // Reload only when another DN is opened: a version change must not throw away edits.
  }, [number]);

  // A newer configuration while nothing is edited here: show it (edits in progress are kept,
  // and saving them is checked against the version they were read at).
  const edited = rows.some((r) => r.removed || r.value !== r.original);
  useEffect(() => {
    if (dn && !edited && !busy && version > base) void load(version);
  }, [version]);

  const update = (key: string, change: Partial<Row>): void =>
    setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...change } : r)));

  const addOption = (e: Event): void => {
    e.preventDefault();
    const key = newKey.trim();
    if (!key) return;
    const existing = rows.find((r) => r.key === key);
    if (existing) update(key, { value: newValue, removed: false });
    else setRows((rs) => [...rs, { key, value: newValue, removed: false }]);
    setNewKey('');
    setNewValue('');
  };

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    const options: Record<string, string | null> = {};
    for (const r of rows) {
      if (r.removed) {
        if (r.original !== undefined) options[r.key] = null;
      } else if (r.value !== r.original) options[r.key] = r.value;
    }
    if (Object.keys(options).length === 0) {
      setOutcome({ kind: 'error', messages: ['Nothing to save: no option was changed.'] });
      return;
    }
    setBusy(true);
    setFieldErrors({});
    setOutcome(undefined);
    try {
      const r = await api.post<{ version: number }>('api/config/change-sets', {
        ifVersion: base,
        changes: [{ op: 'patch', kind: 'dn', key: number, value: { options } }],
      });
      await load(r.version);
      setOutcome({ kind: 'saved', version: r.version });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setOutcome({ kind: 'conflict', current: (err.body as { version?: number }).version, base });
      } else if (err instanceof ApiError && err.status === 422) {
        const keys = rows.map((x) => x.key);
        const per: Record<string, string> = {};
        const general: string[] = [];
        for (const p of err.problems) {
          const k = optionOf(p.message, keys);
          if (k) per[k] = per[k] ? `${per[k]}; ${p.message}` : p.message;
          else general.push(p.message);
        }
        setFieldErrors(per);
        setOutcome({ kind: 'error', messages: ['The server refused the change; nothing was saved.', ...general] });
      } else setOutcome({ kind: 'error', messages: [(err as Error).message] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel editor" aria-labelledby="dn-editor-title">
      <h2 id="dn-editor-title">DN {number}</h2>
      {dn && (
        <p class="muted">
          Type {dn.type}
          {dn.hasPassword ? ', has a digest password (not shown)' : ''}. Read at configuration version {base}.
        </p>
      )}
      <form onSubmit={(e) => void save(e)}>
        <table aria-label={`Options of DN ${number}`}>
          <thead>
            <tr>
              <th scope="col">Option</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span class="visually-hidden">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} class={r.removed ? 'removed' : r.value !== r.original ? 'changed' : ''}>
                <th scope="row">
                  <label for={`opt-${r.key}`}>{r.key}</label>
                </th>
                <td>
                  <input
                    id={`opt-${r.key}`}
                    value={r.value}
                    disabled={r.removed}
                    onInput={(e) => update(r.key, { value: e.currentTarget.value })}
                    aria-invalid={fieldErrors[r.key] ? 'true' : undefined}
                    aria-describedby={fieldErrors[r.key] ? `err-${r.key}` : undefined}
                  />
                  {fieldErrors[r.key] && (
                    <div id={`err-${r.key}`} class="error">
                      {fieldErrors[r.key]}
                    </div>
                  )}
                </td>
                <td>
                  <button type="button" onClick={() => update(r.key, { removed: !r.removed })}>
                    {r.removed ? `Keep ${r.key}` : `Remove ${r.key}`}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
          <button type="button" onClick={onClose}>
            Close editor
          </button>
        </div>
      </form>
      <form class="add-option" onSubmit={addOption} aria-label="Add an option">
        <label for="new-option-name">New option name</label>
        <input id="new-option-name" value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} />
        <label for="new-option-value">New option value</label>
        <input id="new-option-value" value={newValue} onInput={(e) => setNewValue(e.currentTarget.value)} />
        <button type="submit">Add option</button>
      </form>
      <div role="status">
        {outcome?.kind === 'saved' && <p class="ok">Saved as configuration version {outcome.version}.</p>}
      </div>
      {outcome?.kind === 'conflict' && (
        <div role="alert" class="error">
          <p>
            Not saved: the configuration changed meanwhile (it is at version {outcome.current ?? 'unknown'}, this editor
            read the DN at version {outcome.base}). Reload the DN to see its current options, then apply your change
            again.
          </p>
          <button type="button" onClick={() => void load(outcome.current).then(() => setOutcome(undefined))}>
            Reload DN
          </button>
        </div>
      )}
      {outcome?.kind === 'error' && (
        <div role="alert" class="error">
          {outcome.messages.map((m, i) => (
            <p key={i}>{m}</p>
          ))}
        </div>
      )}
    </section>
  );
}
