/**
 * The failure converter every worker, workflow bundle and client uses when payload encryption is
 * on. With `encodeCommonAttributes`, a failure's message and stack trace move into an encoded
 * payload, so the payload codec encrypts them too; without it Temporal stores them as plain text.
 *
 * Loaded by path (`DataConverter.failureConverterPath`): the worker `require`s it in the main
 * thread and bundles it into the workflow sandbox. Plain CommonJS on purpose, because the SDK loads
 * it with Node's own `require` (no TypeScript loader under vitest or a compiled build), and
 * without Node built-ins, because it runs in the sandbox too.
 */
'use strict';
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
