import { isTemplateError } from '@borealis/deploy-spec';
import { BorealisError } from '../errors.js';

/**
 * Wraps a template function of `@borealis/deploy-spec` so that its `TemplateError`s are thrown as
 * `BorealisError`s with the same code, message and details (what API answers and run records carry).
 */
export function asBorealisError<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (err) {
      if (!isTemplateError(err)) throw err;
      throw new BorealisError(err.code, err.message, { ...(err.details ? { details: err.details } : {}) });
    }
  };
}
