/**
 * Webhook request rendering: bodies, header values, the URL and the URL as it may be logged, each
 * value encoded for where it lands. The template language (Handlebars, sandboxed: no helpers, no
 * prototype access, an allow-list of constructs, strict about missing variables) and its
 * inspection live in `@borealis/deploy-spec`, so the deploy-file validator judges templates
 * exactly as rendering will; they are re-exported here, and rendering errors are `BorealisError`s.
 */
export {
  ANALYSIS_VARIABLES,
  type AnalysisVariable,
  ARMORY_VARIABLES,
  type ArmoryVariable,
  bodyIsJson,
  type Encoding,
  encodeJsonStringContent,
  encodeUriValue,
  findContentType,
  type HeaderLike,
  inspectTemplate,
  isPreviewVariable,
  leadingVariable,
  listTemplateVariables,
  mergeContext,
  QUERY_ARMORY_VARIABLES,
  TEMPLATE_ROOTS,
  type TemplateContext,
  type TemplateInspection,
  type TemplateProblem,
  type TemplateRoot,
  type TemplateVariable,
  type TemplateVariables,
} from '@borealis/deploy-spec';
export { maskSecrets } from './mask-secrets.js';
export {
  checkLeadingValue,
  renderHeaderValue,
  renderJsonBody,
  renderLogUrl,
  renderTemplate,
  renderTextBody,
  renderUri,
} from './render.js';
export {
  type RenderableWebhook,
  type RenderedRequest,
  renderWebhookRequest,
} from './render-webhook-request.js';
