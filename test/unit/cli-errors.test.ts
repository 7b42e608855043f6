/**
 * The CLI's one mapping from errors to messages and exit codes (clients/errors.ts): the server's
 * cause under the SDK's summary line, for the errors the Temporal client throws.
 */
import { Metadata, status, type ServiceError as GrpcServiceError } from '@grpc/grpc-js';
import { ServiceError, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { errorMessage, ExitCode, exitCodeFor, temporalCliError, type CliError } from '../../clients/errors';

/** A gRPC status error as @grpc/grpc-js makes it: "<code> <NAME>: <details>". */
function grpcError(code: status, details: string): GrpcServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

describe('errorMessage', () => {
  it("puts the server's status under the SDK's summary line", () => {
    const err = new ServiceError('Failed to create schedule', {
      cause: grpcError(
        status.INVALID_ARGUMENT,
        'Namespace default has no mapping defined for search attribute Sv0Connector',
      ),
    });
    expect(errorMessage(err)).toBe(
      'Failed to create schedule: INVALID_ARGUMENT: Namespace default has no mapping defined for search attribute Sv0Connector',
    );
  });

  it("follows a workflow failure down to the activity's own error, once each", () => {
    const why = ApplicationFailure.nonRetryable('stack sv0-demo-x: ROLLBACK_COMPLETE', 'DeployFailed');
    const activity = new ActivityFailure(
      'Activity task failed',
      'deploy',
      'deploy',
      RetryState.NON_RETRYABLE_FAILURE,
      'w',
      why,
    );
    const failed = new WorkflowFailedError(
      'Workflow execution failed',
      activity,
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(errorMessage(failed)).toBe(
      'Workflow execution failed: Activity task failed: stack sv0-demo-x: ROLLBACK_COMPLETE',
    );
    expect((temporalCliError(failed) as CliError).message).toBe(
      'Activity task failed: stack sv0-demo-x: ROLLBACK_COMPLETE',
    );
  });

  it('leaves out a cause the message already holds', () => {
    const inner = new Error('connect ECONNREFUSED 127.0.0.1:7233');
    expect(errorMessage(new Error('connect ECONNREFUSED 127.0.0.1:7233', { cause: inner }))).toBe(
      'connect ECONNREFUSED 127.0.0.1:7233',
    );
  });
});

describe('exitCodeFor', () => {
  it('is 3 when the server is unavailable, also when only the cause says so', () => {
    const err = new ServiceError('Failed to start Workflow', {
      cause: grpcError(status.UNAVAILABLE, 'No connection established'),
    });
    expect(exitCodeFor(err)).toBe(ExitCode.Unreachable);
  });

  it('is 1 when the server refuses the request', () => {
    const err = new ServiceError('Failed to signalWithStart Workflow', {
      cause: grpcError(
        status.INVALID_ARGUMENT,
        'Namespace x has no mapping defined for search attribute Sv0Budget',
      ),
    });
    expect(exitCodeFor(err)).toBe(ExitCode.Failed);
  });
});
