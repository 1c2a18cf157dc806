// Borealis web UI: plain DOM, no framework, no build step; ES modules loaded by the browser under
// the page's strict CSP (script-src 'self'). One module per concern:
//   api.js          the API client (token, calls, errors as data)
//   dom.js          building DOM nodes from values (never HTML), the live region
//   components.js   Markdown (safe subset), times, status badges, tables
//   poll.js         one screen at a time (its refresh loop, its live stream)
//   router.js       #/... addresses to screens
//   view-*.js       the screens (agents, deployments, one deployment, webhook run, history, token)
//   graph.js        the deployment graph (inline SVG); chart.js the analysis charts (SVG)
//   deployment-model.js  what the status JSON means for people (shared by graph and detail)
//   confirm-dialog.js    the confirmation that takes a reason
import { route } from './router.js';

route();
