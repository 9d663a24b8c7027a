import { describe, expect, it } from 'vitest';
import { formatKeyValues, formatTable } from './table.js';

describe('table - text tables', () => {
  it('table - plain: columns two spaces apart under a dashed rule, no trailing spaces', () => {
    expect(formatTable(['CLUSTER', 'SIZE', 'NOTES'], [['db1', '96 MB', ''], ['analytics', '1 GB', 'at ceiling']])).toBe(
      ['CLUSTER    SIZE   NOTES', '---------  -----  ----------', 'db1        96 MB', 'analytics  1 GB   at ceiling'].join('\n'),
    );
  });

  it('table - right-aligned columns for figures; a short row leaves its cells empty', () => {
    expect(formatTable(['stage', 'p50', 'p99'], [['decide', '1.25', '10.5'], ['apply']], { align: ['left', 'right', 'right'] })).toBe(
      ['stage    p50   p99', '------  ----  ----', 'decide  1.25  10.5', 'apply'].join('\n'),
    );
  });

  it('table - markdown', () => {
    expect(formatTable(['arm', 'forced'], [['adaptive', '3']], { style: 'markdown' })).toBe(
      ['| arm      | forced |', '| -------- | ------ |', '| adaptive | 3      |'].join('\n'),
    );
  });

  it('table - key and value pairs, optionally indented', () => {
    expect(formatKeyValues([['cluster', 'db1'], ['max_wal_size', '96 MB']])).toBe('cluster       db1\nmax_wal_size  96 MB');
    expect(formatKeyValues([['a', '1']], '  ')).toBe('  a  1');
    expect(formatKeyValues([])).toBe('');
  });
});
