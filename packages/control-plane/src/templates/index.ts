/**
 * Webhook request templates: Handlebars, sandboxed (no helpers, no prototype access, an
 * allow-list of constructs), strict about missing variables, and encoding each value for where it
 * lands. The deploy-file validator uses `inspectTemplate` and `bodyIsJson` so that it judges
 * templates exactly as rendering will.
 */
export { bodyIsJson, findContentType, type HeaderLike } from './content-type.js';
export { mergeContext, type TemplateContext } from './context.js';
export { type Encoding, encodeJsonStringContent, encodeUriValue } from './encoders.js';
export { maskSecrets } from './mask-secrets.js';
export {
  checkLeadingValue,
  isPreviewVariable,
  leadingVariable,
  renderHeaderValue,
  renderJsonBody,
  renderLogUrl,
  renderTemplate,
  renderTextBody,
  renderUri,
  type TemplateVariables,
} from './render.js';
export {
  type RenderableWebhook,
  type RenderedRequest,
  renderWebhookRequest,
} from './render-webhook-request.js';
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
