#!/usr/bin/env node
// Thin launcher: the program lives in dist/ (built by `pnpm install` / `pnpm build`).
import '../dist/main.js';
