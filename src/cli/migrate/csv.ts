/**
 * The migration CSV (issue 19, docs/migration.md): a header line `agent_id,home_number,mode`,
 * then one agent a line. Fields may be double-quoted (`"+1 555 123 1111"`); blank lines and
 * lines starting with `#` are skipped. Every bad line is reported with its line number.
 */

/** How an agent works from home (docs/migration.md "Modes"). */
export const MIGRATION_MODES = ['extension', 'nailed-up', 'agent-phone'] as const;

/** One of {@link MIGRATION_MODES}. */
export type MigrationMode = (typeof MIGRATION_MODES)[number];

/** One good CSV row; `line` is 1-based in the file. */
export interface CsvRow {
  line: number;
  agentId: string;
  /** The number as written in the file (normalised later by the plan). */
  homeNumber: string;
  mode: MigrationMode;
}

/** A problem with its 1-based line number. */
export interface CsvProblem {
  line: number;
  message: string;
}

const HEADER = ['agent_id', 'home_number', 'mode'];

/** Splits one CSV line into fields (RFC 4180 quoting: `""` inside quotes is one quote); null if a quote is unclosed. */
export function splitCsvLine(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (i < line.length && line[i] !== ',') field += line[i++];
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    out.push(field.trim());
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/** Parses the whole file: good rows and every problem (header, field count, empty fields, unknown mode). */
export function parseMigrationCsv(text: string): { rows: CsvRow[]; problems: CsvProblem[] } {
  const rows: CsvRow[] = [];
  const problems: CsvProblem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let headerSeen = false;
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const fields = splitCsvLine(raw);
    if (!headerSeen) {
      headerSeen = true;
      if (!fields || fields.map((f) => f.toLowerCase()).join(',') !== HEADER.join(',')) {
        problems.push({ line, message: `the first line must be the header ${HEADER.join(',')}` });
      }
      return;
    }
    if (!fields) {
      problems.push({ line, message: 'unclosed double quote' });
      return;
    }
    if (fields.length !== 3) {
      problems.push({ line, message: `expected 3 fields (agent_id,home_number,mode), found ${fields.length}` });
      return;
    }
    const [agentId, homeNumber, mode] = fields as [string, string, string];
    const bad: string[] = [];
    if (agentId === '') bad.push('agent_id is empty');
    if (homeNumber === '') bad.push('home_number is empty');
    if (!(MIGRATION_MODES as readonly string[]).includes(mode))
      bad.push(`mode "${mode}" is not one of ${MIGRATION_MODES.join(', ')}`);
    if (bad.length) {
      problems.push({ line, message: bad.join('; ') });
      return;
    }
    rows.push({ line, agentId, homeNumber, mode: mode as MigrationMode });
  });
  if (!headerSeen) problems.push({ line: 1, message: `the file is empty: it needs the header ${HEADER.join(',')}` });
  return { rows, problems };
}
