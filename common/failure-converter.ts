/**
 * The failure converter of every Tenure client and worker, and of the workflow bundle: error
 * messages and stack traces go into the failure's `encodedAttributes` payload instead of plain
 * text fields, so the payload codec encrypts them like any other payload. Loaded by path
 * (`failureConverterPath`), because the workflow sandbox bundles it.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
