/**
 * The webhook template language: Handlebars, sandboxed (no helpers, no prototype access, an
 * allow-list of constructs), strict about missing variables, each value encoded for where it
 * lands. Inspection (`inspectTemplate`, the variable lists, `bodyIsJson`) and the core renderer
 * (`renderResolved`, `renderUri`'s URL rules) live here so that the deploy-file validator judges
 * templates exactly as the control plane renders them; failures are `TemplateError`s.
 */
export { bodyIsJson, findContentType, type HeaderLike } from './content-type.js';
export { mergeContext, type TemplateContext } from './context.js';
export { type Encoding, encodeJsonStringContent, encodeUriValue, encodeValue } from './encoders.js';
export {
  checkLeadingValue,
  isPreviewVariable,
  leadingVariable,
  parseHttpUrl,
  placeholderVariables,
  previewService,
  type Resolved,
  renderResolved,
  renderUri,
  type TemplateVariables,
} from './render-core.js';
export { isTemplateError, TemplateError, type TemplateErrorCode } from './template-error.js';
export {
  ANALYSIS_VARIABLES,
  type AnalysisVariable,
  ARMORY_VARIABLES,
  type ArmoryVariable,
  inspectTemplate,
  listTemplateVariables,
  QUERY_ARMORY_VARIABLES,
  TEMPLATE_ROOTS,
  type TemplateInspection,
  type TemplateProblem,
  type TemplateRoot,
  type TemplateVariable,
} from './variables.js';
