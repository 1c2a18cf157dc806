import { DiagnosticCatalogue, type DiagnosticCode } from './codes.js';

export interface Diagnostic {
  severity: 'error' | 'warning';
  code: DiagnosticCode;
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the document, e.g. `targets.dev.constraints.beforeDeployment[0]`; `` for the file. */
  path: string;
  hint?: string;
}

export interface Position {
  line: number;
  column: number;
}

/**
 * Collects diagnostics; the severity always comes from the catalogue, one report per code, place
 * and path (two required keys missing from one mapping are two reports at the same place).
 */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private readonly places = new Set<string>();
  private errors = 0;

  add(code: DiagnosticCode, at: Position, path: string, message: string, hint?: string): void {
    const key = `${code}@${at.line}:${at.column}@${path}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.places.add(`${code}@${at.line}:${at.column}`);
    const d: Diagnostic = {
      severity: DiagnosticCatalogue[code].severity,
      code,
      message,
      line: at.line,
      column: at.column,
      path,
    };
    if (hint !== undefined) d.hint = hint;
    if (d.severity === 'error') this.errors++;
    this.items.push(d);
  }

  /** Whether `code` was already reported at this place (for any path). */
  hasAt(code: DiagnosticCode, at: Position): boolean {
    return this.places.has(`${code}@${at.line}:${at.column}`);
  }

  errorCount(): number {
    return this.errors;
  }

  hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  sorted(): Diagnostic[] {
    return [...this.items].sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

/** Compiler-style text: `file:line:col: error CODE: message` and an indented hint. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], fileName = 'deploy.yml'): string {
  return diagnostics
    .map((d) => {
      const head = `${fileName}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`;
      return d.hint ? `${head}\n  hint: ${d.hint}` : head;
    })
    .join('\n');
}
