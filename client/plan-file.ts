import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InputValidationError } from '../shared/contract/validation';

/** Reads a YAML or JSON file; a syntax error names the file and the line. */
export function readInputFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputValidationError(`file ${path}`, [{ path: '(file)', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InputValidationError(`file ${path}`, [{ path: '(syntax)', message: (error as Error).message.split('\n')[0] }]);
  }
}
