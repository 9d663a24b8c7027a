// Text tables for people: the CLI's answers, `walrus simulate`, `walrus demo`
// and the benchmarks' figures all line their columns up here.

export interface TableOptions {
  /** Per column, default left; figures read best right-aligned. */
  align?: ReadonlyArray<'left' | 'right'>;
  /** plain: columns two spaces apart under a dashed rule; markdown: a Markdown table (for READMEs). */
  style?: 'plain' | 'markdown';
}

/** A table with its header; the lines joined by newlines, none at the end, no trailing spaces. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>, opts: TableOptions = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number): string => {
    const width = widths[i] ?? 0;
    return opts.align?.[i] === 'right' ? cell.padStart(width) : cell.padEnd(width);
  };
  const rule = widths.map((w) => '-'.repeat(w));
  if (opts.style === 'markdown') {
    const line = (cells: ReadonlyArray<string>): string => `| ${header.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
    return [line(header), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
  }
  const line = (cells: ReadonlyArray<string>): string =>
    header
      .map((_, i) => pad(cells[i] ?? '', i))
      .join('  ')
      .trimEnd();
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

/** Two columns, name and value, for one object; the lines joined by newlines, none at the end. */
export function formatKeyValues(pairs: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n');
}
