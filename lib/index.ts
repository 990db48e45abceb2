/**
 * pjrt-bert: fine-tune BERT from TypeScript on TPUs, GPUs and CPUs through the PJRT C API.
 * This is the package's public entry point.
 */
export * from './runtime/index.js';
