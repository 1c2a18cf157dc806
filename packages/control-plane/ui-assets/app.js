// Borealis web UI: plain DOM, no framework, no build step; ES modules loaded by the browser under
// the page's strict CSP (script-src 'self'). One module per concern:
//   api.js          the API client (token, calls, errors as data)
//   dom.js          building DOM nodes from values (never HTML), the live region
//   components.js   Markdown (safe subset), times, status badges, tables
//   poll.js         one refresh loop per screen
//   router.js       #/... addresses to screens
//   view-*.js       the screens
import { route } from './router.js';

route();
