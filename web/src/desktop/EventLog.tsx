import type { LogEntry } from './desk-model.js';

function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(undefined, { hour12: false });
}

/** The last CTI events, newest first: time, name and key attributes. */
export function EventLog({ entries }: { readonly entries: readonly LogEntry[] }) {
  return (
    <section class="panel log" aria-labelledby="log-title">
      <h2 id="log-title">Event log</h2>
      {entries.length === 0 ? (
        <p class="muted">No event yet.</p>
      ) : (
        <ol class="events" aria-labelledby="log-title">
          {entries.map((e) => (
            <li key={e.seq}>
              <time dateTime={e.time}>{clock(e.time)}</time> <strong>{e.name}</strong>{' '}
              <span class="muted">{e.details}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
