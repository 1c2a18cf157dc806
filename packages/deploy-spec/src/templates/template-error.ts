/**
 * How rendering a template fails: a stable `BRL_ERR_TEMPLATE_*` code, a message naming the
 * variable or construct, and details for API answers. The control plane's `templates/` door turns
 * it into a `BorealisError` with the same code, so callers there see no difference.
 */
export type TemplateErrorCode =
  | 'BRL_ERR_TEMPLATE_SYNTAX'
  | 'BRL_ERR_TEMPLATE_UNSUPPORTED'
  | 'BRL_ERR_TEMPLATE_MISSING_VAR'
  | 'BRL_ERR_TEMPLATE_INVALID_URI';

export class TemplateError extends Error {
  readonly code: TemplateErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: TemplateErrorCode, message: string, options: { details?: Record<string, unknown> } = {}) {
    super(message);
    this.name = 'TemplateError';
    this.code = code;
    this.details = options.details;
  }
}

export function isTemplateError(err: unknown): err is TemplateError {
  return err instanceof TemplateError;
}
