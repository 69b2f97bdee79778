/** Prints JSON for scripts (--json) or text for people; both on stdout, errors on stderr. */
export function emit(json: boolean, data: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}
