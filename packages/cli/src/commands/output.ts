/** Where a command writes: process streams in `walrus`, buffers in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export const printJson = (o: Output, value: unknown): void => o.out(JSON.stringify(value, null, 2) + '\n');
