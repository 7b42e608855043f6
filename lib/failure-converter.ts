/**
 * The failure converter every worker, workflow bundle and client uses when payload encryption is
 * on. With `encodeCommonAttributes`, a failure's message and stack trace move into an encoded
 * payload, so the payload codec encrypts them too; without it Temporal stores them as plain text.
 *
 * Loaded by path (`DataConverter.failureConverterPath`, see {@link failureConverterPath} in
 * lib/runtime/codec.ts): the worker `require`s it in its main thread and bundles it into the workflow
 * sandbox, so it must stay free of Node built-ins.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
